package platform

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/autoscaler/controller"
	"github.com/scalebench/scalebench/internal/wire"
	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/results"
	knroute "github.com/scalebench/scalebench/route"
	"github.com/scalebench/scalebench/scenarios"
)

// Route is a function served by several revisions: requests to /NAME/ are
// split across them by the schedule, each revision with its own pods,
// activator and autoscaler loop, as Knative runs a Service's revisions
// behind its Route.
type Route struct {
	// Name is the function's name and the first path segment that routes
	// to it.
	Name string
	// Revisions are the function's revisions in the schedule's order.
	// Each one's Function.Name is the revision's name (v1); the platform
	// serves it as NAME-REVISION (the name of its pods, its autoscaler
	// loop and its metrics), as Knative names revisions after their
	// Service.
	Revisions []RouteRevision
	// Steps is the split schedule (scenarios.Function.Split, or
	// knroute.ApplyRollout's), in offsets from the traffic's start (see
	// Platform.BeginRoutes).
	Steps []scenarios.SplitStep
	// Variant, when set, makes the revisions in RolledOut the variant's
	// way when they are created (pre-scaled, or with settings of their
	// own): knroute.VariantSettings. RolledOut are the revisions the
	// scenario's split rolls out to (knroute.RolledOut of it, not of
	// Steps, which a manual canary has made percent steps); nil means
	// those of Steps.
	Variant   *scenarios.Rollout
	RolledOut map[int]bool
	// Seed and Index seed the route's draws, the simulator's route stream
	// for the scenario's seed and the function's index.
	Seed  int64
	Index int
}

// RouteRevision is one revision of a Route.
type RouteRevision struct {
	Function
	// DeployAt is when the revision is created, from the traffic's start;
	// one created at 0 is deployed when the platform starts.
	DeployAt time.Duration
	// Tag, when set, addresses the revision directly at /TAG-NAME/
	// (Knative's default tag URL template, {{.Tag}}-{{.Name}}), whatever
	// the split, once it is created.
	Tag string
}

// fnRoute is a Route being served.
type fnRoute struct {
	cfg  Route
	revs []*revision

	mu    sync.Mutex // guards sched, rng and the revisions' route state
	sched *knroute.Route
	rng   *rand.Rand
	wake  *knroute.Wake
	// splits is every split the route put in force, for timeseries.csv.
	splits []SplitChange
}

// SplitChange is a split put in force At (from the traffic's start).
type SplitChange struct {
	At      time.Duration
	Percent []int
}

// routeState is what a revision of a route carries.
type routeState struct {
	route    *fnRoute
	index    int
	name     string // the revision's own name (v1)
	deployAt time.Duration
	// deployed is set, once the revision is created, after its ingress is
	// in place, so the request path may read it without the route's lock.
	deployed atomic.Bool
	created  chan struct{} // closed once deployed
	ready    bool
	// initial is the pods of its first decision, which must be ready for
	// it to be Ready; -1 until that decision is known.
	initial      int
	firstTraffic time.Duration // -1: none yet
	deployedAt   time.Duration // -1: not yet
}

