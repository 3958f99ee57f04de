package split

import (
	"slices"
	"testing"
	"time"

	"github.com/scalebench/scalebench/scenarios"
)

func pct(at time.Duration, p ...int) scenarios.SplitStep {
	return scenarios.SplitStep{At: at, Percent: p, Rollout: -1}
}

func TestUpdate(t *testing.T) {
	all := func(int) bool { return true }
	only0 := func(i int) bool { return i == 0 }
	cases := []struct {
		name  string
		steps []scenarios.SplitStep
		n     int
		now   time.Duration
		ready func(int) bool
		want  []int
		moved bool
	}{
		{"no schedule: revision 0 has it all", nil, 1, 0, all, []int{100}, false},
		{"first step at 0", []scenarios.SplitStep{pct(0, 90, 10)}, 2, 0, all, []int{90, 10}, true},
		{"a step not due yet", []scenarios.SplitStep{pct(0, 100, 0), pct(time.Minute, 0, 100)}, 2, 59 * time.Second, all, []int{100, 0}, true},
		{"the latest due step wins", []scenarios.SplitStep{pct(0, 100, 0), pct(time.Second, 50, 50), pct(2*time.Second, 0, 100)}, 2, 5 * time.Second, all, []int{0, 100}, true},
		{"a step waits for its revisions", []scenarios.SplitStep{pct(0, 50, 50)}, 2, 0, only0, []int{0, 0}, false},
		{"a revision at 0% need not be ready", []scenarios.SplitStep{pct(0, 100, 0)}, 2, 0, only0, []int{100, 0}, true},
		{"an instant rollout", []scenarios.SplitStep{{At: 0, Rollout: 1}}, 2, 0, all, []int{0, 100}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := New(c.steps, c.n)
			moved, w := r.Update(c.now, c.ready)
			if !slices.Equal(r.Percent(), c.want) || moved != c.moved || w.Gen != 0 {
				t.Fatalf("Update: percent %v moved %v wake %+v, want %v moved %v and no wake", r.Percent(), moved, w, c.want, c.moved)
			}
		})
	}
}

// A step that waited applies once its revision is Ready.
func TestStepWaitsForReady(t *testing.T) {
	r := New([]scenarios.SplitStep{pct(0, 100, 0), pct(10*time.Second, 0, 100)}, 2)
	ready := []bool{true, false}
	r.Update(0, func(i int) bool { return ready[i] })
	r.Update(10*time.Second, func(i int) bool { return ready[i] })
	if got := r.Percent(); !slices.Equal(got, []int{100, 0}) {
		t.Fatalf("before revision 1 is ready: %v", got)
	}
	ready[1] = true
	if moved, _ := r.Update(12*time.Second, func(i int) bool { return ready[i] }); !moved || !slices.Equal(r.Percent(), []int{0, 100}) {
		t.Fatalf("after: moved %v, %v", moved, r.Percent())
	}
}

// A gradual rollout over 10 s: 1%, then after the ingress has observed it
// (1 s), 9 steps of 11% every second (Knative's computeProperties for 9 s
// left, minimum step 1 s).
func TestGradualRollout(t *testing.T) {
	r := New([]scenarios.SplitStep{pct(0, 100, 0), {At: time.Minute, Rollout: 1, RolloutDuration: 10 * time.Second}}, 2)
	all := func(int) bool { return true }
	r.Update(0, all)
	moved, w := r.Update(time.Minute, all)
	if !moved || !slices.Equal(r.Percent(), []int{99, 1}) || w.At != time.Minute+ObserveDelay || w.Gen == 0 {
		t.Fatalf("start: moved %v %v wake %+v", moved, r.Percent(), w)
	}
	moved, w = r.Step(w.At, w.Gen)
	if moved || w.At != time.Minute+ObserveDelay+time.Second {
		t.Fatalf("observe: moved %v wake %+v", moved, w)
	}
	var seen [][]int
	for w.Gen != 0 {
		if _, stale := r.Step(w.At, w.Gen-1); stale.Gen != 0 {
			t.Fatal("a stale rollout's step did something")
		}
		_, w = r.Step(w.At, w.Gen)
		seen = append(seen, slices.Clone(r.Percent()))
	}
	want := [][]int{{88, 12}, {77, 23}, {66, 34}, {55, 45}, {44, 56}, {33, 67}, {22, 78}, {11, 89}, {0, 100}}
	if !slices.EqualFunc(seen, want, slices.Equal) {
		t.Fatalf("steps %v, want %v", seen, want)
	}
	if r.Rolling() {
		t.Fatal("still rolling at 100%")
	}
}

// A later split replaces a rollout in progress: its steps are ignored.
func TestSplitReplacesRollout(t *testing.T) {
	r := New([]scenarios.SplitStep{pct(0, 100, 0), {At: time.Second, Rollout: 1, RolloutDuration: time.Minute}, pct(5*time.Second, 100, 0)}, 2)
	all := func(int) bool { return true }
	r.Update(0, all)
	_, w := r.Update(time.Second, all)
	r.Update(5*time.Second, all)
	if moved, next := r.Step(w.At, w.Gen); moved || next.Gen != 0 || !slices.Equal(r.Percent(), []int{100, 0}) {
		t.Fatalf("replaced rollout stepped: %v %+v %v", moved, next, r.Percent())
	}
}

func TestPick(t *testing.T) {
	r := New([]scenarios.SplitStep{pct(0, 90, 0, 10)}, 3)
	r.Update(0, func(int) bool { return true })
	counts := make([]int, 3)
	for u := range 100 {
		counts[r.Pick(u)]++
	}
	if !slices.Equal(counts, []int{90, 0, 10}) || r.Only() != -1 {
		t.Fatalf("counts %v only %d", counts, r.Only())
	}
	if got := New([]scenarios.SplitStep{pct(0, 0, 100)}, 2).Pick(3); got != -1 {
		t.Fatalf("Pick before any step = %d, want -1", got)
	}
}
