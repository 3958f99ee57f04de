package simulator

import (
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// route is one function's Knative Route: the traffic split across its
// revisions, moved by the scenario's split schedule. A function without
// revisions has a route to its one revision and never draws.
//
// Traffic only ever goes to a Ready revision, as in Knative's route
// reconciler, which flattens a Configuration target to the Configuration's
// latest *ready* revision and refuses a Revision target that is not ready
// (knative/serving's pkg/reconciler/route/traffic/traffic.go,
// addConfigurationTarget and addRevisionTarget): a step waits, with the
// previous split in force, until every revision it gives traffic to is
// Ready. A revision is Ready once its initial-scale pods are (and stays
// Ready when it later scales to zero: requests then go through the
// activator).
type route struct {
	revs    []*fnState
	steps   []scenarios.SplitStep
	next    int // next step of the schedule not yet due
	pending int // a due step waiting for its revisions, -1 when none
	percent []int
	rng     *rand.Rand

	// A gradual rollout in progress (Knative's rollout-duration): order
	// lists the revisions holding traffic, oldest first, the one being
	// rolled out to last.
	rolling  bool
	order    []int
	duration float64 // seconds
	stepSize int
	stepDur  int64
	observed bool
	// gen numbers the rollouts, so a step of one a later split replaced
	// is recognised and ignored.
	gen int64
}

// pick chooses a revision for one arrival: a draw from the route's own
// random stream, apart from the service and start-up streams, so that a
// scenario and seed route the same way in every run. While one revision
// has the whole route nothing is drawn.
func (rt *route) pick() *fnState {
	if len(rt.revs) == 1 {
		return rt.revs[0]
	}
	only, n := -1, 0
	for i, p := range rt.percent {
		if p > 0 {
			only, n = i, n+1
		}
	}
	if n == 1 {
		return rt.revs[only]
	}
	u := rt.rng.IntN(100)
	for i, p := range rt.percent {
		if u < p {
			return rt.revs[i]
		}
		u -= p
	}
	return rt.revs[only]
}

// newRoutes builds the engine's units (one fnState per revision) and a
// route per function. Units of a function without revisions keep the
// random streams and names they had before revisions existed, so such
// scenarios give the same output.
func (e *engine) newRoutes(sc *scenarios.Scenario, pol scenarios.Policy, opt Options) error {
	for i, fn := range sc.Functions {
		rt := &route{pending: -1}
		if len(fn.Revisions) == 0 {
			f, err := newFunction(i, fn, sc, pol, opt)
			if err != nil {
				return err
			}
			f.idx = int32(len(e.fns))
			e.fns = append(e.fns, f)
			rt.revs = []*fnState{f}
			rt.percent = []int{100}
			e.routes = append(e.routes, rt)
			continue
		}
		e.revisions = true
		rt.steps = fn.Split
		rt.percent = make([]int, len(fn.Revisions))
		rt.rng = rand.New(rand.NewPCG(uint64(sc.Seed), uint64(1)<<40|uint64(i)))
		for j, rev := range fn.Revisions {
			p := pol
			p.Settings = maps.Clone(pol.Settings)
			if p.Settings == nil {
				p.Settings = map[string]string{}
			}
			maps.Copy(p.Settings, rev.Settings)
			f, err := newFunction(i, rev.Function, sc, p, opt)
			if err != nil {
				return badInput("function %s, revision %s (settings %v over the policy's): %v", fn.Name, rev.Name, rev.Settings, err)
			}
			f.idx = int32(len(e.fns))
			f.name = fn.Name
			f.rev = &revision{
				name: rev.Name, tag: rev.Tag, deployAt: int64(rev.DeployAt), settings: p.Settings,
				polName: pol.Name, firstTraffic: -1, lat: results.NewHistogram(), coldLat: results.NewHistogram(),
				route: rt, index: j,
			}
			if j > 0 {
				// Streams of their own, apart from revision 0's (the
				// function's) and every other function's.
				f.svcRNG = rand.New(rand.NewPCG(uint64(sc.Seed), uint64(2*i)|uint64(j)<<32))
				f.podRNG = rand.New(rand.NewPCG(uint64(sc.Seed), uint64(2*i+1)|uint64(j)<<32))
			}
			if rev.TagTraffic != nil {
				e.tags = append(e.tags, tagStream{f: f, pattern: rev.TagTraffic})
			}
			e.fns = append(e.fns, f)
			rt.revs = append(rt.revs, f)
		}
		if pol.Rollout != nil {
			rt.steps = applyRollout(fn.Split, *pol.Rollout, rt.revs)
		}
		e.routes = append(e.routes, rt)
	}
	return nil
}

// applyRollout makes the scenario's rollout steps the variant's way.
func applyRollout(steps []scenarios.SplitStep, ro scenarios.Rollout, revs []*fnState) []scenarios.SplitStep {
	var out []scenarios.SplitStep
	for i, st := range steps {
		if st.Rollout < 0 {
			out = append(out, st)
			continue
		}
		r := revs[st.Rollout].rev
		r.initialScale, r.matchScale = ro.InitialScale, ro.MatchInitialScale
		r.minScale, r.matchMin = ro.MinScale, ro.MatchMinScale
		if len(ro.Settings) > 0 {
			r.settings = maps.Clone(r.settings)
			maps.Copy(r.settings, ro.Settings)
			r.rebuild = true
		}
		if len(ro.Steps) == 0 {
			st.RolloutDuration = ro.Duration
			out = append(out, st)
			continue
		}
		// A manual canary: the rest of the route stays with the revision
		// that had the most of it before the step.
		before := splitBefore(steps, i, len(revs))
		from := -1
		for j, p := range before {
			if j != st.Rollout && (from < 0 || p > before[from]) {
				from = j
			}
		}
		for _, c := range ro.Steps {
			if i+1 < len(steps) && st.At+c.After >= steps[i+1].At {
				break // the scenario's next step takes over
			}
			p := make([]int, len(revs))
			p[st.Rollout] = c.Percent
			p[from] += 100 - c.Percent
			out = append(out, scenarios.SplitStep{At: st.At + c.After, Percent: p, Rollout: -1})
		}
	}
	return out
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

// revision is what a unit of the engine carries when it is one revision of
// a function with several.
type revision struct {
	name, tag    string
	index        int
	route        *route
	deployAt     int64
	deployed     bool
	ready        bool
	initialPods  int
	firstTraffic int64
	polName      string
	settings     map[string]string
	// initialScale > 0 or matchScale: a rollout variant pre-scales the
	// revision when it is created.
	initialScale int
	matchScale   bool
	minScale     int
	matchMin     bool
	rebuild      bool // the variant changed settings: a new policy at deploy
	lat, coldLat *results.Histogram
}

// tagStream is traffic sent to a revision's tag URL: it starts when the
// revision is created, because the tag's URL exists from then on.
type tagStream struct {
	f       *fnState
	pattern traffic.Pattern
}

// deploy creates a revision that the scenario adds after the start: its
// policy's first decision (the initial scale, or the variant's
// pre-scaling) starts pods through the normal start-up.
func (e *engine) deploy(f *fnState, now int64) error {
	r := f.rev
	others := 0
	for _, g := range r.route.revs {
		if g != f {
			others += g.nStarting + g.nReady
		}
	}
	n, lo := r.initialScale, r.minScale
	if (n > 0 || lo > 0 || r.rebuild) && f.lambda {
		return badInput("revision %q: a Lambda-style revision has no initial or min scale to pre-scale", r.name)
	}
	if r.matchScale {
		n = max(1, others)
	}
	if r.matchMin {
		lo = max(1, others)
	}
	if n > 0 || lo > 0 || r.rebuild {
		set := maps.Clone(r.settings)
		if n > 0 {
			set["initial-scale"] = strconv.Itoa(n)
		}
		if lo > 0 {
			set["min-scale"] = strconv.Itoa(lo)
		}
		p, err := autoscaler.NewForRevision(r.polName, set, autoscaler.Revision{ContainerConcurrency: int(f.cc)})
		if err != nil {
			return badInput("revision %q: pre-scaling to %d pods: %v", r.name, max(n, lo), err)
		}
		f.pol = p
	}
	f.advance(now)
	if f.lambda {
		// The platform sizes a Lambda-style revision per request: it is
		// Ready at once, with only its provisioned instances.
		for range f.minInst {
			if !e.podRoom() {
				e.podsRefused++
				continue
			}
			f.pods[e.newPod(f, now, true)].provisioned = true
		}
		f.desired = f.minInst
		r.deployed = true
		e.revisionReady(f, now)
		return nil
	}
	d := f.pol.Tick(epoch.Add(time.Duration(now)), autoscaler.Pods{})
	k := max(0, d.Desired)
	if !d.Valid && k == 0 && (f.family == famHPA || f.family == famOpenFaaS) {
		k = 1
	}
	f.desired, f.panic = k, d.Panic
	f.activator = d.ActivatorInPath || k == 0
	r.deployed = true
	r.initialPods = k
	for range k {
		if !e.podRoom() {
			e.podsRefused++
			continue
		}
		e.newPod(f, now, false)
	}
	e.h.push(event{at: now + int64(f.pol.Interval()), kind: evTick, fn: f.idx})
	if k == 0 {
		e.revisionReady(f, now)
	}
	return nil
}

// revisionReady latches a revision's Ready condition once its initial
// pods are ready, and lets the route move traffic that waited for it.
func (e *engine) revisionReady(f *fnState, now int64) {
	r := f.rev
	if r.ready || !r.deployed || f.nReady < r.initialPods {
		return
	}
	r.ready = true
	e.routeUpdate(r.route, now)
}

// routeUpdate is the route reconciler: it applies every step that is due,
// as far as the revisions it names are Ready, and moves a gradual rollout
// on. It runs when a step falls due, when a revision becomes Ready and at
// each rollout step's time.
func (e *engine) routeUpdate(rt *route, now int64) {
	for rt.next < len(rt.steps) && int64(rt.steps[rt.next].At) <= now {
		rt.pending = rt.next
		rt.rolling = false
		rt.next++
	}
	if rt.pending >= 0 {
		st := rt.steps[rt.pending]
		switch {
		case st.Rollout >= 0:
			if rt.revs[st.Rollout].rev.ready {
				rt.pending = -1
				e.startRollout(rt, st, now)
			}
		default:
			ready := true
			for i, p := range st.Percent {
				ready = ready && (p == 0 || rt.revs[i].rev.ready)
			}
			if ready {
				rt.pending = -1
				e.setSplit(rt, st.Percent, now)
			}
		}
	}
}

func (e *engine) setSplit(rt *route, percent []int, now int64) {
	for i, p := range percent {
		f := rt.revs[i]
		f.advance(now)
		if p > 0 && f.rev.firstTraffic < 0 {
			f.rev.firstTraffic = now
		}
	}
	copy(rt.percent, percent)
}

// startRollout begins moving the route to revision st.Rollout once it is
// Ready. With no rollout-duration everything moves at once. Otherwise it
// follows Knative's route reconciler (pkg/reconciler/route/traffic/
// rollout.go, stepConfig): the newest revision holding traffic gives 1% to
// the new one; once the ingress has that split (ObserveReady, at least
// 1 s later: the simulated ingress is programmed at once, so exactly 1 s)
// computeProperties fixes the steps for the rest.
func (e *engine) startRollout(rt *route, st scenarios.SplitStep, now int64) {
	to := st.Rollout
	if st.RolloutDuration <= 0 || rt.percent[to] >= 99 {
		p := make([]int, len(rt.percent))
		p[to] = 100
		e.setSplit(rt, p, now)
		return
	}
	rt.order = rt.order[:0]
	for i, p := range rt.percent {
		if p > 0 && i != to {
			rt.order = append(rt.order, i)
		}
	}
	p := slicesClone(rt.percent)
	p[to] = 0
	for k := len(rt.order) - 1; k >= 0; k-- {
		if i := rt.order[k]; p[i] > 0 {
			p[i]--
			break
		}
	}
	p[to] = 1
	rt.order = append(rt.order, to)
	e.setSplit(rt, p, now)
	rt.rolling = true
	rt.observed = false
	rt.gen++
	rt.duration = st.RolloutDuration.Seconds()
	e.h.push(event{at: now + second, kind: evRoute, fn: rt.revs[0].idx, id: rt.gen})
}

// stepRollout is Knative's ObserveReady and stepRevisions: the first call
// after the 1% computes the step size and interval (computeProperties,
// with a minimum step of 1 s), every later one at the step's time moves
// StepSize percent onto the new revision, drained from the newest of the
// old revisions first.
func (e *engine) stepRollout(rt *route, now int64) {
	if !rt.observed {
		rt.observed = true
		const minStep = 1.0
		d := math.Max(1, rt.duration-minStep)
		steps := math.Max(1, d/minStep)
		rem := float64(99)
		if rem < steps {
			steps = rem
		}
		rt.stepSize = int(math.Round(rem / steps))
		rt.stepDur = int64(d / steps * float64(time.Second))
		e.h.push(event{at: now + rt.stepDur, kind: evRoute, fn: rt.revs[0].idx, id: rt.gen})
		return
	}
	p := slicesClone(rt.percent)
	to := rt.order[len(rt.order)-1]
	remaining := rt.stepSize
	for k := len(rt.order) - 2; k >= 0 && remaining > 0; k-- {
		i := rt.order[k]
		take := min(p[i], remaining)
		p[i] -= take
		remaining -= take
	}
	p[to] = min(100, p[to]+rt.stepSize-remaining)
	e.setSplit(rt, p, now)
	if p[to] >= 100 {
		rt.rolling = false
		return
	}
	e.h.push(event{at: now + rt.stepDur, kind: evRoute, fn: rt.revs[0].idx, id: rt.gen})
}

// routeEvent is a step of the schedule falling due (id 0), or a step of
// rollout number id.
func (e *engine) routeEvent(ev *event) {
	rt := e.fns[ev.fn].rev.route
	if ev.id == 0 {
		e.routeUpdate(rt, ev.at)
		return
	}
	if rt.rolling && ev.id == rt.gen {
		e.stepRollout(rt, ev.at)
	}
}

func slicesClone(p []int) []int { return append([]int(nil), p...) }

// startRevisions applies each route's first step and schedules what the
// revisions need after time 0: their creation and the split's steps.
// Revisions created at 0 were deployed by start like any function.
func (e *engine) startRevisions() {
	for _, rt := range e.routes {
		if rt.revs[0].rev == nil {
			continue
		}
		for _, f := range rt.revs {
			if r := f.rev; r.deployAt == 0 {
				r.deployed, r.ready, r.initialPods = true, true, f.nReady
			}
		}
		e.routeUpdate(rt, 0)
		for _, st := range rt.steps[1:] {
			e.h.push(event{at: int64(st.At), kind: evRoute, fn: rt.revs[0].idx})
		}
		for _, f := range rt.revs {
			if f.rev.deployAt > 0 {
				e.h.push(event{at: f.rev.deployAt, kind: evDeploy, fn: f.idx})
			}
		}
	}
}

// revisionSummaries is the per-revision breakdown of summary.json.
func (e *engine) revisionSummaries(s *results.Summary) {
	if !e.revisions {
		return
	}
	var rollout int64
	for _, f := range e.fns {
		r := f.rev
		if r == nil {
			continue
		}
		rs := results.RevisionSummary{
			Function: f.name, Revision: r.name, Tag: r.tag,
			DeployAtSeconds: float64(r.deployAt) / 1e9, FirstTrafficSeconds: -1,
			Requests: f.requests, Completed: f.completed, Dropped: f.dropped, ColdStarts: f.coldStarts,
			Latency: r.lat.Percentiles(), ColdLatency: r.coldLat.Percentiles(),
			PodStarts: f.podStarts, PodSeconds: round3(f.podSeconds), MaxPods: f.maxPods,
		}
		if r.firstTraffic >= 0 {
			rs.FirstTrafficSeconds = round3(float64(r.firstTraffic) / 1e9)
		}
		if r.deployAt > 0 {
			rollout += f.coldStarts
		}
		if !r.deployed {
			rs.DeployAtSeconds = -1
		}
		s.Revisions = append(s.Revisions, rs)
	}
	s.RolloutColdStarts = &rollout
}

func (r *revision) record(lat time.Duration, cold bool) {
	r.lat.Record(lat)
	if cold {
		r.coldLat.Record(lat)
	}
}

// target is the revision an arrival goes to: a tag's revision directly
// (Function < 0, from tagged streams), otherwise the function's route.
func (e *engine) target(a traffic.Arrival) (*fnState, error) {
	if a.Function < 0 {
		return e.tags[-a.Function-1].f, nil
	}
	if uint(a.Function) >= uint(len(e.routes)) {
		return nil, badInput("traffic: arrival at %v is for function %d; the scenario has %d function(s)", a.At, a.Function, len(e.routes))
	}
	return e.routes[a.Function].pick(), nil
}

// arrivals is the scenario's traffic merged, in time order, with the
// traffic sent to revisions' tags.
func (e *engine) arrivals(sc *scenarios.Scenario) traffic.Source {
	src := sc.Traffic.Arrivals(sc.Seed, sc.Duration)
	if len(e.tags) == 0 {
		return src
	}
	m := &mergedSource{}
	m.add(src, 0, 0, false)
	for k, t := range e.tags {
		start := time.Duration(t.f.rev.deployAt)
		if start >= sc.Duration {
			continue
		}
		// A stream of its own for each tag: the seed is spread so that
		// tagged arrivals are independent of the main traffic.
		seed := sc.Seed ^ int64(0x5bd1e995*(k+1))
		m.add(t.pattern.Arrivals(seed, sc.Duration-start), start, -1-k, true)
	}
	return m
}

// mergedSource interleaves sources by arrival time; equal times go to the
// source added first, so the order is fixed.
type mergedSource struct {
	srcs  []traffic.Source
	heads []traffic.Arrival
	more  []bool
	shift []time.Duration
	fn    []int
	retag []bool // set the arrival's Function to fn (a tag's -1-k)
}

func (m *mergedSource) add(s traffic.Source, shift time.Duration, fn int, retag bool) {
	m.srcs = append(m.srcs, s)
	m.shift = append(m.shift, shift)
	m.fn = append(m.fn, fn)
	m.retag = append(m.retag, retag)
	a, ok := s.Next()
	m.heads = append(m.heads, a)
	m.more = append(m.more, ok)
}

func (m *mergedSource) Next() (traffic.Arrival, bool) {
	best := -1
	for i := range m.srcs {
		if m.more[i] && (best < 0 || m.heads[i].At+m.shift[i] < m.heads[best].At+m.shift[best]) {
			best = i
		}
	}
	if best < 0 {
		return traffic.Arrival{}, false
	}
	a := m.heads[best]
	a.At += m.shift[best]
	if m.retag[best] {
		a.Function = m.fn[best]
	}
	m.heads[best], m.more[best] = m.srcs[best].Next()
	return a, true
}
