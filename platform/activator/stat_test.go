package activator

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/scalebench/scalebench/platform/queueproxy"
)

// TestCollectIsExactTimeAverage drives the accounting with explicit times:
// the interval's Concurrency must be the time-average of requests held
// (waiting or proxied), as the simulator computes it. The case is the one
// that made the local platform over-provision in panic: ten requests wait
// for a pod that becomes ready at 0.9 s and serve them until the end of
// the second. Each was in flight the whole second, so the average is 10 —
// not the waiting average (9) plus the new pod's average over its own
// 0.1 s of life (10) that the platform used to add up.
func TestCollectIsExactTimeAverage(t *testing.T) {
	a, err := New(Config{Revision: "r"})
	if err != nil {
		t.Fatal(err)
	}
	// After New's own clock reading, so the first Collect opens the interval.
	t0 := time.Now().Add(time.Hour)
	a.Collect(t0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for range 10 {
		a.account(at(0), 1, 0, true)
		a.account(at(0), 0, 1, false)
	}
	// One more request comes and goes within the second: 0.2 s in flight.
	a.account(at(500), 1, 0, true)
	a.account(at(700), -1, 0, false)
	for range 10 {
		a.account(at(900), 0, -1, false) // dispatched to the new pod
	}

	s := a.Collect(at(1000))
	if want := 10.2; math.Abs(s.Concurrency-want) > 1e-9 {
		t.Errorf("Concurrency %v, want %v", s.Concurrency, want)
	}
	if want := 9.0; math.Abs(s.Waiting-want) > 1e-9 {
		t.Errorf("Waiting %v, want %v", s.Waiting, want)
	}
	if s.MaxInFlight != 11 || s.Arrivals != 11 {
		t.Errorf("MaxInFlight %d Arrivals %d, want 11 and 11", s.MaxInFlight, s.Arrivals)
	}

	// The next interval starts from the ten still in flight, and a change
	// stamped before the last one adds no negative area.
	a.account(at(1500), -10, 0, false)
	a.account(at(1400), 0, 0, false)
	s = a.Collect(at(2000))
	if want := 5.0; math.Abs(s.Concurrency-want) > 1e-9 {
		t.Errorf("second interval: Concurrency %v, want %v", s.Concurrency, want)
	}
	if s.MaxInFlight != 10 || s.Arrivals != 0 {
		t.Errorf("second interval: MaxInFlight %d Arrivals %d, want 10 and 0", s.MaxInFlight, s.Arrivals)
	}
}

// TestPickFollowsKnativePolicy: round robin over pods with room above
// containerConcurrency 3 (the simulator's routing too), first available
// from 1 to 3.
func TestPickFollowsKnativePolicy(t *testing.T) {
	cases := []struct {
		cc   int
		want []int // pod index of each successive pick
	}{
		{10, []int{0, 1, 2, 0, 1, 2}},
		{2, []int{0, 0, 1, 1, 2, 2}},
	}
	for _, tc := range cases {
		a, err := New(Config{Revision: "r", ContainerConcurrency: tc.cc})
		if err != nil {
			t.Fatal(err)
		}
		var ps []*queueproxy.Proxy
		for i := range 3 {
			p, err := queueproxy.New(queueproxy.Config{Pod: fmt.Sprint("p", i), Addr: "127.0.0.1:1", ContainerConcurrency: tc.cc})
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
			a.AddPod(p)
		}
		var got []int
		for range tc.want {
			p := a.pick(nil)
			got = append(got, slices.Index(ps, p))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("cc %d: picked pods %v, want %v", tc.cc, got, tc.want)
		}
	}
	// Round robin skips a full pod and an excluded one.
	a, _ := New(Config{Revision: "r", ContainerConcurrency: 4})
	var ps []*queueproxy.Proxy
	for i := range 3 {
		p, _ := queueproxy.New(queueproxy.Config{Pod: fmt.Sprint("p", i), Addr: "127.0.0.1:1", ContainerConcurrency: 4})
		ps = append(ps, p)
		a.AddPod(p)
	}
	for range 4 {
		ps[1].TryAcquire()
	}
	if p := a.pick(ps[0]); p != ps[2] {
		t.Errorf("with p0 excluded and p1 full picked %v, want p2", p.Pod())
	}
}
