package simulator

import (
	"maps"
	"math/rand/v2"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/results"
	knroute "github.com/scalebench/scalebench/route"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// route is one function's Knative Route: the split schedule in force
// (package route, shared with the local platform, so a schedule means the
// same in both) over the function's revisions. A function without
// revisions has a route to its one revision and never draws.
type route struct {
	revs    []*fnState
	sched   *knroute.Route
	percent []int // sched's split, or {100} for a function without revisions
	rng     *rand.Rand
}

// pick chooses a revision for one arrival: a draw from the route's own
// random stream, apart from the service and start-up streams, so that a
// scenario and seed route the same way in every run. While one revision
// has the whole route nothing is drawn.
func (rt *route) pick() *fnState {
	if len(rt.revs) == 1 {
		return rt.revs[0]
	}
	return rt.revs[rt.sched.Pick(rt.rng)]
}

// newRoutes builds the engine's units (one fnState per revision) and a
// route per function. Units of a function without revisions keep the
// random streams and names they had before revisions existed, so such
// scenarios give the same output.
func (e *engine) newRoutes(sc *scenarios.Scenario, pol scenarios.Policy, opt Options) error {
	for i, fn := range sc.Functions {
		rt := &route{}
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
		steps := fn.Split
		if pol.Rollout != nil {
			steps = knroute.ApplyRollout(fn.Split, *pol.Rollout, len(rt.revs))
			for j := range knroute.RolledOut(fn.Split) {
				rt.revs[j].rev.variant = pol.Rollout
			}
		}
		rt.sched = knroute.New(steps, len(rt.revs), func(now time.Duration, percent []int) {
			e.splitChanging(rt, percent, int64(now))
		})
		rt.percent = rt.sched.Percent()
		e.routes = append(e.routes, rt)
	}
	return nil
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
	// variant, when set, is the rollout variant that makes this revision
	// (pre-scaled, or with settings of its own) when it is created.
	variant      *scenarios.Rollout
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
	if r.variant != nil {
		set, n, changed := knroute.VariantSettings(*r.variant, r.settings, others)
		if changed && f.lambda {
			return badInput("revision %q: a Lambda-style revision has no initial or min scale to pre-scale", r.name)
		}
		if changed {
			p, err := autoscaler.NewForRevision(r.polName, set, autoscaler.Revision{ContainerConcurrency: int(f.cc)})
			if err != nil {
				return badInput("revision %q: pre-scaling to %d pods: %v", r.name, n, err)
			}
			f.pol = p
		}
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

// routeUpdate is the route reconciler (knroute.Route.Update): it runs when
// a step falls due and when a revision becomes Ready, and schedules the
// first step of a gradual rollout it begins.
func (e *engine) routeUpdate(rt *route, now int64) {
	if w, ok := rt.sched.Update(time.Duration(now), func(i int) bool { return rt.revs[i].rev.ready }); ok {
		e.h.push(event{at: int64(w.At), kind: evRoute, fn: rt.revs[0].idx, id: w.Gen})
	}
}

// splitChanging brings every revision's figures up to now before the
// split changes, and notes each revision's first traffic.
func (e *engine) splitChanging(rt *route, percent []int, now int64) {
	for i, p := range percent {
		f := rt.revs[i]
		f.advance(now)
		if p > 0 && f.rev.firstTraffic < 0 {
			f.rev.firstTraffic = now
		}
	}
}

// routeEvent is a step of the schedule falling due (id 0), or a step of
// rollout number id.
func (e *engine) routeEvent(ev *event) {
	rt := e.fns[ev.fn].rev.route
	if ev.id == 0 {
		e.routeUpdate(rt, ev.at)
		return
	}
	if w, ok := rt.sched.Advance(time.Duration(ev.at), ev.id); ok {
		e.h.push(event{at: int64(w.At), kind: evRoute, fn: rt.revs[0].idx, id: w.Gen})
	}
}

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
		for _, st := range rt.sched.Steps()[1:] {
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