// addRoute builds a route's revisions; those created at 0 are deployed at
// once, the rest by the route loop.
func (p *Platform) addRoute(rc Route) error {
	if rc.Name == "" || !validName(rc.Name) {
		return fmt.Errorf("function name %q: want a non-empty name without / ? # or spaces, other than metrics", rc.Name)
	}
	if _, dup := p.routes[rc.Name]; dup {
		return fmt.Errorf("function %q listed twice", rc.Name)
	}
	if _, dup := p.revs[rc.Name]; dup {
		return fmt.Errorf("function %q listed twice", rc.Name)
	}
	if len(rc.Revisions) == 0 || len(rc.Steps) == 0 {
		return fmt.Errorf("function %s: a route wants revisions and a split", rc.Name)
	}
	for i, st := range rc.Steps {
		if st.Rollout >= len(rc.Revisions) || st.Rollout < 0 && len(st.Percent) != len(rc.Revisions) {
			return fmt.Errorf("function %s: split step %d names revisions the route does not have (%d revisions)", rc.Name, i, len(rc.Revisions))
		}
	}
	rt := &fnRoute{cfg: rc, rng: rand.New(rand.NewPCG(uint64(rc.Seed), uint64(1)<<40|uint64(rc.Index)))}
	for i, rr := range rc.Revisions {
		fn := rr.Function
		st := &routeState{route: rt, index: i, name: fn.Name, deployAt: rr.DeployAt, initial: -1, firstTraffic: -1, deployedAt: -1,
			created: make(chan struct{})}
		fn.Name = rc.Name + "-" + fn.Name
		r, err := p.addRevision(fn, true) // p.deploy creates it
		if err != nil {
			return err
		}
		r.route = st
		rt.revs = append(rt.revs, r)
		if rr.Tag != "" {
			path := rr.Tag + "-" + rc.Name
			if _, dup := p.tags[path]; dup {
				return fmt.Errorf("function %s: tag URL /%s/ given twice", rc.Name, path)
			}
			p.tags[path] = r
		}
	}
	rt.sched = knroute.New(rc.Steps, len(rt.revs), func(now time.Duration, percent []int) {
		for i, v := range percent {
			if st := rt.revs[i].route; v > 0 && st.firstTraffic < 0 {
				st.firstTraffic = now
			}
		}
		rt.splits = append(rt.splits, SplitChange{At: now, Percent: append([]int(nil), percent...)})
	})
	// Revisions created at 0 are deployed now and Ready, like a function
	// without revisions (requests wait at their activators until pods
	// are), and the first split is in force from the start.
	for _, r := range rt.revs {
		if st := r.route; st.deployAt == 0 {
			if err := p.deploy(r, 0); err != nil {
				return err
			}
			st.ready = true
		}
	}
	if w, ok := rt.sched.Update(0, func(i int) bool { return rt.revs[i].route.ready }); ok {
		rt.wake = &w
	}
	p.routes[rc.Name] = rt
	p.routeOrder = append(p.routeOrder, rc.Name)
	return nil
}

// deploy creates a revision: its policy (with a rollout variant's settings,
// sized from the route's other revisions now) goes under the controller,
// whose first decision starts its initial pods.
func (p *Platform) deploy(r *revision, now time.Duration) error {
	st := r.route
	rt := st.route
	policy := r.policy
	rolled := rt.cfg.RolledOut
	if rolled == nil {
		rolled = knroute.RolledOut(rt.cfg.Steps)
	}
	if v := rt.cfg.Variant; v != nil && rolled[st.index] {
		others := 0
		for _, o := range rt.revs {
			if o != r {
				ready, notReady := o.pods.Counts()
				others += ready + notReady
			}
		}
		set, n, changed := knroute.VariantSettings(*v, r.fn.Settings, others)
		if changed {
			var err error
			policy, err = autoscaler.NewForRevision(r.fn.Policy, set, autoscaler.Revision{ContainerConcurrency: r.fn.ContainerConcurrency})
			if err != nil {
				return fmt.Errorf("revision %s: pre-scaling to %d pods: %v", r.fn.Name, n, err)
			}
			if _, onLambda, _ := lambdaInstances(policy); onLambda {
				return fmt.Errorf("revision %s: a Lambda-style revision has no initial or min scale to pre-scale", r.fn.Name)
			}
		}
	}
	if err := p.deployRevision(r, policy); err != nil {
		return err
	}
	st.deployedAt = now
	if r.lambda != nil {
		// Sized per request: Ready at once, as in the simulator.
		st.initial = 0
	}
	st.deployed.Store(true)
	close(st.created)
	return nil
}

