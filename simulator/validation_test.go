package simulator

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// erlangC is the M/M/c probability that an arrival waits, for offered load
// a = λ/μ erlangs on c servers.
func erlangC(c int, a float64) float64 {
	term, sum := 1.0, 0.0
	for k := 0; k < c; k++ {
		sum += term
		term *= a / float64(k+1)
	}
	top := term * float64(c) / (float64(c) - a)
	return top / (sum + top)
}

// waitCounter reads requests.csv as it streams and counts, per batch of
// arrival time, the requests that started later than they arrived.
type waitCounter struct {
	batch   float64 // seconds per batch
	skip    float64 // warm-up seconds left out
	partial []byte
	n, w    []float64
}

func (c *waitCounter) Write(p []byte) (int, error) {
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		c.line(c.partial[:i])
		c.partial = c.partial[i+1:]
	}
	return len(p), nil
}

func (c *waitCounter) line(l []byte) {
	f := bytes.Split(l, []byte{','})
	if len(f) < 8 || string(f[7]) != "ok" {
		return
	}
	arr := parseF(f[2])
	if arr < c.skip {
		return
	}
	b := int((arr - c.skip) / c.batch)
	for len(c.n) <= b {
		c.n, c.w = append(c.n, 0), append(c.w, 0)
	}
	c.n[b]++
	if !bytes.Equal(f[2], f[3]) {
		c.w[b]++
	}
}

func parseF(b []byte) float64 {
	var v, scale float64 = 0, 0
	for _, ch := range b {
		switch {
		case ch == '.':
			scale = 1
		case scale > 0:
			scale /= 10
			v += float64(ch-'0') * scale
		default:
			v = v*10 + float64(ch-'0')
		}
	}
	return v
}

// estimate is the waiting probability and its standard error by batch
// means (batches long enough to be nearly independent).
func (c *waitCounter) estimate() (p, se float64) {
	var ps []float64
	for i := range c.n {
		if c.n[i] > 0 {
			ps = append(ps, c.w[i]/c.n[i])
		}
	}
	mean := 0.0
	for _, x := range ps {
		mean += x
	}
	mean /= float64(len(ps))
	v := 0.0
	for _, x := range ps {
		v += (x - mean) * (x - mean)
	}
	v /= float64(len(ps) - 1)
	return mean, math.Sqrt(v / float64(len(ps)))
}

// TestErlangC runs Poisson arrivals and exponential service on a fixed
// number of pods with containerConcurrency 1 (an M/M/c queue) and wants the
// share of requests that wait to match Erlang C within 4 standard errors.
func TestErlangC(t *testing.T) {
	const (
		c      = 4
		lambda = 30.0 // per second
		mean   = 100 * time.Millisecond
		runFor = 20000 * time.Second
	)
	cases := []struct {
		name   string
		policy scenarios.Policy
		fixed  bool
	}{
		{name: "fixed pods", policy: scenarios.Policy{Name: "fixed"}, fixed: true},
		{name: "kpa min-scale = max-scale", policy: scenarios.Policy{Name: "kpa",
			Settings: map[string]string{"min-scale": "4", "max-scale": "4"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pat, err := traffic.Parse("poisson:rate=30")
			if err != nil {
				t.Fatal(err)
			}
			sc := &scenarios.Scenario{
				Name: "mmc", Duration: runFor, Seed: 11, Traffic: pat,
				Functions: []scenarios.Function{{Name: "f", ContainerConcurrency: 1,
					Service: mustDist(t, "exp:mean=100ms"), Startup: scenarios.Startup{AppInit: mustDist(t, "1s")}}},
			}
			opt := Options{}
			if tc.fixed {
				opt.NewPolicy = func(int, scenarios.Function) (autoscaler.Policy, error) {
					return &scripted{name: "fixed", plan: constPods(c)}, nil
				}
			}
			wc := &waitCounter{batch: 500, skip: 100}
			opt.Requests = wc
			res, err := Run(context.Background(), sc, tc.policy, opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Summary.Dropped != 0 || res.Summary.MaxPods != c {
				t.Fatalf("dropped %d, max pods %d; want 0 and %d", res.Summary.Dropped, res.Summary.MaxPods, c)
			}
			want := erlangC(c, lambda*mean.Seconds())
			got, se := wc.estimate()
			t.Logf("P(wait) = %.4f ± %.4f, Erlang C %.4f", got, se, want)
			if se > 0.01 {
				t.Fatalf("standard error %.4f too large for a meaningful check", se)
			}
			if math.Abs(got-want) > 4*se {
				t.Errorf("P(wait) = %.4f ± %.4f, want Erlang C %.4f", got, se, want)
			}
		})
	}
}

// TestKeepaliveColdStarts sends Poisson arrivals at a low rate to the
// keepalive policy with tiny service and start-up times (one instance at a
// time) and wants the cold-start ratio to match P(gap > keep-alive) =
// exp(−λk) within 2%. The policy keeps instances in whole seconds, so the
// effective keep-alive is k plus up to 1 s: λ is kept small enough that
// this shifts the ratio by well under 1% (λ·0.5 s).
func TestKeepaliveColdStarts(t *testing.T) {
	settings, err := autoscaler.Settings("keepalive")
	if err != nil {
		t.Fatalf("keepalive policy: %v", err)
	}
	key := ""
	for _, s := range settings {
		if s.Key == "keep-alive" {
			key = s.Key
		}
	}
	if key == "" {
		t.Fatalf("keepalive policy has no keep-alive setting among %v", settings)
	}
	cases := []struct {
		name     string
		rate     string
		lambda   float64
		keep     time.Duration
		requests float64
	}{
		{name: "λk = 1", rate: "poisson:rate=0.01", lambda: 0.01, keep: 100 * time.Second, requests: 200_000},
		{name: "λk = 0.3", rate: "poisson:rate=0.005", lambda: 0.005, keep: 60 * time.Second, requests: 100_000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pat, err := traffic.Parse(tc.rate)
			if err != nil {
				t.Fatal(err)
			}
			sc := &scenarios.Scenario{
				Name: "keepalive", Duration: time.Duration(tc.requests / tc.lambda * float64(time.Second)), Seed: 5, Traffic: pat,
				Functions: []scenarios.Function{{Name: "f", ContainerConcurrency: 1,
					Service: mustDist(t, "1ms"), Startup: scenarios.Startup{AppInit: mustDist(t, "1ms")}}},
			}
			res, err := Run(context.Background(), sc, scenarios.Policy{Name: "keepalive", Settings: map[string]string{key: tc.keep.String()}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			want := math.Exp(-tc.lambda * tc.keep.Seconds())
			got := s.ColdStartRatio
			se := math.Sqrt(want * (1 - want) / float64(s.Requests))
			t.Logf("cold-start ratio %.4f ± %.4f over %d requests, exp(−λk) = %.4f, max pods %d", got, se, s.Requests, want, s.MaxPods)
			if tol := 0.02 * want; se > tol/4 {
				t.Fatalf("standard error %.4f is not well below the 2%% tolerance %.4f", se, tol)
			}
			if math.Abs(got-want) > 0.02*want {
				t.Errorf("cold-start ratio %.4f, want exp(−λk) = %.4f within 2%%", got, want)
			}
		})
	}
}
