package simulator

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// TestPodLimit: the platform never holds more pods than its capacity, and
// the summary says when the capacity bound, as a full cluster's pending
// pods would.
func TestPodLimit(t *testing.T) {
	cases := []struct {
		name      string
		pattern   string
		functions int
		length    time.Duration
		cc        int
		service   string
		policy    scenarios.Policy
		limit     int
		want      int // the limit in force
		binds     bool
		maxPods   int // when the limit does not bind
		requests  int64
	}{
		{name: "kpa min-scale above the capacity", pattern: "constant:rate=10", length: 10 * time.Second, service: "fixed:100ms",
			policy: scenarios.Policy{Name: "knative", Settings: map[string]string{"min-scale": "500"}}, limit: 100, want: 100, binds: true},
		{name: "lambda instances at the capacity", pattern: "constant:rate=1000", length: 5 * time.Second, cc: 1, service: "fixed:60s",
			policy: scenarios.Policy{Name: "keepalive"}, limit: 200, want: 200, binds: true},
		// The capacity is the platform's, shared by its functions.
		{name: "default capacity across two functions", functions: 2, length: 3 * time.Second, service: "fixed:100ms",
			policy: scenarios.Policy{Name: "knative", Settings: map[string]string{"min-scale": "60000"}}, want: DefaultMaxPods, binds: true},
		// The reproduction, shorter: one request per pod,
		// minute-long requests at 1e5 req/s once asked for 6.4 M pods.
		{name: "1e5 req/s of minute-long requests", pattern: "constant:rate=100000", length: 2 * time.Second, cc: 1, service: "fixed:60s",
			policy: scenarios.Policy{Name: "knative"}, want: DefaultMaxPods, maxPods: -1},
		{name: "a limit that does not bind is not reported", pattern: "constant:rate=10", length: 10 * time.Second, service: "fixed:100ms",
			policy: scenarios.Policy{Name: "knative", Settings: map[string]string{"min-scale": "5"}}, limit: 100, want: 100, maxPods: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var pat traffic.Pattern = poissonPair{rate: [2]float64{1, 1}}
			if tc.pattern != "" {
				var err error
				if pat, err = traffic.Parse(tc.pattern); err != nil {
					t.Fatal(err)
				}
			}
			sc := &scenarios.Scenario{Name: "cap", Duration: tc.length, Seed: 1, Traffic: pat}
			for i := range max(1, tc.functions) {
				sc.Functions = append(sc.Functions, scenarios.Function{Name: string(rune('f' + i)), ContainerConcurrency: tc.cc,
					Service: mustDist(t, tc.service), Startup: scenarios.Startup{AppInit: mustDist(t, "500ms")}})
			}
			res, err := Run(context.Background(), sc, tc.policy, Options{MaxPods: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			t.Logf("max pods %d, pod_limit %d, pods_refused %d, %d requests, %d completed", s.MaxPods, s.PodLimit, s.PodsRefused, s.Requests, s.Completed)
			if s.MaxPods > tc.want {
				t.Errorf("max pods %d above the capacity %d", s.MaxPods, tc.want)
			}
			if tc.binds && (s.PodLimit != tc.want || s.PodsRefused == 0 || s.MaxPods != tc.want || len(s.Warnings) == 0) {
				t.Errorf("pod_limit %d, pods_refused %d, max pods %d, warnings %q; want the limit %d reported", s.PodLimit, s.PodsRefused, s.MaxPods, s.Warnings, tc.want)
			}
			if !tc.binds && (s.PodLimit != 0 || s.PodsRefused != 0 || tc.maxPods >= 0 && s.MaxPods != tc.maxPods) {
				t.Errorf("pod_limit %d, pods_refused %d, max pods %d; want nothing reported and %d pods", s.PodLimit, s.PodsRefused, s.MaxPods, tc.maxPods)
			}
			if s.Completed+s.Dropped != s.Requests {
				t.Errorf("completed %d + dropped %d != %d requests", s.Completed, s.Dropped, s.Requests)
			}
		})
	}
}

// TestDrainLimit: a service time no platform runs (the API, unlike a
// scenario file or flag, does not refuse it) still ends the run DrainLimit
// after the traffic, with the unfinished requests reported.
func TestDrainLimit(t *testing.T) {
	pat, err := traffic.Parse("constant:rate=10")
	if err != nil {
		t.Fatal(err)
	}
	sc := &scenarios.Scenario{Name: "drain", Duration: 10 * time.Second, Seed: 1, Traffic: pat,
		Functions: []scenarios.Function{{Name: "f", Service: mustDist(t, "fixed:1000000h"), Startup: scenarios.Startup{AppInit: mustDist(t, "1s")}}}}
	var rows int
	res, err := Run(context.Background(), sc, scenarios.Policy{Name: "kpa"}, Options{Series: func(Second) { rows++ }})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if want := int((10*time.Second + DrainLimit) / time.Second); rows != want {
		t.Errorf("%d seconds simulated, want %d", rows, want)
	}
	if s.Unfinished != s.Requests || s.Requests != 100 || s.Completed != 0 || len(s.Warnings) == 0 {
		t.Errorf("requests %d, completed %d, unfinished %d, warnings %q; want all 100 unfinished and a warning", s.Requests, s.Completed, s.Unfinished, s.Warnings)
	}
}

// burst is a traffic source of n arrivals at one instant that cancels the
// run's context after the first few: the run must notice within the
// second, not after the n arrivals.
type burst struct {
	n, cancelAt, sent int
	cancel            func()
}

func (b *burst) Arrivals(int64, time.Duration) traffic.Source { return b }
func (b *burst) Rate(time.Duration) float64                   { return 0 }
func (b *burst) String() string                               { return "burst" }
func (b *burst) Next() (traffic.Arrival, bool) {
	if b.sent >= b.n {
		return traffic.Arrival{}, false
	}
	if b.sent++; b.sent == b.cancelAt {
		b.cancel()
	}
	return traffic.Arrival{At: 500 * time.Millisecond}, true
}

func TestCancelWithinASecond(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &burst{n: 5_000_000, cancelAt: 1000, cancel: cancel}
	sc := &scenarios.Scenario{Name: "burst", Duration: 10 * time.Second, Seed: 1, Traffic: src,
		Functions: []scenarios.Function{{Name: "f", Service: mustDist(t, "10ms")}}}
	_, err := Run(ctx, sc, scenarios.Policy{Name: "kpa"}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if src.sent > 200_000 {
		t.Errorf("%d arrivals taken after the cancel at %d; want the run stopped within 64k events", src.sent, src.cancelAt)
	}
}
