package traffic

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSparseShape(t *testing.T) {
	tr, err := SparseTrace(SparseOptions{Functions: 20000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var hourly, minutely, timers int
	var rates []float64
	var total float64
	durs := make([]float64, 0, 20000)
	for _, f := range tr.Functions() {
		if f.MeanRate <= 1.0/3600 {
			hourly++
		}
		if f.MeanRate <= 1.0/60 {
			minutely++
		}
		if f.Trigger == "timer" {
			timers++
		}
		rates = append(rates, f.MeanRate)
		total += f.MeanRate
		mean := f.Duration.Mean().Seconds()
		if offered := f.MeanRate * mean; offered > sparseMaxOffered*1.001 {
			t.Errorf("%s offers %.1f concurrent requests, over the cap %g", f.Name, offered, sparseMaxOffered)
		}
		// The offered-load cap cannot bind at once a minute or less
		// (16 concurrent / (1/60 s) = 960 s > the 600 s clip), so those
		// functions show the published duration distribution untouched.
		if f.MeanRate <= 1.0/60 {
			durs = append(durs, math.Log(mean))
		}
	}
	n := float64(len(rates))
	checks := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"share invoked at most hourly", float64(hourly) / n, 0.45, 0.02},
		{"share invoked at most once a minute", float64(minutely) / n, 0.81, 0.02},
		{"timer share", float64(timers) / n, 0.156, 0.02},
		{"Rate is the sum of function rates", tr.Rate(time.Hour), total, 1e-9 * total},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.4f, want %.4f ± %.4f", c.name, c.got, c.want, c.tol)
		}
	}
	// Mean of log average duration: −0.38, barely moved by the clipping
	// (beyond 2.7σ on either side).
	var s float64
	for _, d := range durs {
		s += d
	}
	if m := s / float64(len(durs)); math.Abs(m-sparseDurLogMean) > 0.1 {
		t.Errorf("mean log duration %.3f, want %.2f", m, sparseDurLogMean)
	}
}

// TestSparseBurstiness measures each function's inter-arrival CV from its
// arrivals: timers ≈ 0, Poisson ≈ 1, bursty ones well above 1.
func TestSparseBurstiness(t *testing.T) {
	tr, err := SparseTrace(SparseOptions{Functions: 600, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	fs := tr.Functions()
	last := make([]time.Duration, len(fs))
	n := make([]float64, len(fs))
	sum := make([]float64, len(fs))
	sq := make([]float64, len(fs))
	s := tr.Arrivals(9, time.Hour)
	prev := time.Duration(-1)
	for a, ok := s.Next(); ok; a, ok = s.Next() {
		if a.At < prev {
			t.Fatalf("arrival at %v after %v", a.At, prev)
		}
		prev = a.At
		if n[a.Function] > 0 || last[a.Function] > 0 {
			g := (a.At - last[a.Function]).Seconds()
			sum[a.Function] += g
			sq[a.Function] += g * g
		}
		n[a.Function]++
		last[a.Function] = a.At
	}
	var measured, over1 int
	for i := range fs {
		k := n[i] - 1
		if k < 200 {
			continue
		}
		mean := sum[i] / k
		cv := math.Sqrt(max(sq[i]/k-mean*mean, 0)) / mean
		measured++
		if cv > 1.2 {
			over1++
		}
		if fs[i].Trigger == "timer" && cv > 0.01 {
			t.Errorf("timer %s has CV %.2f, want 0", fs[i].Name, cv)
		}
		// The sample mean's relative error is about CV/√k.
		if got := 1 / mean; k >= 1000 && math.Abs(got-fs[i].MeanRate) > (0.02+5*cv/math.Sqrt(k))*fs[i].MeanRate {
			t.Errorf("%s: measured rate %.3g, want %.3g", fs[i].Name, got, fs[i].MeanRate)
		}
	}
	if measured < 50 {
		t.Fatalf("only %d functions busy enough to measure", measured)
	}
	if share := float64(over1) / float64(measured); share < 0.3 || share > 0.5 {
		t.Errorf("%.2f of functions have CV > 1.2, want about 0.4", share)
	}
}

func TestSparseDeterministic(t *testing.T) {
	a, _ := SparseTrace(SparseOptions{Functions: 100, Seed: 5, Scale: 100})
	b, _ := SparseTrace(SparseOptions{Functions: 100, Seed: 5, Scale: 100})
	c, _ := SparseTrace(SparseOptions{Functions: 100, Seed: 6, Scale: 100})
	if a.Functions()[7] != b.Functions()[7] || a.Functions()[7] == c.Functions()[7] {
		t.Fatal("population not fixed by its seed")
	}
	sa, sb, sc := a.Arrivals(1, time.Minute), b.Arrivals(1, time.Minute), a.Arrivals(2, time.Minute)
	same, differ := true, false
	for {
		x, ok1 := sa.Next()
		y, ok2 := sb.Next()
		z, _ := sc.Next()
		same = same && ok1 == ok2 && x == y
		differ = differ || x != z
		if !ok1 || !ok2 {
			break
		}
	}
	if !same || !differ {
		t.Errorf("same seed same stream = %v, different seed different stream = %v", same, differ)
	}
	p, err := Parse(a.String())
	if err != nil || p.String() != a.String() {
		t.Errorf("spec %q does not parse again: %v", a.String(), err)
	}
}

func TestTraceSpecs(t *testing.T) {
	inv, dur, mem := samplePaths(t)
	tests := []struct{ name, spec, err string }{
		{name: "azure2019", spec: "azure2019:invocations=" + inv + ",durations=" + dur + ",memory=" + mem + ",functions=3,minutes=60+30,spread=uniform,compress=144,scale=0.5"},
		{name: "azure2019 by hash", spec: "azure2019:invocations=" + inv + ",hashes=47658c9c,spread=equidistant"},
		{name: "sparse", spec: "sparse:functions=50,seed=3"},
		{name: "azure2019 directory", spec: "azure2019:path=" + filepath.Dir(inv) + ",functions=2"},
		{name: "directory and file", spec: "azure2019:path=" + filepath.Dir(inv) + ",memory=" + mem, err: "give either a directory or memory=FILE"},
		{name: "missing invocations", spec: "azure2019:functions=3", err: "invocations: missing"},
		{name: "bad minutes", spec: "azure2019:invocations=" + inv + ",minutes=60", err: "minutes: want first+count"},
		{name: "bad spread", spec: "azure2019:invocations=" + inv + ",spread=bursty", err: "spread: want exponential, uniform or equidistant"},
		{name: "bad functions", spec: "sparse:functions=0", err: "functions: want an integer from 1"},
		{name: "missing file", spec: "azure2021:file=/nonexistent.csv", err: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(p.String())
			if err != nil || again.String() != p.String() {
				t.Fatalf("round trip of %q: %v", p.String(), err)
			}
		})
	}
}

func BenchmarkSparseNext(b *testing.B) {
	tr, err := SparseTrace(SparseOptions{Functions: 10000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	s := tr.Arrivals(1, 0)
	b.ReportAllocs()
	for b.Loop() {
		s.Next()
	}
}