// BeginRoutes starts every route's schedule with t0 as the traffic's start:
// the first split is put in force, later revisions are created and later
// steps applied at their offsets from t0, each step as far as its
// revisions are Ready. Before it, a route sends everything to the
// schedule's first split (its revisions created at 0 are deployed by
// Start).
func (p *Platform) BeginRoutes(t0 time.Time) {
	if len(p.routes) == 0 {
		return
	}
	p.routeOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		p.stopRoutes = cancel
		p.routesDone = make(chan struct{})
		go func() {
			defer close(p.routesDone)
			t := time.NewTicker(routeResolution)
			defer t.Stop()
			for {
				now := time.Since(t0)
				for _, name := range p.routeOrder {
					p.reconcile(p.routes[name], now)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	})
}

// endRoutes stops the route loop and waits for it: nothing is created or
// moved after it, so a run's figures are read from a settled platform.
func (p *Platform) endRoutes() {
	p.routesEnd.Do(func() {
		p.routeOnce.Do(func() {}) // no loop starts after this
		if p.stopRoutes != nil {
			p.stopRoutes()
			<-p.routesDone
		}
	})
}

// routeResolution is how often the route loop looks at what is due and
// which revisions became Ready: the wall-clock counterpart of the
// simulator's events, late by at most this much.
const routeResolution = 10 * time.Millisecond

// tagWait is how long a request to a tag's URL waits for its revision to
// be created before it is refused: a few passes of the route loop.
const tagWait = 10 * routeResolution

// reconcile is one pass of the route loop at offset now.
func (p *Platform) reconcile(rt *fnRoute, now time.Duration) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, r := range rt.revs {
		st := r.route
		if !st.deployed.Load() && st.deployAt <= now {
			if err := p.deploy(r, now); err != nil {
				fmt.Fprintf(p.cfg.Log, "route %s: %v\n", rt.cfg.Name, err)
				st.deployAt = 1<<63 - 1 // reported once; the route never gets there
			}
		}
	}
	p.readiness(rt)
	if w, ok := rt.sched.Update(now, func(i int) bool { return rt.revs[i].route.ready }); ok {
		rt.wake = &w
	}
	for rt.wake != nil && rt.wake.At <= now {
		w, ok := rt.sched.Advance(rt.wake.At, rt.wake.Gen)
		rt.wake = nil
		if ok {
			rt.wake = &w
		}
	}
}

// readiness latches each created revision's Ready condition once the pods
// of its first decision are ready (a revision asked for none is Ready at
// once), as the simulator does.
func (p *Platform) readiness(rt *fnRoute) {
	var first map[string]int
	for _, r := range rt.revs {
		st := r.route
		if st.ready || !st.deployed.Load() {
			continue
		}
		if st.initial < 0 {
			if first == nil {
				first = map[string]int{}
				for _, tk := range p.ctrl.Ticks() {
					if _, seen := first[tk.Revision]; !seen {
						first[tk.Revision] = tk.Decision.Desired
					}
				}
			}
			n, seen := first[r.fn.Name]
			if !seen {
				continue
			}
			st.initial = n
		}
		if ready, _ := r.pods.Counts(); ready >= st.initial {
			st.ready = true
		}
	}
}

// serve sends a request to the revision the split picks.
func (p *Platform) serveRoute(rt *fnRoute, w http.ResponseWriter, req *http.Request) {
	rt.mu.Lock()
	var r *revision
	if sum(rt.sched.Percent()) > 0 {
		r = rt.revs[rt.sched.Pick(rt.rng)]
	}
	rt.mu.Unlock()
	if r == nil {
		// Before any revision is Ready nothing holds the route yet: the
		// first revision's activator holds the request, as Knative's
		// first revision takes the route once Ready.
		r = rt.revs[0]
	}
	p.serveRevision(r, w, req)
}

// serveRevision hands a request to one revision's ingress, naming the
// revision in the response.
func (p *Platform) serveRevision(r *revision, w http.ResponseWriter, req *http.Request) {
	if st := r.route; st != nil {
		if !st.deployed.Load() {
			// A tag's URL exists once its revision does. Traffic to it
			// starts at the revision's deployAt, which the route loop
			// reaches up to routeResolution late: wait that out.
			select {
			case <-st.created:
			case <-req.Context().Done():
				return
			case <-time.After(tagWait):
				http.Error(w, "platform: revision "+r.fn.Name+" is not created yet", http.StatusNotFound)
				return
			}
		}
		w.Header().Set(wire.HeaderRevision, st.name)
	}
	r.ingress().ServeHTTP(w, req)
}

func sum(p []int) int {
	n := 0
	for _, v := range p {
		n += v
	}
	return n
}

// RouteStatus is a route's revisions as the route loop saw them.
type RouteStatus struct {
	Function  string
	Revisions []RevisionStatus
	// Splits are the splits put in force, in order.
	Splits []SplitChange
}

