package dist

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, spec, want, err string
	}{
		{name: "bare duration", spec: "100ms", want: "fixed:100ms"},
		{name: "fixed", spec: "fixed:2s", want: "fixed:2s"},
		{name: "uniform", spec: "uniform:min=10ms,max=50ms", want: "uniform:min=10ms,max=50ms"},
		{name: "exp", spec: "exp:mean=100ms", want: "exp:mean=100ms"},
		{name: "lognormal median", spec: "lognormal:median=80ms,sigma=0.5", want: "lognormal:median=80ms,sigma=0.5"},
		{name: "lognormal mean", spec: "lognormal:mean=100ms,sigma=0", want: "lognormal:median=100ms,sigma=0"},
		{name: "percentiles", spec: "percentiles:0=1ms,25=20ms,50=80ms,75=120ms,99=400ms,100=2s",
			want: "percentiles:0=1ms,25=20ms,50=80ms,75=120ms,99=400ms,100=2s"},
		{name: "bad exp mean", spec: "exp:mean=x", err: `dist "exp:mean=x": mean: want a duration like 100ms`},
		{name: "unknown kind", spec: "gamma:k=2", err: `unknown kind "gamma"`},
		{name: "unknown key", spec: "exp:avg=1s", err: `unknown parameter "avg"`},
		{name: "missing key", spec: "uniform:min=1s", err: "max: missing"},
		{name: "min over max", spec: "uniform:min=2s,max=1s", err: "want max ≥ min"},
		{name: "both median and mean", spec: "lognormal:median=1s,mean=1s,sigma=1", err: "exactly one of"},
		{name: "negative", spec: "-5ms", err: "want a duration"},
		{name: "percentiles not from 0", spec: "percentiles:50=1s,100=2s", err: "want percentiles from 0 to 100"},
		{name: "percentiles decreasing", spec: "percentiles:0=1s,50=500ms,100=2s", err: "non-decreasing"},
		{name: "percentile out of range", spec: "percentiles:0=1s,101=2s", err: "between 0 and 100"},
		{name: "duplicate key", spec: "exp:mean=1s,mean=2s", err: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) error = %v, want it to contain %q", tt.spec, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			if got := d.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			again, err := Parse(d.String())
			if err != nil || again.String() != d.String() {
				t.Fatalf("round trip of %q: %v, %v", d.String(), again, err)
			}
		})
	}
}

func TestMoments(t *testing.T) {
	const n = 200_000
	tests := []struct {
		name      string
		spec      string
		mean      time.Duration
		quantiles map[float64]time.Duration
		tol       float64 // relative
	}{
		{name: "fixed", spec: "fixed:100ms", mean: 100 * time.Millisecond,
			quantiles: map[float64]time.Duration{0.5: 100 * time.Millisecond}, tol: 0},
		{name: "uniform", spec: "uniform:min=10ms,max=50ms", mean: 30 * time.Millisecond,
			quantiles: map[float64]time.Duration{0.25: 20 * time.Millisecond, 0.5: 30 * time.Millisecond}, tol: 0.01},
		{name: "exp", spec: "exp:mean=100ms", mean: 100 * time.Millisecond,
			quantiles: map[float64]time.Duration{0.5: time.Duration(69314718)}, tol: 0.02},
		{name: "lognormal", spec: "lognormal:median=80ms,sigma=0.5", mean: time.Duration(80e6 * math.Exp(0.125)),
			quantiles: map[float64]time.Duration{0.5: 80 * time.Millisecond}, tol: 0.02},
		{name: "lognormal by mean", spec: "lognormal:mean=100ms,sigma=1", mean: 100 * time.Millisecond,
			quantiles: map[float64]time.Duration{0.5: time.Duration(100e6 * math.Exp(-0.5))}, tol: 0.03},
		{name: "percentiles", spec: "percentiles:0=0s,50=100ms,100=300ms", mean: 125 * time.Millisecond,
			quantiles: map[float64]time.Duration{0.25: 50 * time.Millisecond, 0.5: 100 * time.Millisecond, 0.75: 200 * time.Millisecond}, tol: 0.02},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !near(d.Mean(), tt.mean, 1e-6) {
				t.Errorf("Mean() = %v, want %v", d.Mean(), tt.mean)
			}
			r := rand.New(rand.NewPCG(1, 2))
			xs := make([]time.Duration, n)
			var sum float64
			for i := range xs {
				xs[i] = d.Sample(r)
				sum += float64(xs[i])
			}
			if got := time.Duration(sum / n); !near(got, tt.mean, tt.tol) {
				t.Errorf("sample mean = %v, want %v ± %g", got, tt.mean, tt.tol)
			}
			slices.Sort(xs)
			for q, want := range tt.quantiles {
				if got := xs[int(q*n)]; !near(got, want, tt.tol) {
					t.Errorf("quantile %g = %v, want %v ± %g", q, got, want, tt.tol)
				}
			}
		})
	}
}

func near(got, want time.Duration, tol float64) bool {
	return math.Abs(float64(got-want)) <= tol*float64(want)+1
}

func TestSampleDoesNotAllocate(t *testing.T) {
	for _, spec := range []string{"1s", "uniform:min=1s,max=2s", "exp:mean=1s", "lognormal:median=1s,sigma=1", "percentiles:0=1ms,50=2ms,100=3ms"} {
		d, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		if a := testing.AllocsPerRun(1000, func() { d.Sample(r) }); a != 0 {
			t.Errorf("%s: %v allocations per Sample, want 0", spec, a)
		}
	}
}

func TestExtremes(t *testing.T) {
	tests := []struct {
		name string
		d    Dist
	}{
		{"lognormal beyond int64", LogNormal{Median: time.Hour, Sigma: 10}},
		{"exponential beyond int64", Exponential{M: math.MaxInt64 / 2}},
		{"widest uniform", Uniform{Min: 0, Max: math.MaxInt64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			for range 10000 {
				if v := tt.d.Sample(r); v < 0 {
					t.Fatalf("sample %v overflowed to negative", v)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"100ms", "fixed:1s", "uniform:min=1ms,max=2ms", "exp:mean=1s",
		"lognormal:median=80ms,sigma=0.5", "lognormal:mean=1s,sigma=2", "percentiles:0=1ms,50=2ms,100=3s", "exp:mean=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		d, err := Parse(spec)
		if err != nil {
			return
		}
		again, err := Parse(d.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", d.String(), spec, err)
		}
		if again.String() != d.String() {
			t.Fatalf("round trip %q -> %q", d.String(), again.String())
		}
		r := rand.New(rand.NewPCG(1, 1))
		for range 10 {
			if v := d.Sample(r); v < 0 {
				t.Fatalf("negative sample %v", v)
			}
		}
	})
}
