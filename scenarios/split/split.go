package split

import (
	"math"
	"time"

	"github.com/scalebench/scalebench/scenarios"
)

// Route is one function's route: the current split and where the schedule
// stands. The zero value is not usable; make one with New.
type Route struct {
	steps   []scenarios.SplitStep
	next    int // next step of the schedule not yet due
	pending int // a due step waiting for its revisions, -1 when none
	percent []int

	// A gradual rollout in progress (Knative's rollout-duration): order
	// lists the revisions holding traffic, oldest first, the one being
	// rolled out to last.
	rolling  bool
	order    []int
	duration float64 // seconds
	stepSize int
	stepDur  time.Duration
	observed bool
	// gen numbers the rollouts, so a step of one a later split replaced
	// is recognised and ignored.
	gen int64
}

// Wake asks the caller to call Step(At, Gen): the next step of a gradual
// rollout. Gen 0 means there is none.
type Wake struct {
	At  time.Duration
	Gen int64
}

// ObserveDelay is how long after a rollout's first 1% the ingress is
// taken to have programmed it (Knative's ObserveReady): the first Step
// comes this long after the rollout starts.
const ObserveDelay = time.Second

// New is the route of a function with n revisions and the schedule steps
// (times from the start of the run). No revision has traffic until the
// first step applies, except that a route with no steps gives all of it to
// revision 0 (a function without revisions).
func New(steps []scenarios.SplitStep, n int) *Route {
	r := &Route{steps: steps, pending: -1, percent: make([]int, n)}
	if len(steps) == 0 && n > 0 {
		r.percent[0] = 100
	}
	return r
}

// Steps is the schedule the route follows.
func (r *Route) Steps() []scenarios.SplitStep { return r.steps }

// Percent is each revision's current share; the caller must not change it.
func (r *Route) Percent() []int { return r.percent }

// Only is the revision that has the whole route, or -1 when it is split
// (or nobody has traffic yet).
func (r *Route) Only() int {
	only, n := -1, 0
	for i, p := range r.percent {
		if p > 0 {
			only, n = i, n+1
		}
	}
	if n == 1 {
		return only
	}
	return -1
}

// Pick is the revision a draw u, uniform in [0,100), sends an arrival to;
// -1 when no revision has traffic.
func (r *Route) Pick(u int) int {
	last := -1
	for i, p := range r.percent {
		if p <= 0 {
			continue
		}
		if u < p {
			return i
		}
		u -= p
		last = i
	}
	return last
}

// Rolling reports whether a gradual rollout is in progress.
func (r *Route) Rolling() bool { return r.rolling }

// Update is the route reconciler: it applies the latest step due at now,
// as far as the revisions it names are Ready (ready(i)). Call it when a
// step falls due and when a revision becomes Ready. It reports whether the
// split changed, and the first step of a rollout it started.
func (r *Route) Update(now time.Duration, ready func(i int) bool) (changed bool, w Wake) {
	for r.next < len(r.steps) && r.steps[r.next].At <= now {
		r.pending = r.next
		r.rolling = false
		r.next++
	}
	if r.pending < 0 {
		return false, Wake{}
	}
	st := r.steps[r.pending]
	if st.Rollout >= 0 {
		if !ready(st.Rollout) {
			return false, Wake{}
		}
		r.pending = -1
		return r.startRollout(st, now)
	}
	for i, p := range st.Percent {
		if p > 0 && !ready(i) {
			return false, Wake{}
		}
	}
	r.pending = -1
	copy(r.percent, st.Percent)
	return true, Wake{}
}

// NextStep is when the next step of the schedule falls due; ok is false
// when none is left.
func (r *Route) NextStep() (at time.Duration, ok bool) {
	if r.next < len(r.steps) {
		return r.steps[r.next].At, true
	}
	return 0, false
}

// startRollout begins moving the route to revision st.Rollout once it is
// Ready. With no rollout-duration everything moves at once. Otherwise it
// follows Knative's stepConfig: the newest revision holding traffic gives
// 1% to the new one; once the ingress has that split (ObserveDelay later)
// Step fixes the steps for the rest.
func (r *Route) startRollout(st scenarios.SplitStep, now time.Duration) (bool, Wake) {
	to := st.Rollout
	if st.RolloutDuration <= 0 || r.percent[to] >= 99 {
		for i := range r.percent {
			r.percent[i] = 0
		}
		r.percent[to] = 100
		return true, Wake{}
	}
	r.order = r.order[:0]
	for i, p := range r.percent {
		if p > 0 && i != to {
			r.order = append(r.order, i)
		}
	}
	r.percent[to] = 0
	for k := len(r.order) - 1; k >= 0; k-- {
		if i := r.order[k]; r.percent[i] > 0 {
			r.percent[i]--
			break
		}
	}
	r.percent[to] = 1
	r.order = append(r.order, to)
	r.rolling = true
	r.observed = false
	r.gen++
	r.duration = st.RolloutDuration.Seconds()
	return true, Wake{At: now + ObserveDelay, Gen: r.gen}
}

// Step is Knative's ObserveReady and stepRevisions for rollout gen: the
// first call after the 1% computes the step size and interval
// (computeProperties, with a minimum step of 1 s), every later one moves
// StepSize percent onto the new revision, drained from the newest of the
// old revisions first. A step of a rollout a later split replaced does
// nothing.
func (r *Route) Step(now time.Duration, gen int64) (changed bool, w Wake) {
	if !r.rolling || gen != r.gen {
		return false, Wake{}
	}
	if !r.observed {
		r.observed = true
		const minStep = 1.0
		d := math.Max(1, r.duration-minStep)
		steps := math.Max(1, d/minStep)
		rem := float64(99)
		if rem < steps {
			steps = rem
		}
		r.stepSize = int(math.Round(rem / steps))
		r.stepDur = time.Duration(d / steps * float64(time.Second))
		return false, Wake{At: now + r.stepDur, Gen: r.gen}
	}
	to := r.order[len(r.order)-1]
	remaining := r.stepSize
	for k := len(r.order) - 2; k >= 0 && remaining > 0; k-- {
		i := r.order[k]
		take := min(r.percent[i], remaining)
		r.percent[i] -= take
		remaining -= take
	}
	r.percent[to] = min(100, r.percent[to]+r.stepSize-remaining)
	if r.percent[to] >= 100 {
		r.rolling = false
		return true, Wake{}
	}
	return true, Wake{At: now + r.stepDur, Gen: r.gen}
}