// RevisionStatus is one revision of a route.
type RevisionStatus struct {
	// Name is the revision's name (v1); Key the name the platform serves
	// it as (its pods', autoscaler's and metrics' name).
	Name, Key, Tag string
	// DeployedAt and FirstTraffic are offsets from the traffic's start
	// (-1: not created, never given traffic).
	DeployedAt, FirstTraffic time.Duration
	Ready                    bool
}

// Routes reports every route's revisions and the splits put in force.
func (p *Platform) Routes() []RouteStatus {
	var out []RouteStatus
	for _, name := range p.routeOrder {
		rt := p.routes[name]
		rt.mu.Lock()
		rs := RouteStatus{Function: name, Splits: append([]SplitChange(nil), rt.splits...)}
		for i, r := range rt.revs {
			st := r.route
			rs.Revisions = append(rs.Revisions, RevisionStatus{Name: st.name, Key: r.fn.Name, Tag: rt.cfg.Revisions[i].Tag,
				DeployedAt: st.deployedAt, FirstTraffic: st.firstTraffic, Ready: st.ready})
		}
		rt.mu.Unlock()
		out = append(out, rs)
	}
	return out
}

// Created reports whether a revision has been created: always for a
// function without revisions, from its creation on for a route's.
func (p *Platform) Created(name string) bool {
	r := p.revs[name]
	return r != nil && (r.route == nil || r.route.deployed.Load())
}

// RouteFor maps a scenario function with revisions onto a Route under pol:
// each revision as FunctionFor maps a function, with its settings laid
// over the policy's, and the split schedule the way pol's rollout variant
// makes it (knroute.ApplyRollout), as the simulator does.
func RouteFor(f scenarios.Function, index int, sc *scenarios.Scenario, pol scenarios.Policy) (Route, error) {
	if index < 0 || index >= len(sc.Functions) {
		return Route{}, fmt.Errorf("function index %d: the scenario has %d functions", index, len(sc.Functions))
	}
	rc := Route{Name: f.Name, Steps: f.Split, Seed: sc.Seed, Index: index, Variant: pol.Rollout}
	if pol.Rollout != nil {
		rc.Steps = knroute.ApplyRollout(f.Split, *pol.Rollout, len(f.Revisions))
		rc.RolledOut = knroute.RolledOut(f.Split)
	}
	for _, rev := range f.Revisions {
		p := pol
		p.Settings = maps.Clone(pol.Settings)
		if p.Settings == nil {
			p.Settings = map[string]string{}
		}
		maps.Copy(p.Settings, rev.Settings)
		fn := FunctionFor(rev.Function, sc, p)
		fn.Name = rev.Name
		rc.Revisions = append(rc.Revisions, RouteRevision{Function: fn, DeployAt: rev.DeployAt, Tag: rev.Tag})
	}
	return rc, nil
}

