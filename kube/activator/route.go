package activator

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/scalebench/scalebench/route"
	"github.com/scalebench/scalebench/scenarios"
)

// Route splits a function's requests across its revisions' Services by a
// scenario's split schedule: the project's router in the place of
// Knative's Route. Each revision is a Deployment and a Service of its own,
// autoscaled on its own; /NAMESPACE/NAME/... is sent to one of them, and
// /NAMESPACE/REVISION/... still addresses a revision directly (a tag).
// A routed response names the revision's Service in X-Revision
// (internal/wire), as the local platform's route does.
type Route struct {
	// Name is the function's name in the path; not one of Revisions.
	Name string
	// Revisions are the revisions' Service names, indexed as the
	// schedule's percentages.
	Revisions []string
	// InitialScale is each revision's initial scale: a revision is Ready,
	// and a step may give it traffic, once its Service has had that many
	// ready endpoints (0: at once). Nil means 1 each, Knative's default.
	InitialScale []int
	// Steps is the schedule (scenarios.Function.Split), times from Start.
	Steps []scenarios.SplitStep
	// Start is the schedule's time 0.
	Start time.Time
	// Seed seeds the per-request draws, so a run's split does not depend
	// on anything else drawing random numbers.
	Seed uint64
}

// router is a Route in force, on package route's schedule (the one the
// simulator and the local platform drive). Events of the schedule (a step
// falling due, a revision becoming Ready, a rollout's next step) are
// applied at their own times, in order, whenever the route is read: the
// split is what the schedule says at that instant, without a goroutine or
// timer of its own.
type router struct {
	cfg     Route
	sp      *route.Route
	readyAt []time.Duration // since Start; -1 until Ready
	applied []bool          // readiness already given to the route
	wake    route.Wake      // Gen 0: none
	rng     *rand.Rand
}

func newRouter(r Route) (*router, error) {
	if r.Name == "" || len(r.Revisions) == 0 {
		return nil, errors.New("activator: a route wants a name and its revisions' Services")
	}
	if slices.Contains(r.Revisions, r.Name) {
		return nil, fmt.Errorf("activator: route %s is also the name of one of its revisions", r.Name)
	}
	if r.InitialScale == nil {
		r.InitialScale = slices.Repeat([]int{1}, len(r.Revisions))
	}
	if len(r.InitialScale) != len(r.Revisions) {
		return nil, fmt.Errorf("activator: route %s: %d initial scales for %d revisions", r.Name, len(r.InitialScale), len(r.Revisions))
	}
	if len(r.Steps) == 0 && len(r.Revisions) > 1 {
		return nil, fmt.Errorf("activator: route %s has %d revisions and no split", r.Name, len(r.Revisions))
	}
	for i, st := range r.Steps {
		if st.Rollout >= len(r.Revisions) || (st.Rollout < 0 && len(st.Percent) != len(r.Revisions)) {
			return nil, fmt.Errorf("activator: route %s: step %d does not fit its %d revisions", r.Name, i, len(r.Revisions))
		}
	}
	steps := r.Steps
	if len(steps) == 0 {
		// One revision and no schedule: it has the whole route.
		steps = []scenarios.SplitStep{{Percent: []int{100}, Rollout: -1}}
	}
	rt := &router{cfg: r, sp: route.New(steps, len(r.Revisions), nil),
		readyAt: slices.Repeat([]time.Duration{-1}, len(r.Revisions)), applied: make([]bool, len(r.Revisions)),
		rng: rand.New(rand.NewPCG(r.Seed, 0x5ca1eb))}
	for i, n := range r.InitialScale {
		if n <= 0 {
			rt.readyAt[i] = 0
		}
	}
	return rt, nil
}

// endpoints tells the route that revision svc has n ready endpoints at now.
func (rt *router) endpoints(svc string, n int, now time.Time) {
	for i, name := range rt.cfg.Revisions {
		if name == svc && rt.readyAt[i] < 0 && n >= rt.cfg.InitialScale[i] {
			rt.readyAt[i] = max(0, now.Sub(rt.cfg.Start))
		}
	}
}

// advance applies every event of the schedule up to now, in time order.
func (rt *router) advance(now time.Time) {
	t := now.Sub(rt.cfg.Start)
	for {
		const none = time.Duration(math.MaxInt64)
		at, kind, rev := none, 0, -1
		if s, ok := rt.sp.NextDue(); ok && s <= t {
			at, kind = s, 1
		}
		for i, r := range rt.readyAt {
			if !rt.applied[i] && r >= 0 && r <= t && r < at {
				at, kind, rev = r, 2, i
			}
		}
		if rt.wake.Gen != 0 && rt.wake.At <= t && rt.wake.At < at {
			at, kind = rt.wake.At, 3
		}
		switch kind {
		case 0:
			return
		case 1, 2:
			if rev >= 0 {
				rt.applied[rev] = true
			}
			ready := func(i int) bool { return rt.readyAt[i] >= 0 && rt.readyAt[i] <= at }
			if w, ok := rt.sp.Update(at, ready); ok {
				rt.wake = w
			}
		case 3:
			if w, ok := rt.sp.Advance(at, rt.wake.Gen); ok {
				rt.wake = w
			} else {
				rt.wake = route.Wake{}
			}
		}
	}
}

// pick is the revision for one request at now, or -1 while none has
// traffic yet.
func (rt *router) pick(now time.Time) int {
	rt.advance(now)
	for _, p := range rt.sp.Percent() {
		if p > 0 {
			return rt.sp.Pick(rt.rng)
		}
	}
	return -1
}

// SetRoute puts a route in force (replacing one of the same name).
func (a *Activator) SetRoute(r Route) error {
	rt, err := newRouter(r)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if old := a.routes[r.Name]; old != nil && old.cfg.Start.Equal(r.Start) {
		// The same schedule's clock (a ConfigMap edited in place): a
		// revision keeps the time it became Ready, so a rollout under way
		// is not begun again from now.
		for i, svc := range r.Revisions {
			for j, was := range old.cfg.Revisions {
				if was == svc && old.readyAt[j] >= 0 && rt.cfg.InitialScale[i] == old.cfg.InitialScale[j] {
					rt.readyAt[i] = old.readyAt[j]
				}
			}
		}
	}
	now := time.Now()
	for _, svc := range r.Revisions {
		if rev := a.revs[svc]; rev != nil {
			rt.endpoints(svc, len(rev.pods), now)
		}
	}
	a.routes[r.Name] = rt
	return nil
}

// DeleteRoute takes route name out of force: /NAMESPACE/NAME/ then
// addresses a Service of that name, if there is one.
func (a *Activator) DeleteRoute(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.routes, name)
}

// Split is route name's split now, by revision Service name; nil when there
// is no such route.
func (a *Activator) Split(name string) map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	rt := a.routes[name]
	if rt == nil {
		return nil
	}
	rt.advance(time.Now())
	out := map[string]int{}
	for i, p := range rt.sp.Percent() {
		out[rt.cfg.Revisions[i]] = p
	}
	return out
}
