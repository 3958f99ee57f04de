package simulator

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// scripted is a test-only policy: it wants plan(t) pods, and on a poke it
// wants at least onPoke pods from then on.
type scripted struct {
	name      string
	plan      func(t time.Duration) int
	onPoke    int
	poked     bool
	activator bool
}

func (p *scripted) Name() string            { return p.name }
func (p *scripted) Interval() time.Duration { return time.Second }
func (p *scripted) Record(time.Time, autoscaler.Stat) bool {
	return false
}
func (p *scripted) Poke(time.Time, float64) bool {
	if p.onPoke > 0 && !p.poked {
		p.poked = true
		return true
	}
	return false
}
func (p *scripted) Tick(now time.Time, _ autoscaler.Pods) autoscaler.Decision {
	n := p.plan(now.Sub(epoch))
	if p.poked {
		n = max(n, p.onPoke)
	}
	return autoscaler.Decision{Valid: true, Desired: n, ActivatorInPath: p.activator || n == 0}
}

func constPods(n int) func(time.Duration) int { return func(time.Duration) int { return n } }

// The scripted policies' registry names and the request paths they
// declare. The names match no built-in prefix: the path comes from the
// registry entry alone.
var (
	registerScripted sync.Once
	scriptedPaths    = map[string]autoscaler.RequestPath{
		"scripted-activator": autoscaler.PathActivator,
		"scripted-gateway":   autoscaler.PathGateway,
		"scripted-direct":    autoscaler.PathDirect,
	}
)