// revisionSummaries completes the load generator's per-revision figures
// (requests, cold starts, latency, read from the revision each response
// names) with what the platform knows: every revision in the scenario's
// order, its creation, first traffic and pods, and the rollout's cold
// starts (those of the revisions created after the start), as the
// simulator reports them. stats gives a revision's pod figures at the end
// and at the traffic's start.
func revisionSummaries(sum *results.Summary, routes []RouteStatus, stats func(key string) (end, base pods.Stats)) {
	byKey := map[[2]string]results.RevisionSummary{}
	for _, rs := range sum.Revisions {
		byKey[[2]string{rs.Function, rs.Revision}] = rs
	}
	var out []results.RevisionSummary
	var rollout int64
	for _, rt := range routes {
		for _, rev := range rt.Revisions {
			rs, seen := byKey[[2]string{rt.Function, rev.Name}]
			if !seen {
				rs = results.RevisionSummary{Function: rt.Function, Revision: rev.Name}
			}
			rs.Tag = rev.Tag
			rs.DeployAtSeconds, rs.FirstTrafficSeconds = -1, -1
			if rev.DeployedAt >= 0 {
				rs.DeployAtSeconds = round3(rev.DeployedAt.Seconds())
			}
			if rev.FirstTraffic >= 0 {
				rs.FirstTrafficSeconds = round3(rev.FirstTraffic.Seconds())
			}
			end, base := stats(rev.Key)
			rs.PodStarts = end.Starts - base.Starts
			rs.PodSeconds = round3(end.PodSeconds - base.PodSeconds)
			rs.MaxPods = end.MaxPods
			if rev.DeployedAt > 0 {
				rollout += rs.ColdStarts
			}
			out = append(out, rs)
		}
	}
	sum.Revisions = out
	sum.RolloutColdStarts = &rollout
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// WriteTimeseries writes the autoscaler's ticks as timeseries.csv
// (controller.WriteCSV's rows, times from started). With routes, the
// revision column of a route's revision gives way to function, revision
// and percent (its share of the route when the tick was taken), the
// simulator's columns for revisions, so each revision has rows of its own
// with the split beside them.
func WriteTimeseries(w io.Writer, started, began time.Time, ticks []controller.Tick, routes []RouteStatus) error {
	if len(routes) == 0 {
		return controller.WriteCSV(w, started, ticks)
	}
	var buf bytes.Buffer
	if err := controller.WriteCSV(&buf, started, ticks); err != nil {
		return err
	}
	type revAt struct {
		fn, rev string
		route   *RouteStatus
		index   int
	}
	keys := map[string]revAt{}
	for i := range routes {
		for j, rv := range routes[i].Revisions {
			keys[rv.Key] = revAt{routes[i].Function, rv.Name, &routes[i], j}
		}
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	for n, row := range rows {
		out := append([]string{row[0]}, "function", "revision", "percent")
		if n > 0 {
			out[1], out[2], out[3] = row[1], row[1], ""
			if k, ok := keys[row[1]]; ok {
				out[1], out[2] = k.fn, k.rev
				out[3] = strconv.Itoa(percentAt(k.route.Splits, k.index, ticks[n-1].Time.Sub(began)))
			}
		}
		cw.Write(append(out, row[2:]...))
	}
	cw.Flush()
	return cw.Error()
}

// percentAt is revision i's share of the route at offset t.
func percentAt(splits []SplitChange, i int, t time.Duration) int {
	p := 0
	for _, s := range splits {
		if s.At > t {
			break
		}
		p = s.Percent[i]
	}
	return p
}

// RevisionSeconds gives each route revision's ready pods and share at the
// end of every second of the run (from the ticks, as podsPerSecond gives
// the totals), for the report's pods-per-revision chart.
func RevisionSeconds(began time.Time, d time.Duration, ticks []controller.Tick, routes []RouteStatus, each func(t int64, name string, ready, percent int)) {
	type rev struct {
		name  string
		route *RouteStatus
		index int
	}
	var revs []rev
	keys := map[string]int{}
	for i := range routes {
		for j, rv := range routes[i].Revisions {
			name := rv.Name
			if len(routes) > 1 {
				name = routes[i].Function + "/" + rv.Name
			}
			keys[rv.Key] = len(revs)
			revs = append(revs, rev{name, &routes[i], j})
		}
	}
	ready := make([]int, len(revs))
	k := 0
	for sec := int64(0); sec < int64(math.Ceil(d.Seconds())); sec++ {
		end := time.Duration(sec+1) * time.Second
		for ; k < len(ticks) && ticks[k].Time.Sub(began) < end; k++ {
			if i, ok := keys[ticks[k].Revision]; ok {
				ready[i] = ticks[k].Pods.Ready
			}
		}
		for i, r := range revs {
			each(sec, r.name, ready[i], percentAt(r.route.Splits, r.index, end))
		}
	}
}

// TagTraffic is the traffic of sc's tags as the load generator sends it:
// the k-th tagged revision with tagTraffic gets target base+k, the URL
// /TAG-FUNCTION/ of the platform at url, named after its function; the
// streams are the simulator's (knroute.WithTags).
func TagTraffic(sc *scenarios.Scenario, url string, base int) (tags []knroute.TagStream, urls, names []string) {
	for _, f := range sc.Functions {
		for _, rev := range f.Revisions {
			if rev.TagTraffic == nil {
				continue
			}
			tags = append(tags, knroute.TagStream{Pattern: rev.TagTraffic, Start: rev.DeployAt, Function: base + len(tags)})
			urls = append(urls, url+"/"+rev.Tag+"-"+f.Name+"/")
			names = append(names, f.Name)
		}
	}
	return tags, urls, names
}
