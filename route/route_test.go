package route

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/scalebench/scalebench/scenarios"
)

func pct(p ...int) []int { return p }

func TestUpdateWaitsForReady(t *testing.T) {
	steps := []scenarios.SplitStep{
		{At: 0, Percent: pct(100, 0), Rollout: -1},
		{At: time.Minute, Percent: pct(50, 50), Rollout: -1},
	}
	var changes []string
	r := New(steps, 2, func(now time.Duration, p []int) { changes = append(changes, fmt.Sprint(now, p)) })
	ready := []bool{true, false}
	isReady := func(i int) bool { return ready[i] }
	for _, tc := range []struct {
		name  string
		now   time.Duration
		ready bool // v2's readiness from then on
		want  string
	}{
		{"first split at 0", 0, false, "[100 0]"},
		{"due, v2 not Ready: the previous split stays", time.Minute, false, "[100 0]"},
		{"still waiting", time.Minute + time.Second, false, "[100 0]"},
		{"v2 Ready: the step applies", time.Minute + 2*time.Second, true, "[50 50]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready[1] = tc.ready
			if _, ok := r.Update(tc.now, isReady); ok {
				t.Error("a percent step asked for a rollout wake")
			}
			if got := fmt.Sprint(r.Percent()); got != tc.want {
				t.Errorf("split %s, want %s", got, tc.want)
			}
		})
	}
	if want := "[0s [100 0] 1m2s [50 50]]"; fmt.Sprint(changes) != want {
		t.Errorf("changes %v, want %s", changes, want)
	}
}

// A 10 s rollout: 1% first, the steps fixed 1 s later (9 of 11%, one a
// second), drained from the old revision.
func TestGradualRollout(t *testing.T) {
	steps := []scenarios.SplitStep{
		{At: 0, Percent: pct(100, 0), Rollout: -1},
		{At: 5 * time.Second, Rollout: 1, RolloutDuration: 10 * time.Second},
	}
	r := New(steps, 2, nil)
	all := func(int) bool { return true }
	r.Update(0, all)
	w, ok := r.Update(5*time.Second, all)
	if !ok || w.At != 6*time.Second || fmt.Sprint(r.Percent()) != "[99 1]" {
		t.Fatalf("start: wake %v %v, split %v; want a wake at 6s and [99 1]", w, ok, r.Percent())
	}
	var got []string
	for ok {
		w, ok = r.Advance(w.At, w.Gen)
		got = append(got, fmt.Sprint(r.Percent()))
		if ok && len(got) > 1 && w.At-time.Duration(len(got)-1)*time.Second != 7*time.Second {
			t.Errorf("step %d wakes at %v", len(got), w.At)
		}
	}
	want := "[[99 1] [88 12] [77 23] [66 34] [55 45] [44 56] [33 67] [22 78] [11 89] [0 100]]"
	if fmt.Sprint(got) != want || r.Rolling() {
		t.Errorf("steps %v (rolling %v), want %s", got, r.Rolling(), want)
	}
}

func TestNewStepCancelsRollout(t *testing.T) {
	steps := []scenarios.SplitStep{
		{At: 0, Percent: pct(100, 0), Rollout: -1},
		{At: time.Second, Rollout: 1, RolloutDuration: time.Minute},
		{At: 10 * time.Second, Percent: pct(100, 0), Rollout: -1},
	}
	r := New(steps, 2, nil)
	all := func(int) bool { return true }
	r.Update(0, all)
	w, _ := r.Update(time.Second, all)
	w, _ = r.Advance(w.At, w.Gen)
	r.Update(10*time.Second, all)
	if _, ok := r.Advance(w.At, w.Gen); ok || fmt.Sprint(r.Percent()) != "[100 0]" {
		t.Errorf("after the rollback the old rollout moved on: %v", r.Percent())
	}
}

func TestPickDrawsOnlyWhenSplit(t *testing.T) {
	r := New([]scenarios.SplitStep{{At: 0, Percent: pct(0, 100), Rollout: -1}}, 2, nil)
	r.Update(0, func(int) bool { return true })
	a, b := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	for range 10 {
		if i := r.Pick(a); i != 1 {
			t.Fatalf("picked %d, want the revision with the whole route", i)
		}
	}
	if a.Uint64() != b.Uint64() {
		t.Error("a route with one revision in force drew from the stream")
	}
	r = New([]scenarios.SplitStep{{At: 0, Percent: pct(30, 70), Rollout: -1}}, 2, nil)
	r.Update(0, func(int) bool { return true })
	n := [2]int{}
	for range 10000 {
		n[r.Pick(a)]++
	}
	if n[0] < 2800 || n[0] > 3200 {
		t.Errorf("30%% share got %d of 10000", n[0])
	}
}

func TestApplyRollout(t *testing.T) {
	steps := []scenarios.SplitStep{
		{At: 0, Percent: pct(100, 0), Rollout: -1},
		{At: time.Minute, Rollout: 1},
		{At: 4 * time.Minute, Percent: pct(100, 0), Rollout: -1},
	}
	for _, tc := range []struct {
		name string
		ro   scenarios.Rollout
		want string
	}{
		{"gradual: the variant's duration", scenarios.Rollout{Duration: 5 * time.Minute},
			"[{0s [100 0] -1 0s} {1m0s [] 1 5m0s} {4m0s [100 0] -1 0s}]"},
		{"canary: steps up to the schedule's next", scenarios.Rollout{Steps: []scenarios.CanaryStep{{After: 0, Percent: 10}, {After: 2 * time.Minute, Percent: 50}, {After: 4 * time.Minute, Percent: 100}}},
			"[{0s [100 0] -1 0s} {1m0s [90 10] -1 0s} {3m0s [50 50] -1 0s} {4m0s [100 0] -1 0s}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(ApplyRollout(steps, tc.ro, 2)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestVariantSettings(t *testing.T) {
	base := map[string]string{"target": "10"}
	for _, tc := range []struct {
		name    string
		ro      scenarios.Rollout
		want    string
		pods    int
		changed bool
	}{
		{"none", scenarios.Rollout{}, "map[target:10]", 0, false},
		{"initial-scale 3", scenarios.Rollout{InitialScale: 3}, "map[initial-scale:3 target:10]", 3, true},
		{"match: the others' 7 pods", scenarios.Rollout{MatchInitialScale: true, MatchMinScale: true}, "map[initial-scale:7 min-scale:7 target:10]", 7, true},
		{"settings only", scenarios.Rollout{Settings: map[string]string{"scale-down-delay": "1m"}}, "map[scale-down-delay:1m target:10]", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, pods, changed := VariantSettings(tc.ro, base, 7)
			if fmt.Sprint(set) != tc.want || pods != tc.pods || changed != tc.changed {
				t.Errorf("got %v, %d, %v; want %s, %d, %v", set, pods, changed, tc.want, tc.pods, tc.changed)
			}
		})
	}
	if fmt.Sprint(base) != "map[target:10]" {
		t.Errorf("the revision's own settings changed: %v", base)
	}
}
