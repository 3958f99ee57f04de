package simulator

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
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
// exp(−λk) within 2%. Keep-alive is exact time, so this holds at rates
// where a keep-alive rounded to whole seconds would be k + U(0,1) s (the
// λk = 1 at λ = 0.1/s case would then give exp(−λk)(1−e^(−λ))/λ = 0.350
// instead of 0.368).
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
		{name: "λk = 1 at λ = 0.1/s", rate: "poisson:rate=0.1", lambda: 0.1, keep: 10 * time.Second, requests: 200_000},
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

// lambdaArrivals is a Poisson stream whose requests carry their own
// exponential service work, drawn in the test from its own seed, so that
// the simulator and the reference below serve identical requests.
func lambdaArrivals(seed uint64, rate float64, mean, length time.Duration) list {
	rng := rand.New(rand.NewPCG(seed, 99))
	var out list
	t := 0.0
	for {
		t += rng.ExpFloat64() / rate
		at := time.Duration(t * float64(time.Second))
		if at >= length {
			return out
		}
		work := max(time.Nanosecond, time.Duration(rng.ExpFloat64()*float64(mean)))
		out = append(out, traffic.Arrival{At: at, Work: work})
	}
}

// lambdaReference is an independent, minimal Lambda: instances with the
// time they were created, become free and are retired; a request takes the
// most recently freed idle instance, or starts a new one and waits for it;
// an instance idle for keep-alive is gone. It returns each request's start
// and cold flag, the instances started, the pod-seconds up to end (when
// end > 0), and the most instances alive at once.
func lambdaReference(arr list, startup, keep time.Duration, end time.Duration) (start []time.Duration, cold []bool, starts int, podSeconds float64, peak int) {
	type instance struct{ created, free time.Duration }
	var alive []instance
	var lifetimes time.Duration
	for _, a := range arr {
		t := a.At
		// Retire the instances idle for keep-alive by t.
		kept := alive[:0]
		for _, in := range alive {
			if in.free <= t && in.free+keep <= t {
				lifetimes += in.free + keep - in.created
				continue
			}
			kept = append(kept, in)
		}
		alive = kept
		best := -1
		for i, in := range alive {
			if in.free <= t && (best < 0 || in.free > alive[best].free) {
				best = i
			}
		}
		if best >= 0 {
			start, cold = append(start, t), append(cold, false)
			alive[best].free = t + a.Work
			continue
		}
		ready := t + startup
		start, cold = append(start, ready), append(cold, true)
		alive = append(alive, instance{created: t, free: ready + a.Work})
		starts++
		peak = max(peak, len(alive))
	}
	for _, in := range alive {
		if gone := in.free + keep; gone < end {
			lifetimes += gone - in.created
		} else {
			lifetimes += end - in.created
		}
	}
	return start, cold, starts, lifetimes.Seconds(), peak
}

// TestLambdaMatchesReference runs several instances' worth of Poisson
// traffic through the keepalive policy's Lambda path and wants every
// request's start and cold flag, the instance starts, the most instances
// and the pod-seconds to match the reference above on the same arrivals.
func TestLambdaMatchesReference(t *testing.T) {
	cases := []struct {
		name    string
		seed    uint64
		rate    float64
		mean    time.Duration
		startup time.Duration
		keep    time.Duration
		length  time.Duration
	}{
		{name: "about 4 busy, keep-alive 2 s", seed: 1, rate: 20, mean: 200 * time.Millisecond, startup: 500 * time.Millisecond, keep: 2 * time.Second, length: 2000 * time.Second},
		{name: "about 10 busy, keep-alive 1.25 s", seed: 2, rate: 50, mean: 200 * time.Millisecond, startup: 300 * time.Millisecond, keep: 1250 * time.Millisecond, length: 600 * time.Second},
		{name: "sparse, keep-alive 10.4 s", seed: 3, rate: 0.3, mean: time.Second, startup: 2 * time.Second, keep: 10400 * time.Millisecond, length: 20000 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arr := lambdaArrivals(tc.seed, tc.rate, tc.mean, tc.length)
			sc := &scenarios.Scenario{
				Name: "lambda", Duration: tc.length, Seed: int64(tc.seed), Traffic: arr,
				Functions: []scenarios.Function{{Name: "f", ContainerConcurrency: 1,
					Service: mustDist(t, "1ms"), Startup: scenarios.Startup{AppInit: mustDist(t, tc.startup.String())}}},
			}
			run := func(routing string) (*Result, []row) {
				var reqs bytes.Buffer
				res, err := Run(context.Background(), sc, scenarios.Policy{Name: "keepalive",
					Settings: map[string]string{"keep-alive": tc.keep.String(), "routing": routing}}, Options{Requests: &reqs})
				if err != nil {
					t.Fatal(err)
				}
				rows := parseRequests(t, reqs.Bytes())
				slices.SortFunc(rows, func(a, b row) int { return int(a.id - b.id) })
				return res, rows
			}
			res, rows := run("lambda")
			s := res.Summary
			// The run ends at the first whole second after the last
			// completion, and not before the traffic's length.
			end := tc.length
			for _, r := range rows {
				end = max(end, time.Duration(math.Ceil(r.end-1e-7))*time.Second)
			}
			start, cold, starts, podSeconds, peak := lambdaReference(arr, tc.startup, tc.keep, end)
			if len(rows) != len(arr) || s.Dropped != 0 {
				t.Fatalf("%d request rows, %d dropped; want %d and 0", len(rows), s.Dropped, len(arr))
			}
			mismatch := 0
			for i, r := range rows {
				if r.cold != cold[i] || math.Abs(r.start-start[i].Seconds()) > 1e-6 {
					if mismatch++; mismatch <= 5 {
						t.Errorf("request %d at %.6f s: start %.6f s cold %v; reference %.6f s cold %v", i+1, r.arr, r.start, r.cold, start[i].Seconds(), cold[i])
					}
				}
			}
			refCold := int64(0)
			for _, c := range cold {
				if c {
					refCold++
				}
			}
			_, oldRows := run("first-free")
			oldCold := 0
			for _, r := range oldRows {
				if r.cold {
					oldCold++
				}
			}
			t.Logf("%d requests: %d cold starts (%.4f), reference %d; %d instance starts, reference %d; max %d instances, reference %d; %.3f pod-seconds, reference %.3f; first-free routing: %d cold starts",
				s.Requests, s.ColdStarts, s.ColdStartRatio, refCold, s.PodStarts, starts, s.MaxPods, peak, s.PodSeconds, podSeconds, oldCold)
			if mismatch > 0 || s.ColdStarts != refCold || s.PodStarts != int64(starts) || s.MaxPods != peak || math.Abs(s.PodSeconds-podSeconds) > 0.01 {
				t.Errorf("%d of %d requests differ from the reference; cold %d vs %d, starts %d vs %d, max %d vs %d, pod-seconds %.3f vs %.3f",
					mismatch, len(rows), s.ColdStarts, refCold, s.PodStarts, starts, s.MaxPods, peak, s.PodSeconds, podSeconds)
			}
		})
	}
}

