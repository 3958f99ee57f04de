package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// scenario builds a small, fast scenario: one function, seconds to a few
// minutes of simulated traffic at tens of requests per second.
func scenario(t testing.TB, pattern, duration string) *scenarios.Scenario {
	t.Helper()
	y := `name: t
duration: ` + duration + `
seed: 3
functions:
  - name: api
    containerConcurrency: 10
    memoryMB: 512
    service: fixed:100ms
traffic: ` + pattern + `
`
	sc, err := scenarios.Parse("t.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func slos(t testing.TB, s string) []results.SLO {
	t.Helper()
	o, err := results.ParseSLOs(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestRun(t *testing.T) {
	cases := []struct {
		name     string
		pattern  string
		duration string
		policy   string
		slo      string
		feasible bool
		check    func(t *testing.T, p *Plan)
	}{
		{
			// A burst needing several pods every 40 s: retention keeps one
			// pod at most, so only a floor of pods avoids the cold starts.
			name: "burst forces min-scale", pattern: "spike:base=0,peak=150,at=40s,length=20s,arrivals=poisson", duration: "90s",
			policy: "kpa", slo: "cold_start_ratio<=0.002,p99<=400ms", feasible: true,
			check: func(t *testing.T, p *Plan) {
				if p.Default.Feasible {
					t.Fatalf("the defaults already meet the SLO (%v); the case tests nothing", p.Default.Metrics)
				}
				if p.Choice.Settings["min-scale"] == "0" {
					t.Errorf("choice %v has no floor of pods", p.Choice.Settings)
				}
			},
		},
		{
			name: "steady load is cheap at defaults or better", pattern: "poisson:rate=40", duration: "60s",
			policy: "knative", slo: "p99<=500ms", feasible: true,
			check: func(t *testing.T, p *Plan) {
				if p.Choice.Cost > p.Default.Cost {
					t.Errorf("choice costs %.1f, more than the feasible defaults' %.1f", p.Choice.Cost, p.Default.Cost)
				}
			},
		},
		{
			name: "keepalive finds a keep-alive covering the gaps", pattern: "onoff:rate=5,on=10s,off=50s,arrivals=poisson", duration: "4m",
			policy: "keepalive", slo: "cold_start_ratio<=0.05", feasible: true,
			check: func(t *testing.T, p *Plan) {
				if !strings.Contains(Annotations(p.Policy, p.Choice.Settings), "--set keep-alive=") {
					t.Errorf("keepalive settings not rendered as --set pairs")
				}
			},
		},
		{
			name: "a p99 below the service time is infeasible", pattern: "poisson:rate=20", duration: "30s",
			policy: "kpa", slo: "p99<=50ms", feasible: false,
			check: func(t *testing.T, p *Plan) {
				if len(p.Closest) == 0 || p.Choice != nil || len(p.Scaling) != 0 {
					t.Errorf("infeasible plan: closest %d, choice %v, scaling %d", len(p.Closest), p.Choice, len(p.Scaling))
				}
				if p.Closest[0].Violation <= 0 {
					t.Errorf("closest candidate has violation %g, want > 0", p.Closest[0].Violation)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := scenario(t, c.pattern, c.duration)
			p, err := Run(context.Background(), sc, Options{Policy: c.policy, SLOs: slos(t, c.slo), Budget: 200})
			if err != nil {
				t.Fatal(err)
			}
			if p.Feasible != c.feasible {
				t.Fatalf("feasible = %v, want %v (closest %+v)", p.Feasible, c.feasible, p.Closest)
			}
			if p.Simulations > 200 {
				t.Errorf("%d simulations over the budget of 200", p.Simulations)
			}
			if c.feasible {
				for _, m := range p.Margins {
					if m.Value > m.Max {
						t.Errorf("choice misses %s: %g", m.SLO, m.Value)
					}
				}
				// The choice is the cheapest feasible candidate evaluated.
				for _, cand := range p.Candidates {
					if cand.Feasible && cand.Cost < p.Choice.Cost {
						t.Errorf("candidate %v costs %.1f < choice %.1f", cand.Settings, cand.Cost, p.Choice.Cost)
					}
				}
			}
			c.check(t, p)
		})
	}
}

func TestScalingCostsMore(t *testing.T) {
	sc := scenario(t, "poisson:rate=50", "60s")
	p, err := Run(context.Background(), sc, Options{Policy: "kpa", SLOs: slos(t, "p99<=500ms"), Budget: 120})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Feasible || len(p.Scaling) != 3 {
		t.Fatalf("feasible %v, %d scales", p.Feasible, len(p.Scaling))
	}
	prev := p.Choice.Cost
	for _, s := range p.Scaling {
		if s.Cost <= prev {
			t.Errorf("×%g costs %.1f, not more than the smaller traffic's %.1f", s.Factor, s.Cost, prev)
		}
		prev = s.Cost
	}
	if p.Scaling[0].Factor != 2 || p.Scaling[0].CostRatio <= 1 {
		t.Errorf("×2 point %+v", p.Scaling[0])
	}
}

func TestDeterministic(t *testing.T) {
	sc := scenario(t, "onoff:rate=30,on=10s,off=30s,arrivals=poisson", "2m")
	var out [][]byte
	for _, workers := range []int{1, 2, 1} {
		p, err := Run(context.Background(), sc, Options{Policy: "kpa", SLOs: slos(t, "p99<=1s,cold_start_ratio<=0.01"), Budget: 150, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for i := 1; i < len(out); i++ {
		if !bytes.Equal(out[0], out[i]) {
			t.Fatalf("run %d differs from run 0", i)
		}
	}
}

func TestGBSeconds(t *testing.T) {
	sc := scenario(t, "poisson:rate=30", "30s")
	p, err := Run(context.Background(), sc, Options{Policy: "kpa", SLOs: slos(t, "p99<=500ms"), Budget: 40, Cost: GBSeconds, Scales: []float64{}})
	if err != nil {
		t.Fatal(err)
	}
	// memoryMB 512: half a GB per pod.
	if got, want := p.Choice.Cost, p.Choice.PodSeconds/2; math.Abs(got-want) > 1e-9 {
		t.Errorf("GB-seconds %g, want %g", got, want)
	}
}

func TestRunRejects(t *testing.T) {
	sc := scenario(t, "poisson:rate=5", "10s")
	cases := []struct {
		name string
		opt  Options
		want string
	}{
		{"no SLO", Options{Policy: "kpa"}, "no SLO"},
		{"unplannable policy", Options{Policy: "hpa", SLOs: slos(t, "p99<=1s")}, "cannot be planned"},
		{"bad cost", Options{Policy: "kpa", SLOs: slos(t, "p99<=1s"), Cost: "dollars"}, "cost"},
		{"negative budget", Options{Policy: "kpa", SLOs: slos(t, "p99<=1s"), Budget: -1}, "budget"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(context.Background(), sc, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

// constantish wraps a pattern in a type ScaleTraffic does not know, to
// reach the superposition path.
type constantish struct{ traffic.Pattern }

func TestScaleTraffic(t *testing.T) {
	mustParse := func(s string) traffic.Pattern {
		p, err := traffic.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		p    traffic.Pattern
		k    float64
		at   time.Duration
	}{
		{"constant", mustParse("constant:rate=10"), 2, time.Second},
		{"poisson", mustParse("poisson:rate=10"), 5, time.Second},
		{"ramp", mustParse("ramp:from=1,to=20,over=1m"), 10, 30 * time.Second},
		{"steps", mustParse("steps:rates=10/60,every=30s"), 2, 40 * time.Second},
		{"sine", mustParse("sine:base=20,amplitude=10,period=1m"), 5, 10 * time.Second},
		{"spike", mustParse("spike:base=5,peak=50,at=10s,length=10s"), 2, 15 * time.Second},
		{"onoff", mustParse("onoff:rate=20,on=10s,off=10s"), 10, 5 * time.Second},
		{"sparse trace", mustParse("sparse:functions=20,seed=2"), 2, 0},
		{"superposed", constantish{mustParse("poisson:rate=10")}, 5, time.Second},
	}
	const d = time.Minute
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := ScaleTraffic(c.p, c.k)
			if err != nil {
				t.Fatal(err)
			}
			if c.at > 0 {
				if got, want := q.Rate(c.at), c.k*c.p.Rate(c.at); math.Abs(got-want) > 1e-9*want {
					t.Errorf("rate at %v = %g, want %g", c.at, got, want)
				}
			}
			n0, n1 := count(c.p, d), count(q, d)
			if r := float64(n1) / float64(n0); math.Abs(r-c.k) > 0.15*c.k {
				t.Errorf("%d arrivals scaled to %d (×%.2f), want about ×%g", n0, n1, r, c.k)
			}
		})
	}
	if _, err := ScaleTraffic(constantish{mustParse("poisson:rate=1")}, 2.5); err == nil {
		t.Error("superposition accepted a fractional factor")
	}
	if _, err := ScaleTraffic(mustParse("poisson:rate=1"), 0); err == nil {
		t.Error("accepted a zero factor")
	}
}

// count counts a pattern's arrivals in d and checks they are in order.
func count(p traffic.Pattern, d time.Duration) int {
	src := p.Arrivals(1, d)
	n := 0
	last := time.Duration(-1)
	for {
		a, ok := src.Next()
		if !ok {
			return n
		}
		if a.At < last {
			panic("arrivals out of order")
		}
		last = a.At
		n++
	}
}

func TestAnnotations(t *testing.T) {
	got := Annotations("kpa", map[string]string{
		"target-utilization-percentage": "80", "stable-window": "30s", "panic-threshold-percentage": "300",
		"min-scale": "0", "scale-to-zero-pod-retention-period": "5m", "idle-histogram": "false", "backlog-aware-panic": "false",
	})
	for _, want := range []string{
		`autoscaling.knative.dev/target-utilization-percentage: "80"`,
		`autoscaling.knative.dev/window: "30s"`,
		`autoscaling.knative.dev/panic-threshold-percentage: "300"`,
		`autoscaling.knative.dev/min-scale: "0"`,
		`autoscaling.knative.dev/scale-to-zero-pod-retention-period: "5m"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("annotations lack %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "idle-histogram") || strings.Contains(got, "backlog") {
		t.Errorf("annotations carry a non-Knative setting:\n%s", got)
	}
}
