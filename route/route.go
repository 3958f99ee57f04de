package route

import (
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/scalebench/scalebench/scenarios"
)

// Route is one function's split schedule in force.
//
// Traffic only ever goes to a Ready revision, as in Knative's route
// reconciler, which flattens a Configuration target to the Configuration's
// latest *ready* revision and refuses a Revision target that is not ready
// (knative/serving's pkg/reconciler/route/traffic/traffic.go,
// addConfigurationTarget and addRevisionTarget): a step waits, with the
// previous split in force, until every revision it gives traffic to is
// Ready. A revision is Ready once its initial-scale pods are (and stays
// Ready when it later scales to zero: requests then go through the
// activator); the caller decides that.
type Route struct {
	steps   []scenarios.SplitStep
	next    int // next step of the schedule not yet due
	pending int // a due step waiting for its revisions, -1 when none
	percent []int
	onSplit func(now time.Duration, percent []int)

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

// Wake asks the caller to call Advance(At, Gen): the next step of a gradual
// rollout.
type Wake struct {
	At  time.Duration
	Gen int64
}

// New makes the route of a function with n revisions following steps (the
// scenario's Split, or ApplyRollout's). onSplit, when set, is called just
// before every change of the split with the split about to be in force.
// Nothing is in force until the first Update.
func New(steps []scenarios.SplitStep, n int, onSplit func(now time.Duration, percent []int)) *Route {
	return &Route{steps: steps, pending: -1, percent: make([]int, n), onSplit: onSplit}
}

// Steps is the schedule the route follows.
func (r *Route) Steps() []scenarios.SplitStep { return r.steps }

// Percent is each revision's share now; the caller must not change it.
func (r *Route) Percent() []int { return r.percent }

// Rolling reports whether a gradual rollout is under way.
func (r *Route) Rolling() bool { return r.rolling }

// Pick chooses a revision for one arrival. While one revision has the whole
// route nothing is drawn, so a schedule that never splits draws nothing
// from rng; otherwise one draw of rng.IntN(100).
func (r *Route) Pick(rng *rand.Rand) int {
	only, n := -1, 0
	for i, p := range r.percent {
		if p > 0 {
			only, n = i, n+1
		}
	}
	if n <= 1 {
		return max(only, 0)
	}
	u := rng.IntN(100)
	for i, p := range r.percent {
		if u < p {
			return i
		}
		u -= p
	}
	return only
}

// Update is the route reconciler: it applies every step that is due at
// now, as far as the revisions it names are Ready (ready(i)). Call it when
// a step falls due and whenever a revision becomes Ready. When a gradual
// rollout begins, the returned Wake (ok) says when to Advance it.
func (r *Route) Update(now time.Duration, ready func(i int) bool) (w Wake, ok bool) {
	for r.next < len(r.steps) && r.steps[r.next].At <= now {
		r.pending = r.next
		r.rolling = false
		r.next++
	}
	if r.pending < 0 {
		return Wake{}, false
	}
	st := r.steps[r.pending]
	if st.Rollout >= 0 {
		if !ready(st.Rollout) {
			return Wake{}, false
		}
		r.pending = -1
		return r.startRollout(st, now)
	}
	for i, p := range st.Percent {
		if p > 0 && !ready(i) {
			return Wake{}, false
		}
	}
	r.pending = -1
	r.set(st.Percent, now)
	return Wake{}, false
}

// NextDue is when the next step of the schedule falls due (ok false when
// none is left).
func (r *Route) NextDue() (at time.Duration, ok bool) {
	if r.next < len(r.steps) {
		return r.steps[r.next].At, true
	}
	return 0, false
}

func (r *Route) set(percent []int, now time.Duration) {
	if r.onSplit != nil {
		r.onSplit(now, percent)
	}
	copy(r.percent, percent)
}

// startRollout begins moving the route to revision st.Rollout once it is
// Ready. With no rollout-duration everything moves at once. Otherwise it
// follows Knative's route reconciler (pkg/reconciler/route/traffic/
// rollout.go, stepConfig): the newest revision holding traffic gives 1% to
// the new one; once the ingress has that split (ObserveReady, at least
// 1 s later: the ingress is taken to be programmed at once, so exactly
// 1 s) computeProperties fixes the steps for the rest.
func (r *Route) startRollout(st scenarios.SplitStep, now time.Duration) (Wake, bool) {
	to := st.Rollout
	if st.RolloutDuration <= 0 || r.percent[to] >= 99 {
		p := make([]int, len(r.percent))
		p[to] = 100
		r.set(p, now)
		return Wake{}, false
	}
	r.order = r.order[:0]
	for i, p := range r.percent {
		if p > 0 && i != to {
			r.order = append(r.order, i)
		}
	}
	p := append([]int(nil), r.percent...)
	p[to] = 0
	for k := len(r.order) - 1; k >= 0; k-- {
		if i := r.order[k]; p[i] > 0 {
			p[i]--
			break
		}
	}
	p[to] = 1
	r.order = append(r.order, to)
	r.set(p, now)
	r.rolling = true
	r.observed = false
	r.gen++
	r.duration = st.RolloutDuration.Seconds()
	return Wake{At: now + time.Second, Gen: r.gen}, true
}

// Advance is a Wake falling due: Knative's ObserveReady and stepRevisions.
// The first call after the 1% computes the step size and interval
// (computeProperties, with a minimum step of 1 s), every later one moves
// StepSize percent onto the new revision, drained from the newest of the
// old revisions first. A Wake of a rollout that a later step replaced
// does nothing.
func (r *Route) Advance(now time.Duration, gen int64) (Wake, bool) {
	if !r.rolling || gen != r.gen {
		return Wake{}, false
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
		return Wake{At: now + r.stepDur, Gen: r.gen}, true
	}
	p := append([]int(nil), r.percent...)
	to := r.order[len(r.order)-1]
	remaining := r.stepSize
	for k := len(r.order) - 2; k >= 0 && remaining > 0; k-- {
		i := r.order[k]
		take := min(p[i], remaining)
		p[i] -= take
		remaining -= take
	}
	p[to] = min(100, p[to]+r.stepSize-remaining)
	r.set(p, now)
	if p[to] >= 100 {
		r.rolling = false
		return Wake{}, false
	}
	return Wake{At: now + r.stepDur, Gen: r.gen}, true
}

// ApplyRollout makes a schedule's rollout steps the variant's way: its
// rollout-duration on every rollout step, or, for a manual canary, the
// variant's percent steps from each rollout step on (the rest of the route
// staying with the revision that had the most of it before the step),
// up to the schedule's next step.
func ApplyRollout(steps []scenarios.SplitStep, ro scenarios.Rollout, n int) []scenarios.SplitStep {
	var out []scenarios.SplitStep
	for i, st := range steps {
		if st.Rollout < 0 {
			out = append(out, st)
			continue
		}
		if len(ro.Steps) == 0 {
			st.RolloutDuration = ro.Duration
			out = append(out, st)
			continue
		}
		before := splitBefore(steps, i, n)
		from := -1
		for j, p := range before {
			if j != st.Rollout && (from < 0 || p > before[from]) {
				from = j
			}
		}
		for _, c := range ro.Steps {
			if i+1 < len(steps) && st.At+c.After >= steps[i+1].At {
				break // the schedule's next step takes over
			}
			p := make([]int, n)
			p[st.Rollout] = c.Percent
			p[from] += 100 - c.Percent
			out = append(out, scenarios.SplitStep{At: st.At + c.After, Percent: p, Rollout: -1})
		}
	}
	return out
}

// RolledOut lists the revisions a schedule rolls out to (the targets of
// its rollout steps), which a rollout variant pre-scales or re-sets.
func RolledOut(steps []scenarios.SplitStep) map[int]bool {
	out := map[int]bool{}
	for _, st := range steps {
		if st.Rollout >= 0 {
			out[st.Rollout] = true
		}
	}
	return out
}

// VariantSettings are the policy settings a rollout variant gives a
// rolled-out revision when it is created: the revision's settings with the
// variant's laid over, and initial-scale and min-scale when the variant
// pre-scales (others is the pods the function's other revisions have then,
// for "match"). changed is false when the variant leaves the revision's
// settings alone; pods is the larger of the two scales.
func VariantSettings(ro scenarios.Rollout, settings map[string]string, others int) (set map[string]string, pods int, changed bool) {
	initial, minScale := ro.InitialScale, ro.MinScale
	if ro.MatchInitialScale {
		initial = max(1, others)
	}
	if ro.MatchMinScale {
		minScale = max(1, others)
	}
	if initial == 0 && minScale == 0 && len(ro.Settings) == 0 {
		return settings, 0, false
	}
	set = maps.Clone(settings)
	if set == nil {
		set = map[string]string{}
	}
	maps.Copy(set, ro.Settings)
	if initial > 0 {
		set["initial-scale"] = strconv.Itoa(initial)
	}
	if minScale > 0 {
		set["min-scale"] = strconv.Itoa(minScale)
	}
	return set, max(initial, minScale), true
}

// splitBefore is the split the schedule asks for just before step i, as
// far as the percent steps say (a rollout step gives its revision 100).
func splitBefore(steps []scenarios.SplitStep, i, n int) []int {
	p := make([]int, n)
	if i == 0 {
		return p
	}
	st := steps[i-1]
	if st.Rollout >= 0 {
		p[st.Rollout] = 100
		return p
	}
	copy(p, st.Percent)
	return p
}
