package traffic

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, spec, want, err string
	}{
		{name: "constant", spec: "constant:rate=100", want: "constant:rate=100"},
		{name: "constant poisson is poisson", spec: "constant:rate=100,arrivals=poisson", want: "poisson:rate=100"},
		{name: "poisson", spec: "poisson:rate=2.5", want: "poisson:rate=2.5"},
		{name: "ramp", spec: "ramp:from=0,to=200,over=5m", want: "ramp:from=0,to=200,over=5m0s"},
		{name: "steps", spec: "steps:rates=10/50/100,every=1m,arrivals=poisson", want: "steps:rates=10/50/100,every=1m0s,arrivals=poisson"},
		{name: "sine", spec: "sine:base=100,amplitude=80,period=10m", want: "sine:base=100,amplitude=80,period=10m0s"},
		{name: "spike", spec: "spike:base=10,peak=500,at=2m,length=30s", want: "spike:base=10,peak=500,at=2m0s,length=30s"},
		{name: "onoff", spec: "onoff:rate=50,on=1m,off=3m", want: "onoff:rate=50,on=1m0s,off=3m0s"},
		{name: "missing rate", spec: "constant:", err: "rate: missing"},
		{name: "negative rate", spec: "constant:rate=-1", err: "rate: want a rate"},
		{name: "unknown kind", spec: "square:rate=1", err: `unknown kind "square"`},
		{name: "unknown key", spec: "ramp:from=0,to=1,during=1m", err: `unknown parameter "during"`},
		{name: "bad arrivals", spec: "ramp:from=0,to=1,over=1m,arrivals=burst", err: "arrivals: want uniform or poisson"},
		{name: "poisson arrivals", spec: "poisson:rate=1,arrivals=uniform", err: "always Poisson"},
		{name: "amplitude over base", spec: "sine:base=10,amplitude=20,period=1m", err: "amplitude ≤ base"},
		{name: "zero period", spec: "sine:base=10,amplitude=5,period=0s", err: "period: want a positive duration"},
		{name: "bad step", spec: "steps:rates=1/x,every=1m", err: `rates: "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) error = %v, want it to contain %q", tt.spec, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			if got := p.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			again, err := Parse(p.String())
			if err != nil || again.String() != p.String() {
				t.Fatalf("round trip of %q: %v, %v", p.String(), again, err)
			}
		})
	}
}

// drain counts a source's arrivals, checking order on the way.
func drain(t *testing.T, s Source) (n int, last time.Duration) {
	t.Helper()
	prev := time.Duration(-1)
	for {
		a, ok := s.Next()
		if !ok {
			return n, prev
		}
		if a.At < prev {
			t.Fatalf("arrival %d at %v before previous %v", n, a.At, prev)
		}
		prev = a.At
		n++
	}
}

// TestCounts checks that each pattern delivers the integral of its rate:
// exactly (±1) for uniform spacing, within 4 standard deviations for
// Poisson.
func TestCounts(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		duration time.Duration
		want     float64
	}{
		{"constant", "constant:rate=100", 10 * time.Second, 1000},
		{"constant fractional", "constant:rate=3", 10 * time.Second, 30},
		{"zero", "constant:rate=0", 10 * time.Second, 0},
		{"ramp up", "ramp:from=0,to=200,over=5m", 5 * time.Minute, 100 * 300},
		{"ramp down then hold", "ramp:from=200,to=100,over=1m", 2 * time.Minute, 150*60 + 100*60},
		{"ramp to zero", "ramp:from=100,to=0,over=1m", 5 * time.Minute, 50 * 60},
		{"steps", "steps:rates=10/50/100,every=1m", 4 * time.Minute, 600 + 3000 + 6000 + 6000},
		{"steps with idle", "steps:rates=10/0/10,every=1m", 3 * time.Minute, 1200},
		{"sine whole periods", "sine:base=100,amplitude=80,period=10m", 20 * time.Minute, 120000},
		{"sine to zero", "sine:base=10,amplitude=10,period=1m", 3 * time.Minute, 1800},
		{"spike", "spike:base=10,peak=500,at=2m,length=30s", 5 * time.Minute, 10*270 + 500*30},
		{"onoff", "onoff:rate=50,on=1m,off=3m", 16 * time.Minute, 4 * 3000},
		{"poisson", "poisson:rate=100", 100 * time.Second, 10000},
		{"ramp poisson", "ramp:from=0,to=200,over=5m,arrivals=poisson", 5 * time.Minute, 30000},
		{"sine poisson", "sine:base=100,amplitude=80,period=10m,arrivals=poisson", 10 * time.Minute, 60000},
		{"onoff poisson", "onoff:rate=50,on=1m,off=3m,arrivals=poisson", 16 * time.Minute, 12000},
		{"spike poisson", "spike:base=10,peak=500,at=2m,length=30s,arrivals=poisson", 5 * time.Minute, 10*270 + 500*30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			n, last := drain(t, p.Arrivals(7, tt.duration))
			tol := 1.0
			if strings.Contains(tt.spec, "poisson") {
				tol = 4 * math.Sqrt(tt.want)
			}
			if math.Abs(float64(n)-tt.want) > tol {
				t.Errorf("%d arrivals in %v, want %g ± %g", n, tt.duration, tt.want, tol)
			}
			if n > 0 && last >= tt.duration {
				t.Errorf("last arrival %v not before the end %v", last, tt.duration)
			}
		})
	}
}

// TestFollowsRate bins arrivals per window and compares each bin with the
// integral of Rate over it, so a pattern that gets the total right but the
// shape wrong fails.
func TestFollowsRate(t *testing.T) {
	for _, spec := range []string{
		"ramp:from=0,to=200,over=5m", "ramp:from=300,to=20,over=5m",
		"sine:base=100,amplitude=80,period=5m", "spike:base=10,peak=500,at=2m,length=30s",
		"onoff:rate=50,on=1m,off=1m30s", "steps:rates=10/50/0/100,every=1m",
	} {
		t.Run(spec, func(t *testing.T) {
			p, err := Parse(spec)
			if err != nil {
				t.Fatal(err)
			}
			const window = 10 * time.Second
			const total = 6 * time.Minute
			bins := make([]int, total/window)
			s := p.Arrivals(1, total)
			for a, ok := s.Next(); ok; a, ok = s.Next() {
				bins[a.At/window]++
			}
			for i, got := range bins {
				want := 0.0
				for step := time.Duration(0); step < window; step += 10 * time.Millisecond {
					want += p.Rate(time.Duration(i)*window+step+5*time.Millisecond) * 0.01
				}
				if math.Abs(float64(got)-want) > 1.5+0.01*want {
					t.Errorf("window %d: %d arrivals, rate integrates to %.1f", i, got, want)
				}
			}
		})
	}
}

func TestConstantSpacingIsExact(t *testing.T) {
	// Arrival i of a constant rate is i/rate computed directly, so even
	// the ten-billionth is on the nanosecond grid an exact clock gives.
	c := Constant{RPS: 1000}.Arrivals(1, 0).(*rescaled)
	c.i = 1e10
	a, ok := c.Next()
	if !ok || a.At != 1e7*time.Second {
		t.Fatalf("arrival 1e10 at %v, want %v", a.At, 1e7*time.Second)
	}
	s := Constant{RPS: 3}.Arrivals(1, 0)
	for i := range 10 {
		a, _ := s.Next()
		if want := time.Duration(math.Round(float64(i) * 1e9 / 3)); a.At != want {
			t.Fatalf("arrival %d at %v, want %v", i, a.At, want)
		}
	}
}

func TestPoissonGaps(t *testing.T) {
	// The coefficient of variation of exponential gaps is 1; an evenly
	// paced stream has 0. This is what tells Poisson from the constant pacer.
	s := Constant{RPS: 50, Spacing: Poisson}.Arrivals(3, 0)
	var prev time.Duration
	var sum, sq float64
	const n = 100000
	for range n {
		a, _ := s.Next()
		g := (a.At - prev).Seconds()
		prev = a.At
		sum += g
		sq += g * g
	}
	mean := sum / n
	cv := math.Sqrt(sq/n-mean*mean) / mean
	if math.Abs(mean-0.02) > 0.0005 || math.Abs(cv-1) > 0.02 {
		t.Fatalf("gap mean %.5f s, CV %.3f; want 0.02 s and 1", mean, cv)
	}
}

func TestSeeds(t *testing.T) {
	for _, spec := range []string{"poisson:rate=100", "sine:base=100,amplitude=50,period=1m,arrivals=poisson"} {
		p, _ := Parse(spec)
		a, b, c := p.Arrivals(1, time.Minute), p.Arrivals(1, time.Minute), p.Arrivals(2, time.Minute)
		same, differ := true, false
		for {
			x, ok1 := a.Next()
			y, ok2 := b.Next()
			z, _ := c.Next()
			if ok1 != ok2 || x != y {
				same = false
			}
			if x != z {
				differ = true
			}
			if !ok1 || !ok2 {
				break
			}
		}
		if !same || !differ {
			t.Errorf("%s: same seed same stream = %v, different seed different stream = %v", spec, same, differ)
		}
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	for _, spec := range []string{"constant:rate=1000", "poisson:rate=1000", "ramp:from=1,to=1000,over=1h",
		"sine:base=100,amplitude=80,period=1m,arrivals=poisson", "onoff:rate=1000,on=1s,off=1s", "steps:rates=1/2/3,every=1s"} {
		p, _ := Parse(spec)
		s := p.Arrivals(1, 0)
		if a := testing.AllocsPerRun(10000, func() { s.Next() }); a != 0 {
			t.Errorf("%s: %v allocations per Next, want 0", spec, a)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"constant:rate=100", "poisson:rate=1", "ramp:from=0,to=200,over=5m",
		"steps:rates=10/50/100,every=1m", "sine:base=100,amplitude=80,period=10m",
		"spike:base=10,peak=500,at=2m,length=30s", "onoff:rate=50,on=1m,off=3m,arrivals=poisson"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if strings.Contains(spec, "azure") || strings.Contains(spec, "sparse") {
			return // would read files named by the fuzzer, or build millions of functions
		}
		p, err := Parse(spec)
		if err != nil {
			return
		}
		again, err := Parse(p.String())
		if err != nil || again.String() != p.String() {
			t.Fatalf("round trip of %q: %q, %v", spec, p.String(), err)
		}
		s := p.Arrivals(1, time.Hour)
		prev := time.Duration(-1)
		for range 100 {
			a, ok := s.Next()
			if !ok {
				break
			}
			if a.At < prev || a.At >= time.Hour {
				t.Fatalf("%q: arrival at %v after %v", spec, a.At, prev)
			}
			prev = a.At
		}
	})
}