// TestLambdaColdStartsArePodStarts: an instance serves one request at a
// time, every instance start is caused by the one request bound to it, and
// only such a request is a cold start, whatever the traffic, limits,
// settings or containerConcurrency (which the Lambda path does not use).
func TestLambdaColdStartsArePodStarts(t *testing.T) {
	cases := []struct {
		name, pattern string
		length        time.Duration
		service       string
		set           map[string]string
		activator     scenarios.Activator
	}{
		{name: "poisson", pattern: "poisson:rate=40", length: 10 * time.Minute, service: "exp:mean=150ms", set: map[string]string{"keep-alive": "3s"}},
		{name: "bursts with long gaps", pattern: "onoff:rate=80,on=10s,off=50s,arrivals=poisson", length: 20 * time.Minute, service: "exp:mean=300ms", set: map[string]string{"keep-alive": "20s"}},
		{name: "spike", pattern: "spike:base=5,peak=300,at=2m,length=20s", length: 5 * time.Minute, service: "lognormal:median=200ms,sigma=1", set: map[string]string{"keep-alive": "1m"}},
		{name: "provisioned instances", pattern: "poisson:rate=30", length: 10 * time.Minute, service: "exp:mean=200ms", set: map[string]string{"keep-alive": "2s", "min": "3"}},
		{name: "at the concurrency limit", pattern: "poisson:rate=60", length: 10 * time.Minute, service: "exp:mean=200ms", set: map[string]string{"keep-alive": "5s", "max": "8"}},
		{name: "limit with drops", pattern: "poisson:rate=100", length: 5 * time.Minute, service: "exp:mean=200ms", set: map[string]string{"max": "5"},
			activator: scenarios.Activator{QueueDepth: 20, Timeout: 2 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pat, err := traffic.Parse(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			for i, seed := range []int64{1, 2, 3} {
				cc := []int{1, 0, 10}[i]
				sc := &scenarios.Scenario{
					Name: tc.name, Duration: tc.length, Seed: seed, Traffic: pat, Activator: tc.activator,
					Functions: []scenarios.Function{{Name: "f", ContainerConcurrency: cc, Service: mustDist(t, tc.service),
						Startup: scenarios.Startup{AppInit: mustDist(t, "lognormal:median=400ms,sigma=0.5"), ReadinessPeriod: 100 * time.Millisecond}}},
				}
				res, err := Run(context.Background(), sc, scenarios.Policy{Name: "keepalive", Settings: tc.set}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				s := res.Summary
				if s.ColdStarts != s.PodStarts || s.ColdStarts == 0 {
					t.Errorf("seed %d, containerConcurrency %d: %d cold starts, %d pod starts; want them equal and > 0", seed, cc, s.ColdStarts, s.PodStarts)
				}
				if seed == 1 {
					t.Logf("%d requests, %d dropped, %d cold starts = %d pod starts, max %d pods", s.Requests, s.Dropped, s.ColdStarts, s.PodStarts, s.MaxPods)
				}
			}
		})
	}
}