func scriptedPolicies(t testing.TB) {
	t.Helper()
	registerScripted.Do(func() {
		for name, path := range scriptedPaths {
			err := autoscaler.Register(name, "test policy: a fixed number of pods", path, func(map[string]string) (autoscaler.Policy, error) {
				return &scripted{name: name, plan: constPods(1)}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// list is a test pattern replaying fixed arrivals.
type list []traffic.Arrival

func (l list) Arrivals(int64, time.Duration) traffic.Source { return &listSource{l: l} }
func (l list) Rate(time.Duration) float64                   { return 0 }
func (l list) String() string                               { return "list" }

type listSource struct {
	l list
	i int
}

func (s *listSource) Next() (traffic.Arrival, bool) {
	if s.i >= len(s.l) {
		return traffic.Arrival{}, false
	}
	s.i++
	return s.l[s.i-1], true
}

func mustDist(t testing.TB, spec string) dist.Dist {
	t.Helper()
	d, err := dist.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type row struct {
	id              int64
	arr, start, end float64
	cold            bool
	status          string
}

func parseRequests(t testing.TB, b []byte) []row {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []row
	for _, r := range recs[1:] {
		f := func(i int) float64 {
			v, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		id, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, row{id: id, arr: f(2), start: f(3), end: f(4), cold: r[6] == "1", status: r[7]})
	}
	return out
}

func ms(d int) time.Duration { return time.Duration(d) * time.Millisecond }

// TestRequestPath checks each platform family's path and the cold-start
// definition on hand-computed cases.
func TestRequestPath(t *testing.T) {
	type want struct {
		status string
		cold   bool
		start  float64 // seconds
	}
	cases := []struct {
		name      string
		policy    string
		settings  map[string]string // for a registered policy (plan == nil)
		plan      func(time.Duration) int
		onPoke    int
		activator scenarios.Activator
		startup   string
		period    time.Duration
		cc        int
		service   string
		arrivals  []time.Duration
		want      []want
		podSecs   float64
		drops     map[string]int64 // why requests were dropped, when any were
	}{
		{
			name: "knative activator holds at zero until the pod is ready", policy: "scripted-activator",
			plan: constPods(0), onPoke: 1, startup: "fixed:1s", service: "fixed:10ms",
			arrivals: []time.Duration{ms(500)},
			want:     []want{{"ok", true, 1.5}},
			podSecs:  2.5, // created at 0.5 s, alive until the run ends at 3 s
		},
		{
			name: "readiness is seen at the next probe period", policy: "scripted-activator",
			plan: constPods(0), onPoke: 1, startup: "fixed:1050ms", period: ms(500), service: "fixed:10ms",
			arrivals: []time.Duration{ms(500)},
			want:     []want{{"ok", true, 2.0}},
			podSecs:  2.5,
		},
		{
			name: "openfaas gateway releases on its next 100 ms poll", policy: "scripted-gateway",
			plan: constPods(0), onPoke: 1, startup: "fixed:1050ms", service: "fixed:10ms",
			arrivals: []time.Duration{ms(500), ms(530)},
			// Ready at 1.55 s: polls at 0.5+k·0.1 and 0.53+k·0.1.
			want:    []want{{"ok", true, 1.6}, {"ok", true, 1.63}},
			podSecs: 2.5,
		},
		{
			name: "hpa with no ready pod has no endpoints", policy: "scripted-direct",
			plan: constPods(0), onPoke: 1, startup: "fixed:1s", service: "fixed:10ms",
			arrivals: []time.Duration{ms(500)},
			want:     []want{{"dropped", false, 0.5}},
			podSecs:  2.5,
			drops:    map[string]int64{"no_endpoints": 1},
		},
		{
			// B is started for the second request although A frees at
			// 1.4 s; A is retired at 2.4 s, B lives to the end at 3 s.
			name: "lambda binds a request that finds no idle instance to a new one", policy: "keepalive",
			settings: map[string]string{"keep-alive": "1s"}, cc: 1, startup: "fixed:1s", service: "fixed:300ms",
			arrivals: []time.Duration{ms(100), ms(1200)},
			want:     []want{{"ok", true, 1.1}, {"ok", true, 2.2}},
			podSecs:  2.3 + 1.8,
		},
		{
			name: "lambda: first-free routing (the old behaviour) gives it the instance that frees first", policy: "keepalive",
			settings: map[string]string{"keep-alive": "1s", "routing": "first-free"}, cc: 1, startup: "fixed:1s", service: "fixed:300ms",
			arrivals: []time.Duration{ms(100), ms(1200)},
			want:     []want{{"ok", true, 1.1}, {"ok", false, 1.4}},
			podSecs:  2.9 + 1.8,
		},
		{
			// Idle from 0.4 s; used again 0.6 s later, retired at 2.1 s.
			name: "lambda: an instance idle for keep-alive - 0.4 s serves warm", policy: "keepalive",
			settings: map[string]string{"keep-alive": "1s"}, startup: "fixed:200ms", service: "fixed:100ms",
			arrivals: []time.Duration{ms(100), ms(1000)},
			want:     []want{{"ok", true, 0.3}, {"ok", false, 1.0}},
			podSecs:  2.0,
		},
		{
			// Idle from 0.4 s, retired at 1.4 s: the request at 1.8 s
			// starts a new instance, alive to the end at 3 s.
			name: "lambda: an instance idle for keep-alive + 0.4 s is gone", policy: "keepalive",
			settings: map[string]string{"keep-alive": "1s"}, startup: "fixed:200ms", service: "fixed:100ms",
			arrivals: []time.Duration{ms(100), ms(1800)},
			want:     []want{{"ok", true, 0.3}, {"ok", true, 2.0}},
			podSecs:  1.3 + 1.2,
		},
		{
			name: "activator queue depth drops the overflow", policy: "scripted-activator",
			plan: constPods(0), onPoke: 1, startup: "fixed:1s", service: "fixed:10ms",
			activator: scenarios.Activator{QueueDepth: 1},
			arrivals:  []time.Duration{ms(100), ms(200)},
			want:      []want{{"ok", true, 1.1}, {"dropped", false, 0.2}},
			podSecs:   2.9,
			drops:     map[string]int64{"queue_full": 1},
		},
		{
			name: "activator timeout drops a request waiting too long", policy: "scripted-activator",
			plan: constPods(0), onPoke: 1, startup: "fixed:1s", service: "fixed:10ms",
			activator: scenarios.Activator{Timeout: ms(400)},
			arrivals:  []time.Duration{ms(100), ms(900)},
			want:      []want{{"dropped", false, 0.5}, {"ok", true, 1.1}},
			podSecs:   2.9,
			drops:     map[string]int64{"timeout": 1},
		},
		{
			name: "a timeout while the policy holds its pods is the replica cap", policy: "knative-test",
			plan: constPods(1), startup: "fixed:1s", cc: 1, service: "fixed:2s",
			activator: scenarios.Activator{Timeout: ms(400)},
			arrivals:  []time.Duration{ms(100), ms(100)},
			want:      []want{{"ok", false, 0.1}, {"dropped", false, 0.5}},
			podSecs:   3,
			drops:     map[string]int64{"replica_cap": 1},
		},
		{
			name: "waiting for a busy pod is queueing, not a cold start", policy: "scripted-activator",
			plan: constPods(1), startup: "fixed:1s", cc: 1, service: "fixed:100ms",
			arrivals: []time.Duration{ms(100), ms(100)},
			want:     []want{{"ok", false, 0.1}, {"ok", false, 0.2}},
			podSecs:  3,
		},
		{
			name: "scale-down drains in-flight requests before the pod goes", policy: "scripted-activator",
			plan: func(t time.Duration) int {
				if t < time.Second {
					return 1
				}
				return 0
			},
			startup: "fixed:1s", service: "fixed:2s",
			arrivals: []time.Duration{ms(100)},
			want:     []want{{"ok", false, 0.1}},
			podSecs:  2.1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var arr list
			for _, a := range tc.arrivals {
				arr = append(arr, traffic.Arrival{At: a})
			}
			sc := &scenarios.Scenario{
				Name: tc.name, Duration: 3 * time.Second, Seed: 1, Traffic: arr, Activator: tc.activator,
				Functions: []scenarios.Function{{
					Name: "f", ContainerConcurrency: tc.cc, Service: mustDist(t, tc.service),
					Startup: scenarios.Startup{AppInit: mustDist(t, tc.startup), ReadinessPeriod: tc.period},
				}},
			}
			var reqs bytes.Buffer
			opt := Options{Requests: &reqs}
			if tc.plan != nil {
				scriptedPolicies(t)
				opt.NewPolicy = func(int, scenarios.Function) (autoscaler.Policy, error) {
					return &scripted{name: tc.policy, plan: tc.plan, onPoke: tc.onPoke}, nil
				}
			}
			res, err := Run(context.Background(), sc, scenarios.Policy{Name: tc.policy, Settings: tc.settings}, opt)
			if err != nil {
				t.Fatal(err)
			}
			rows := parseRequests(t, reqs.Bytes())
			if len(rows) != len(tc.want) {
				t.Fatalf("got %d request rows, want %d:\n%s", len(rows), len(tc.want), reqs.String())
			}
			// Rows come in completion order; put them in arrival order, as
			// the cases list them.
			sort.SliceStable(rows, func(i, j int) bool {
				return rows[i].arr < rows[j].arr || rows[i].arr == rows[j].arr && rows[i].start < rows[j].start
			})
			for i, w := range tc.want {
				r := rows[i]
				if !near(r.arr, tc.arrivals[i].Seconds()) || r.status != w.status || r.cold != w.cold || !near(r.start, w.start) {
					t.Errorf("request %d: got %+v, want arrival %.3f s, status %s, cold %v, start %.3f s", i, r, tc.arrivals[i].Seconds(), w.status, w.cold, w.start)
				}
			}
			var cold int64
			for _, w := range tc.want {
				if w.cold {
					cold++
				}
			}
			if s := res.Summary; s.ColdStarts != cold || s.Completed+s.Dropped != s.Requests || !near(s.PodSeconds, tc.podSecs) {
				t.Errorf("summary: cold %d, completed %d + dropped %d of %d, pod-seconds %.3f; want cold %d, pod-seconds %.3f",
					s.ColdStarts, s.Completed, s.Dropped, s.Requests, s.PodSeconds, cold, tc.podSecs)
			}
			if got := res.Summary.DropReasons; !maps.Equal(got, tc.drops) {
				t.Errorf("drop reasons %v, want %v", got, tc.drops)
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

// poissonPair is a test pattern: two functions with Poisson arrivals.
type poissonPair struct{ rate [2]float64 }

func (p poissonPair) Rate(time.Duration) float64 { return p.rate[0] + p.rate[1] }
func (p poissonPair) String() string             { return "poisson pair" }
func (p poissonPair) Arrivals(seed int64, d time.Duration) traffic.Source {
	s := &pairSource{p: p, d: float64(d), r: rand.New(rand.NewPCG(uint64(seed), 99))}
	s.next[0] = s.r.ExpFloat64() / p.rate[0] * 1e9
	s.next[1] = s.r.ExpFloat64() / p.rate[1] * 1e9
	return s
}

type pairSource struct {
	p    poissonPair
	d    float64
	r    *rand.Rand
	next [2]float64
}

func (s *pairSource) Next() (traffic.Arrival, bool) {
	i := 0
	if s.next[1] < s.next[0] {
		i = 1
	}
	at := s.next[i]
	if at >= s.d {
		return traffic.Arrival{}, false
	}
	s.next[i] += s.r.ExpFloat64() / s.p.rate[i] * 1e9
	return traffic.Arrival{At: time.Duration(at), Function: i}, true
}

// TestDeterministic runs the real KPA twice on two functions and wants
// byte-identical outputs.
func TestDeterministic(t *testing.T) {
	run := func() ([]byte, []byte, []byte) {
		sc := &scenarios.Scenario{
			Name: "det", Duration: 5 * time.Minute, Seed: 7, Traffic: poissonPair{rate: [2]float64{40, 3}},
			Functions: []scenarios.Function{
				{Name: "busy", ContainerConcurrency: 4, Service: mustDist(t, "exp:mean=150ms"),
					Startup: scenarios.Startup{ContainerStart: mustDist(t, "lognormal:median=400ms,sigma=0.3"), ReadinessPeriod: time.Second}},
				{Name: "sparse", ContainerConcurrency: 1, Service: mustDist(t, "lognormal:median=80ms,sigma=0.5"),
					Startup: scenarios.Startup{AppInit: mustDist(t, "exp:mean=700ms")}},
			},
		}
		var ts, rq bytes.Buffer
		res, err := Run(context.Background(), sc, scenarios.Policy{Name: "kpa"}, Options{Timeseries: &ts, Requests: &rq})
		if err != nil {
			t.Fatal(err)
		}
		s := res.Summary
		s.SimWallSeconds, s.SimRequestsPerSecond = 0, 0
		return []byte(strconv.Quote(func() string { b, _ := jsonBytes(s); return string(b) }())), ts.Bytes(), rq.Bytes()
	}
	s1, ts1, rq1 := run()
	s2, ts2, rq2 := run()
	for _, c := range []struct {
		name string
		a, b []byte
	}{{"summary", s1, s2}, {"timeseries", ts1, ts2}, {"requests", rq1, rq2}} {
		if !bytes.Equal(c.a, c.b) {
			t.Errorf("%s differs between two runs with the same seed", c.name)
		}
		if len(c.a) < 100 {
			t.Errorf("%s is suspiciously short: %q", c.name, c.a)
		}
	}
	if !bytes.Contains(ts1, []byte("t,function,")) || !bytes.Contains(ts1, []byte(",sparse,")) {
		t.Errorf("multi-function timeseries lacks the function column:\n%.300s", ts1)
	}
}

func TestBadInput(t *testing.T) {
	fn := func() []scenarios.Function {
		return []scenarios.Function{{Name: "f", Service: mustDist(t, "10ms")}}
	}
	cases := []struct {
		name string
		sc   *scenarios.Scenario
		pol  string
	}{
		{"arrival for a missing function", &scenarios.Scenario{Duration: time.Second, Functions: fn(),
			Traffic: list{{At: ms(1), Function: 3}}}, "kpa"},
		{"arrivals out of order", &scenarios.Scenario{Duration: time.Second, Functions: fn(),
			Traffic: list{{At: ms(5)}, {At: ms(1)}}}, "kpa"},
		{"no functions", &scenarios.Scenario{Duration: time.Second, Traffic: list{}}, "kpa"},
		{"no service time", &scenarios.Scenario{Duration: time.Second, Traffic: list{},
			Functions: []scenarios.Function{{Name: "f"}}}, "kpa"},
		{"unknown policy", &scenarios.Scenario{Duration: time.Second, Functions: fn(), Traffic: list{}}, "no-such-policy"},
		{"zero duration", &scenarios.Scenario{Functions: fn(), Traffic: list{}}, "kpa"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.sc, scenarios.Policy{Name: tc.pol}, Options{})
			if !badinput.Is(err) {
				t.Fatalf("got %v, want a *badinput.Error", err)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sc := &scenarios.Scenario{Duration: time.Hour, Traffic: list{{At: ms(1)}},
		Functions: []scenarios.Function{{Name: "f", Service: mustDist(t, "10ms")}}}
	if _, err := Run(ctx, sc, scenarios.Policy{Name: "kpa"}, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }
