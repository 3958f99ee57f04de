package bench

import (
	"testing"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/autoscaler/controller"
)

// TestPodsPerSecond checks that seconds between a policy's ticks keep the
// last tick's pods (not zero) and that revisions add up.
func TestPodsPerSecond(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tick := func(ms int, rev string, desired, ready int) controller.Tick {
		return controller.Tick{Time: t0.Add(time.Duration(ms) * time.Millisecond), Revision: rev,
			Decision: autoscaler.Decision{Desired: desired}, Pods: autoscaler.Pods{Ready: ready}}
	}
	ticks := []controller.Tick{
		tick(0, "a", 1, 1), tick(100, "b", 2, 0),
		tick(2000, "a", 3, 1), tick(2100, "b", 2, 2),
		tick(4000, "a", 0, 0),
	}
	got := podsPerSecond(ticks, t0, 5*time.Second)
	want := []podCount{{3, 1}, {3, 1}, {5, 3}, {5, 3}, {2, 2}}
	if len(got) != len(want) {
		t.Fatalf("%d seconds, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("second %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
