package activator

import (
	"context"
	"github.com/scalebench/scalebench/internal/wire"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/scalebench/scalebench/scenarios"
)

func pctStep(at time.Duration, p ...int) scenarios.SplitStep {
	return scenarios.SplitStep{At: at, Percent: p, Rollout: -1}
}

// The router applies the schedule's events at their own times, whenever it
// is read: steps, revisions becoming Ready, a rollout's steps.
func TestRouterFollowsTheSchedule(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	type event struct {
		at    time.Duration
		ready string // a revision getting its initial-scale endpoints
		want  []int  // the split read at this time
	}
	cases := []struct {
		name   string
		steps  []scenarios.SplitStep
		events []event
	}{
		{"blue-green waits for green", []scenarios.SplitStep{pctStep(0, 100, 0), pctStep(10*time.Second, 0, 100)}, []event{
			{at: 0, ready: "blue", want: []int{100, 0}},
			{at: 12 * time.Second, want: []int{100, 0}},
			{at: 15 * time.Second, ready: "green", want: []int{0, 100}},
		}},
		{"canary", []scenarios.SplitStep{pctStep(0, 90, 10), pctStep(time.Minute, 50, 50)}, []event{
			{at: 0, ready: "blue"},
			{at: time.Second, ready: "green", want: []int{90, 10}},
			{at: 2 * time.Minute, want: []int{50, 50}},
		}},
		{"gradual rollout over 10 s, stepped while nobody read it", []scenarios.SplitStep{pctStep(0, 100, 0), {At: 30 * time.Second, Rollout: 1, RolloutDuration: 10 * time.Second}}, []event{
			{at: 0, ready: "blue"},
			{at: 5 * time.Second, ready: "green", want: []int{100, 0}},
			{at: 30 * time.Second, want: []int{99, 1}},
			// 1 s to observe, then 11% a second.
			{at: 32*time.Second + time.Millisecond, want: []int{88, 12}},
			{at: 36 * time.Second, want: []int{44, 56}},
			{at: time.Minute, want: []int{0, 100}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, err := newRouter(Route{Name: "fn", Revisions: []string{"blue", "green"}, Steps: c.steps, Start: start})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range c.events {
				if e.ready != "" {
					rt.endpoints(e.ready, 1, at(e.at))
				}
				if e.want == nil {
					continue
				}
				rt.advance(at(e.at))
				if got := rt.sp.Percent(); got[0] != e.want[0] || got[1] != e.want[1] {
					t.Fatalf("at %v: split %v, want %v", e.at, got, e.want)
				}
			}
		})
	}
}

func TestRouteRejects(t *testing.T) {
	cases := []struct {
		name string
		r    Route
		want string
	}{
		{"no revisions", Route{Name: "fn"}, "revisions"},
		{"named as a revision", Route{Name: "a", Revisions: []string{"a", "b"}, Steps: []scenarios.SplitStep{pctStep(0, 50, 50)}}, "also the name"},
		{"no split", Route{Name: "fn", Revisions: []string{"a", "b"}}, "no split"},
		{"step too short", Route{Name: "fn", Revisions: []string{"a", "b"}, Steps: []scenarios.SplitStep{pctStep(0, 100)}}, "does not fit"},
		{"initial scales", Route{Name: "fn", Revisions: []string{"a"}, InitialScale: []int{1, 1}}, "initial scales"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := newRouter(c.r); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming %q", err, c.want)
			}
		})
	}
}

// Requests to the route's name are split across the revisions' endpoints;
// a revision's own name still reaches it alone.
func TestServeHTTPSplitsARoute(t *testing.T) {
	pod := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
	}
	blue, green := pod("blue"), pod("green")
	defer blue.Close()
	defer green.Close()
	client := fake.NewClientset(slice("blue", blue.Listener.Addr().String()), slice("green", green.Listener.Addr().String()))
	a, err := New(Config{Client: client, Namespace: "fns"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	waitFor(t, func() bool { return len(a.Endpoints("blue")) == 1 && len(a.Endpoints("green")) == 1 })
	if err := a.SetRoute(Route{Name: "fn", Revisions: []string{"blue", "green"}, Steps: []scenarios.SplitStep{pctStep(0, 90, 10)}, Start: time.Now(), Seed: 7}); err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(a)
	defer front.Close()
	var named string // the last response's X-Revision
	get := func(path string) string {
		resp, err := http.Get(front.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		named = resp.Header.Get(wire.HeaderRevision)
		return string(b)
	}
	counts := map[string]int{}
	const n = 1000
	for range n {
		got := get("/fns/fn/")
		counts[got]++
		// The load generator's per-revision figures read this header.
		if named != got {
			t.Fatalf("a response from %s names revision %q", got, named)
		}
	}
	// Binomial(1000, 0.1): sd 9.5; the seeded draw is fixed, the bound
	// is 4 sd either way.
	if counts["green"] < 62 || counts["green"] > 138 || counts["blue"]+counts["green"] != n {
		t.Fatalf("90/10 split gave %v", counts)
	}
	if got := get("/fns/green/"); got != "green" {
		t.Fatalf("a revision's own path went to %q", got)
	}
	if s := a.Split("fn"); s["blue"] != 90 || s["green"] != 10 {
		t.Fatalf("Split = %v", s)
	}
}
