package simulator

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// The OpenFaaS gateway's own request path. A scenario's Activator at 0
// takes autoscaler.DefaultQueueDepth and autoscaler.DefaultTimeout, the
// platform defaults every world shares, except that the OpenFaaS gateway
// times out at its own upstream timeout.
const (
	// OpenFaaSTimeout is the OpenFaaS gateway's upstream timeout.
	OpenFaaSTimeout = autoscaler.GatewayTimeout
	// OpenFaaSPoll is how often the OpenFaaS gateway polls for a ready
	// replica while it holds a request at zero.
	OpenFaaSPoll = autoscaler.GatewayPoll
	// DefaultMaxPods is the platform's capacity in pods when Options
	// leaves it at 0: the largest revision a policy may ask for.
	DefaultMaxPods = autoscaler.MaxPods
	// DrainLimit is how long the run may go on after the traffic ends for
	// the last requests to complete; those still unfinished then are
	// reported as such. Service times are bounded at parse time, so only a
	// pathological tail reaches it.
	DrainLimit = 24 * time.Hour
)

// epoch is the wall time the virtual clock starts at: fixed, so policies
// see the same times in every run.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const second = int64(time.Second)

// family is a platform's request path; see the package documentation.
type family uint8

const (
	famKnative family = iota
	famFrontEnd
	famHPA
	famOpenFaaS
	famLambda
)

// familyOf is the request path policy p declared in the registry (the
// activator's for a name that is not registered), and for a policy on the
// Lambda path the platform's rules from its Instances.
func familyOf(p autoscaler.Policy) (family, autoscaler.Instances, error) {
	path, _ := autoscaler.PathOf(p.Name())
	switch path {
	case autoscaler.PathDirect:
		return famHPA, autoscaler.Instances{}, nil
	case autoscaler.PathGateway:
		return famOpenFaaS, autoscaler.Instances{}, nil
	case autoscaler.PathLambda:
		ip, ok := p.(autoscaler.InstancePolicy)
		if !ok {
			return 0, autoscaler.Instances{}, fmt.Errorf("policy %s is on the Lambda request path but does not give the platform its keep-alive and limits (autoscaler.InstancePolicy)", p.Name())
		}
		in := ip.Instances()
		if in.FirstFree {
			return famFrontEnd, in, nil
		}
		if in.KeepAlive <= 0 || in.Min < 0 || in.Max < 1 || in.Max < in.Min {
			return 0, in, fmt.Errorf("policy %s: Lambda instances %+v: want keep-alive > 0 and 0 <= min <= max, max >= 1", p.Name(), in)
		}
		return famLambda, in, nil
	}
	return famKnative, autoscaler.Instances{}, nil
}

func (f family) String() string {
	return [...]string{"knative", "front end", "hpa", "openfaas", "lambda"}[f]
}

// Pod states.
const (
	podStarting uint8 = iota
	podReady
	podDraining
	podGone
)

type pod struct {
	id       int64
	created  int64
	readyAt  int64
	inflight int32
	freePos  int32 // index in fnState.free, -1 when not there (Lambda: 0 when in the idle list)
	state    uint8

	// The Lambda path's instance bookkeeping.
	prev, next    int32   // neighbours in the most-recently-used list
	idleSince     int64   // when the instance last went idle
	expiryPending bool    // an evExpire for this instance is in the heap
	provisioned   bool    // one of min: never retired
	bound         waiting // the request waiting for this starting instance
}

// fnState is one function's revision: its policy, pods and queues.
type fnState struct {
	idx     int32
	name    string
	rev     *revision // nil for a function without revisions
	memMB   float64
	cc      int32 // 0 = unlimited
	service dist.Dist
	startup scenarios.Startup
	pol     autoscaler.Policy
	family  family
	depth   int
	timeout int64

	svcRNG, podRNG *rand.Rand

	pods     []pod
	free     []int32 // ready pods with a free slot
	rr       int
	reusable []int32 // indices of gone pods
	nextPod  int64

	nStarting, nReady, nDraining int
	idleReady                    int
	inflight                     int

	// The Lambda path: idle instances most recently used first (mru is
	// the head, -1 when none), the keep-alive and the limits.
	lambda           bool
	mru              int32
	keep             int64
	minInst, maxInst int

	queue                 ring // waiting for a slot (activator buffer or pod queues)
	held                  ring // OpenFaaS gateway, at zero
	buffered              int  // queue entries counted against depth
	inTransit             int  // OpenFaaS requests between a poll's release and dispatch
	boundWaiting          int  // Lambda requests waiting for their own new instance
	queueTimer, heldTimer bool
	tickNowPending        bool

	desired   int
	panic     bool
	activator bool

	// Integrals since the last advance, in request- or pod-nanoseconds.
	last                         int64
	concArea, execArea           int64
	podArea, idleArea            int64
	podSeconds, idleSeconds      float64
	maxConc                      int
	arrivals                     int64
	requests, completed, dropped int64
	coldStarts, podStarts        int64
	maxPods                      int
	drops                        [nDropReasons]int64
}

// timedOut classifies a request that waited for capacity until its
// deadline: the autoscaler was adding pods (timeout), or it asked for no
// more than were already ready (replica cap: its maximum, such as the
// OpenFaaS CE limit, or a decision to hold).
func (f *fnState) timedOut() dropReason {
	if f.desired > f.nReady {
		return dropTimeout
	}
	return dropReplicaCap
}

func (f *fnState) waiting() int { return f.queue.len() + f.held.len() + f.inTransit + f.boundWaiting }
func (f *fnState) nPods() int   { return f.nStarting + f.nReady + f.nDraining }

// advance integrates the function's state up to now; every handler calls it
// before changing that state.
func (f *fnState) advance(now int64) {
	dt := now - f.last
	if dt <= 0 {
		return
	}
	f.concArea += int64(f.inflight+f.waiting()) * dt
	f.execArea += int64(f.inflight) * dt
	f.podArea += int64(f.nPods()) * dt
	f.idleArea += int64(f.idleReady) * dt
	f.last = now
}

func (f *fnState) addFree(p int32) {
	if f.lambda {
		pd := &f.pods[p]
		pd.prev, pd.next, pd.freePos = -1, f.mru, 0
		if f.mru >= 0 {
			f.pods[f.mru].prev = p
		}
		f.mru = p
		return
	}
	f.pods[p].freePos = int32(len(f.free))
	f.free = append(f.free, p)
}

func (f *fnState) removeFree(p int32) {
	i := f.pods[p].freePos
	if i < 0 {
		return
	}
	if f.lambda {
		pd := &f.pods[p]
		if pd.prev >= 0 {
			f.pods[pd.prev].next = pd.next
		} else {
			f.mru = pd.next
		}
		if pd.next >= 0 {
			f.pods[pd.next].prev = pd.prev
		}
		pd.freePos = -1
		return
	}
	last := f.free[len(f.free)-1]
	f.free[i] = last
	f.pods[last].freePos = i
	f.free = f.free[:len(f.free)-1]
	f.pods[p].freePos = -1
}

func (f *fnState) hasFree() bool {
	if f.lambda {
		return f.mru >= 0
	}
	return len(f.free) > 0
}

// pick takes the next pod with a free slot: round robin, or on the Lambda
// path the most recently used.
func (f *fnState) pick() int32 {
	if f.lambda {
		return f.mru
	}
	f.rr++
	if f.rr >= len(f.free) {
		f.rr = 0
	}
	return f.free[f.rr]
}

// startupDelay samples a new pod's time to readiness: the phases, then the
// wait for the next readiness probe.
func (f *fnState) startupDelay() int64 {
	var d int64
	for _, ph := range [...]dist.Dist{f.startup.Schedule, f.startup.ImagePull, f.startup.ContainerStart, f.startup.AppInit} {
		if ph != nil {
			d += max(0, int64(ph.Sample(f.podRNG)))
		}
	}
	if p := int64(f.startup.ReadinessPeriod); p > 0 {
		d = (d + p - 1) / p * p
	}
	return d
}

type engine struct {
	h      eventHeap
	fns    []*fnState
	all    *results.Histogram
	cold   *results.Histogram
	reqW   *bufio.Writer
	tsW    *bufio.Writer
	series func(Second)
	buf    []byte
	multi  bool

	routes    []*route
	revisions bool
	tags      []tagStream
	err       error // a revision that could not be created

	totalPods, maxPods int
	podLimit           int
	podsRefused        int64
	// podLog, when set, hears every pod created (+1) or gone (-1): a
	// fleet run sums its functions' pods from it.
	podLog func(now int64, delta int)
	// rowEnd, when set, hears the end time of every requests.csv row: a
	// fleet run merges its functions' rows in time order.
	rowEnd      func(end int64)
	outstanding int64
	stop        bool
	duration    int64
}

// Run simulates sc under the policy pol (one instance per function) and
// returns the summary. It keeps no global state: separate Runs may go on
// concurrently.
func Run(ctx context.Context, sc *scenarios.Scenario, pol scenarios.Policy, opt Options) (*Result, error) {
	if sc == nil {
		return nil, badInput("simulator: nil scenario")
	}
	if len(sc.Functions) == 0 {
		return nil, badInput("%s: scenario has no functions", scenarioName(sc))
	}
	if sc.Traffic == nil {
		return nil, badInput("%s: scenario has no traffic", scenarioName(sc))
	}
	if sc.Duration <= 0 {
		return nil, badInput("%s: duration %v, want > 0", scenarioName(sc), sc.Duration)
	}
	pool := opt.Pool
	if pool == nil && opt.Workers > 1 {
		pool = NewPool(opt.Workers)
		defer pool.Close()
	}
	if sp, ok := fleetable(sc); ok && !opt.NoFleet {
		res, fits, out, err := runFleet(ctx, sc, pol, opt, sp, pool)
		if fits || err != nil {
			return res, err
		}
		// The pod capacity could have bound: the functions are not
		// independent after all, so they run together, the outputs going
		// on from where the fleet run left them.
		opt, check := out.resumeOptions(opt)
		opt.Pool, opt.Workers, opt.NoFleet = pool, 0, true
		if res, err = Run(ctx, sc, pol, opt); err == nil {
			err = check()
		}
		return res, err
	}
	if pool != nil {
		// One engine for every function: one task, so that Runs sharing a
		// pool still keep to its number of workers.
		var res *Result
		var err error
		opt.Pool, opt.Workers = nil, 0
		pool.each(1, func(int, int) { res, err = Run(ctx, sc, pol, opt) })
		return res, err
	}
	var fleet *fleetSeries
	if opt.FleetTimeseries != nil {
		fleet = &fleetSeries{w: bufio.NewWriterSize(opt.FleetTimeseries, 64<<10)}
		fleet.w.WriteString(fleetHeader)
		user := opt.Series
		opt.Series = func(r Second) {
			if user != nil {
				user(r)
			}
			fleet.add(r)
		}
	}
	wallStart := time.Now()
	e := &engine{
		all:      results.NewHistogram(),
		cold:     results.NewHistogram(),
		series:   opt.Series,
		multi:    len(sc.Functions) > 1,
		duration: int64(sc.Duration),
		buf:      make([]byte, 0, 256),
		podLimit: opt.MaxPods,
	}
	if e.podLimit <= 0 {
		e.podLimit = DefaultMaxPods
	}
	if err := e.newRoutes(sc, pol, opt); err != nil {
		return nil, err
	}
	if opt.Timeseries != nil {
		e.tsW = bufio.NewWriterSize(opt.Timeseries, 64<<10)
		if e.revisions {
			e.tsW.WriteString("t,function,revision,percent,arrivals,in_flight,queued,desired,ready,pods,panic\n")
		} else if e.multi {
			e.tsW.WriteString("t,function,arrivals,in_flight,queued,desired,ready,pods,panic\n")
		} else {
			e.tsW.WriteString("t,arrivals,in_flight,queued,desired,ready,pods,panic\n")
		}
	}
	if opt.Requests != nil {
		e.reqW = bufio.NewWriterSize(opt.Requests, 64<<10)
		if e.revisions {
			e.reqW.WriteString("id,function,revision,arrival_s,start_s,end_s,latency_ms,cold,status\n")
		} else {
			e.reqW.WriteString("id,function,arrival_s,start_s,end_s,latency_ms,cold,status\n")
		}
	}

	e.start()
	src := e.arrivals(sc)
	if err := e.loop(ctx, src, opt.Progress); err != nil {
		return nil, err
	}
	if fleet != nil {
		fleet.flush()
	}
	for _, w := range []*bufio.Writer{e.tsW, e.reqW, fleetWriter(fleet)} {
		if w != nil {
			if err := w.Flush(); err != nil {
				return nil, fmt.Errorf("simulator: write output: %w", err)
			}
		}
	}
	res := summarise(sc, pol, e.fns, e.all, e.cold, runTotals{e.maxPods, e.podLimit, e.podsRefused, e.outstanding}, wallStart)
	e.revisionSummaries(&res.Summary)
	return res, nil
}

func fleetWriter(s *fleetSeries) *bufio.Writer {
	if s == nil {
		return nil
	}
	return s.w
}

// runTotals are the run-wide figures beside the functions' own counts.
type runTotals struct {
	maxPods, podLimit        int
	podsRefused, outstanding int64
}

// summarise builds the Result from the functions' counts, in scenario
// order, and the run's histograms.
func summarise(sc *scenarios.Scenario, pol scenarios.Policy, fns []*fnState, all, cold *results.Histogram, t runTotals, wallStart time.Time) *Result {
	label := pol.Label
	if label == "" {
		label = pol.Name
	}
	res := &Result{Latency: all, ColdLatency: cold}
	s := &res.Summary
	s.Kind = "sim"
	s.Policy = label
	s.Scenario = sc.Name
	s.Backend = "simulator"
	s.Seed = sc.Seed
	s.DurationSeconds = sc.Duration.Seconds()
	s.MaxPods = t.maxPods
	if t.podsRefused > 0 {
		s.PodLimit, s.PodsRefused = t.podLimit, t.podsRefused
		s.Warnings = append(s.Warnings, fmt.Sprintf("the platform's limit of %d pods bound: %d pod creations refused", t.podLimit, t.podsRefused))
	}
	if t.outstanding > 0 {
		s.Unfinished = t.outstanding
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d requests had not finished %v after the traffic ended; the run stopped there", t.outstanding, DrainLimit))
	}
	for _, f := range fns {
		fr := FunctionResult{
			Name: f.name, Requests: f.requests, Completed: f.completed, Dropped: f.dropped, DropReasons: f.dropReasons(),
			ColdStarts: f.coldStarts, PodStarts: f.podStarts,
			PodSeconds: round3(f.podSeconds), IdlePodSeconds: round3(f.idleSeconds), MaxPods: f.maxPods,
		}
		fr.MemoryMB = f.memMB
		if f.rev != nil {
			fr.Revision = f.rev.name
		}
		res.Functions = append(res.Functions, fr)
		s.Requests += f.requests
		s.Completed += f.completed
		s.Dropped += f.dropped
		for why, n := range f.drops {
			if n > 0 {
				if s.DropReasons == nil {
					s.DropReasons = map[string]int64{}
				}
				s.DropReasons[dropReason(why).String()] += n
			}
		}
		s.ColdStarts += f.coldStarts
		s.PodStarts += f.podStarts
		s.PodSeconds += f.podSeconds
		s.IdlePodSeconds += f.idleSeconds
	}
	s.PodSeconds = round3(s.PodSeconds)
	s.IdlePodSeconds = round3(s.IdlePodSeconds)
	s.Fill(all, cold)
	wall := time.Since(wallStart).Seconds()
	s.SimWallSeconds = round3(wall)
	if wall > 0 {
		s.SimRequestsPerSecond = math.Round(float64(s.Requests) / wall)
	}
	return res
}

// badInput is a run that failed because of its scenario, traffic or
// policy settings rather than the simulator: a *badinput.Error.
func badInput(format string, a ...any) error { return badinput.Errorf(format, a...) }

func scenarioName(sc *scenarios.Scenario) string {
	switch {
	case sc.File != "":
		return sc.File
	case sc.Name != "":
		return "scenario " + sc.Name
	}
	return "scenario"
}

func newFunction(i int, fn scenarios.Function, sc *scenarios.Scenario, pol scenarios.Policy, opt Options) (*fnState, error) {
	if fn.Service == nil {
		return nil, badInput("%s: function %q has no service time distribution", scenarioName(sc), fn.Name)
	}
	if fn.ContainerConcurrency < 0 {
		return nil, badInput("%s: function %q: containerConcurrency %d, want >= 0", scenarioName(sc), fn.Name, fn.ContainerConcurrency)
	}
	var (
		p   autoscaler.Policy
		err error
	)
	if opt.NewPolicy != nil {
		p, err = opt.NewPolicy(i, fn)
	} else {
		p, err = autoscaler.NewForRevision(pol.Name, pol.Settings, autoscaler.Revision{ContainerConcurrency: fn.ContainerConcurrency})
	}
	if err != nil {
		return nil, badinput.Wrap(err)
	}
	if p.Interval() <= 0 {
		return nil, badInput("policy %s: interval %v, want > 0", p.Name(), p.Interval())
	}
	fam, inst, err := familyOf(p)
	if err != nil {
		return nil, badinput.Wrap(err)
	}
	f := &fnState{
		idx:     int32(i),
		name:    fn.Name,
		memMB:   fn.MemoryMB,
		cc:      int32(fn.ContainerConcurrency),
		service: fn.Service,
		startup: fn.Startup,
		pol:     p,
		family:  fam,
		mru:     -1,
		depth:   sc.Activator.QueueDepth,
		timeout: int64(sc.Activator.Timeout),
		// Separate streams per function and purpose: service times stay the
		// same whatever the policy does (common random numbers), so policies
		// are compared on identical work.
		svcRNG: rand.New(rand.NewPCG(uint64(sc.Seed), uint64(2*i))),
		podRNG: rand.New(rand.NewPCG(uint64(sc.Seed), uint64(2*i+1))),
	}
	if fam == famLambda {
		f.lambda = true
		f.keep, f.minInst, f.maxInst = int64(inst.KeepAlive), inst.Min, inst.Max
		// An instance serves one request at a time, as on Lambda, whatever
		// the function's containerConcurrency (a Knative setting).
		f.cc = 1
	}
	if f.depth <= 0 {
		f.depth = autoscaler.DefaultQueueDepth
	}
	if f.timeout <= 0 {
		f.timeout = int64(autoscaler.DefaultTimeout)
		if f.family == famOpenFaaS {
			f.timeout = int64(OpenFaaSTimeout)
		}
	}
	return f, nil
}

// start deploys each revision with what its policy asks for at time 0 and
// schedules the periodic events.
func (e *engine) start() {
	for _, f := range e.fns {
		if f.rev != nil && f.rev.deployAt > 0 {
			continue
		}
		if f.lambda {
			// The platform sizes the revision per request; only the
			// provisioned instances exist at deploy time.
			for range f.minInst {
				if !e.podRoom() {
					e.podsRefused++
					continue
				}
				f.pods[e.newPod(f, 0, true)].provisioned = true
			}
			f.desired = f.minInst
			continue
		}
		d := f.pol.Tick(epoch, autoscaler.Pods{})
		// Desired is the policy's scale even when it had no data yet: the
		// KPA reports its initial scale, as a freshly deployed revision
		// has. The HPA and OpenFaaS never start a workload at zero.
		path, _ := autoscaler.PathOf(f.pol.Name())
		n := autoscaler.DeployedPods(path, d)
		f.desired, f.panic = n, d.Panic
		f.activator = d.ActivatorInPath || n == 0
		for range n {
			if !e.podRoom() {
				e.podsRefused++
				continue
			}
			e.newPod(f, 0, true)
		}
		e.h.push(event{at: int64(f.pol.Interval()), kind: evTick, fn: f.idx})
	}
	e.startRevisions()
	e.h.push(event{at: second, kind: evSecond})
}

func (e *engine) loop(ctx context.Context, src traffic.Source, progress func(time.Duration, time.Duration)) error {
	next, more := src.Next()
	var lastAt time.Duration
	wallNext := time.Now().Add(time.Second)
	// ctx is checked every simulated second and every 64k events, so an
	// interrupt ends even a second with millions of events at once.
	steps := 0
	for !e.stop {
		if steps++; steps&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if more && int64(next.At) < e.h.top().at {
			if next.At < lastAt {
				return badInput("traffic: arrival at %v comes before the previous one at %v; want arrivals in time order", next.At, lastAt)
			}
			f, err := e.target(next)
			if err != nil {
				return err
			}
			lastAt = next.At
			e.arrive(f, int64(next.At), int64(next.Work))
			next, more = src.Next()
			continue
		}
		ev := e.h.pop()
		if ev.kind != evSecond {
			e.handle(&ev)
			if e.err != nil {
				return e.err
			}
			continue
		}
		e.second(ev.at, !more)
		if err := ctx.Err(); err != nil {
			return err
		}
		if progress != nil && ev.at%(16*second) == 0 {
			if now := time.Now(); now.After(wallNext) {
				wallNext = now.Add(time.Second)
				progress(time.Duration(ev.at), time.Duration(e.duration))
			}
		}
	}
	return nil
}

// handle dispatches every event but the second's, which the loops
// (this one and the fleet's) handle themselves.
func (e *engine) handle(ev *event) {
	switch ev.kind {
	case evComplete:
		e.complete(ev)
	case evPodReady:
		e.podReady(ev)
	case evRelease:
		e.release(ev)
	case evTimeout:
		e.timeout(ev)
	case evExpire:
		e.expire(ev)
	case evTick:
		e.tick(ev)
	case evDeploy:
		e.err = e.deploy(e.fns[ev.fn], ev.at)
	case evRoute:
		e.routeEvent(ev)
	}
}

func (e *engine) arrive(f *fnState, now, work int64) {
	f.advance(now)
	f.arrivals++
	f.requests++
	e.outstanding++
	id := f.requests
	if work <= 0 {
		work = max(0, int64(f.service.Sample(f.svcRNG)))
	}
	if f.hasFree() {
		e.dispatch(f, f.pick(), now, now, work, id)
		if c := f.inflight + f.waiting(); c > f.maxConc {
			f.maxConc = c
		}
		return
	}
	if f.lambda {
		e.arriveLambda(f, now, work, id)
		if c := f.inflight + f.waiting(); c > f.maxConc {
			f.maxConc = c
		}
		return
	}
	if f.pol.Poke(epoch.Add(time.Duration(now)), float64(f.inflight+f.waiting()+1)) {
		e.tickNow(f, now)
	}
	w := waiting{arr: now, work: work, id: id, deadline: now + f.timeout}
	switch {
	case f.family == famHPA && f.nReady == 0:
		// No ready endpoints behind the Service: connection refused.
		e.drop(f, now, now, id, dropNoEndpoints)
		return
	case f.family == famOpenFaaS && f.nReady == 0:
		f.held.push(w)
		e.armHeld(f)
	case f.family == famFrontEnd || f.family == famKnative && (f.activator || f.nReady == 0):
		if f.buffered >= f.depth {
			e.drop(f, now, now, id, dropQueueFull)
			return
		}
		w.buffered = true
		f.buffered++
		f.queue.push(w)
		e.armQueue(f)
	default:
		f.queue.push(w)
		e.armQueue(f)
	}
	if c := f.inflight + f.waiting(); c > f.maxConc {
		f.maxConc = c
	}
}

// dispatch starts a request on pod p, which has a free slot. It is a cold
// start when the pod became ready after the request arrived; on the Lambda
// path only a request bound to its own new instance is (runBound).
func (e *engine) dispatch(f *fnState, p int32, now, arr, work, id int64) {
	e.run(f, p, now, arr, work, id, !f.lambda && f.pods[p].readyAt > arr)
}

func (e *engine) run(f *fnState, p int32, now, arr, work, id int64, cold bool) {
	pd := &f.pods[p]
	if pd.inflight == 0 {
		f.idleReady--
	}
	pd.inflight++
	f.inflight++
	if f.cc > 0 && pd.inflight >= f.cc {
		f.removeFree(p)
	}
	e.h.push(event{at: now + work, kind: evComplete, fn: f.idx, pod: p, arr: arr, aux: now, id: id, cold: cold})
}

func (e *engine) complete(ev *event) {
	f := e.fns[ev.fn]
	now := ev.at
	f.advance(now)
	pd := &f.pods[ev.pod]
	pd.inflight--
	f.inflight--
	f.completed++
	e.outstanding--
	lat := time.Duration(now - ev.arr)
	e.all.Record(lat)
	if ev.cold {
		f.coldStarts++
		e.cold.Record(lat)
	}
	if f.rev != nil {
		f.rev.record(lat, ev.cold)
	}
	if e.reqW != nil {
		e.requestRow(f, ev.id, ev.arr, ev.aux, now, ev.cold, "ok")
	}
	switch pd.state {
	case podDraining:
		if pd.inflight == 0 {
			e.gone(f, ev.pod, now)
		}
	case podReady:
		if pd.inflight == 0 {
			f.idleReady++
		}
		if f.lambda {
			e.freedLambda(f, ev.pod, now)
			break
		}
		if pd.freePos < 0 && (f.cc == 0 || pd.inflight < f.cc) {
			f.addFree(ev.pod)
		}
		if f.queue.len() > 0 {
			e.drainQueue(f, now)
		}
	}
}

// drainQueue starts waiting requests, oldest first, while pods have room.
func (e *engine) drainQueue(f *fnState, now int64) {
	for f.queue.len() > 0 && f.hasFree() {
		w := f.queue.pop()
		if w.buffered {
			f.buffered--
		}
		if now >= w.deadline {
			e.drop(f, w.arr, now, w.id, f.timedOut())
			continue
		}
		e.dispatch(f, f.pick(), now, w.arr, w.work, w.id)
	}
}

func (e *engine) drop(f *fnState, arr, now, id int64, why dropReason) {
	f.dropped++
	f.drops[why]++
	e.outstanding--
	if e.reqW != nil {
		e.requestRow(f, id, arr, now, now, false, "dropped")
	}
}

func (e *engine) armQueue(f *fnState) {
	if !f.queueTimer && f.queue.len() > 0 {
		f.queueTimer = true
		e.h.push(event{at: f.queue.front().deadline, kind: evTimeout, fn: f.idx})
	}
}

func (e *engine) armHeld(f *fnState) {
	if !f.heldTimer && f.held.len() > 0 {
		f.heldTimer = true
		e.h.push(event{at: f.held.front().deadline, kind: evTimeout, fn: f.idx, pod: 1})
	}
}

// timeout drops the requests at the head of a queue whose deadline has
// passed, then re-arms for the new head.
func (e *engine) timeout(ev *event) {
	f := e.fns[ev.fn]
	now := ev.at
	f.advance(now)
	if ev.pod == 1 {
		f.heldTimer = false
		for f.held.len() > 0 && f.held.front().deadline <= now {
			w := f.held.pop()
			e.drop(f, w.arr, now, w.id, f.timedOut())
		}
		e.armHeld(f)
		return
	}
	f.queueTimer = false
	for f.queue.len() > 0 && f.queue.front().deadline <= now {
		w := f.queue.pop()
		if w.buffered {
			f.buffered--
		}
		e.drop(f, w.arr, now, w.id, f.timedOut())
	}
	e.armQueue(f)
}

// podRoom reports whether the platform has room for one more pod.
func (e *engine) podRoom() bool { return e.totalPods < e.podLimit }

func (e *engine) newPod(f *fnState, now int64, ready bool) int32 {
	var p int32
	if n := len(f.reusable); n > 0 {
		p = f.reusable[n-1]
		f.reusable = f.reusable[:n-1]
	} else {
		f.pods = append(f.pods, pod{})
		p = int32(len(f.pods) - 1)
	}
	f.nextPod++
	f.pods[p] = pod{id: f.nextPod, created: now, freePos: -1, state: podStarting, prev: -1, next: -1}
	f.nStarting++
	e.totalPods++
	e.maxPods = max(e.maxPods, e.totalPods)
	if e.podLog != nil {
		e.podLog(now, +1)
	}
	f.maxPods = max(f.maxPods, f.nPods())
	if ready {
		e.becomeReady(f, p, now)
		return p
	}
	f.podStarts++
	e.h.push(event{at: now + f.startupDelay(), kind: evPodReady, fn: f.idx, pod: p, arr: f.nextPod})
	return p
}

func (e *engine) podReady(ev *event) {
	f := e.fns[ev.fn]
	pd := &f.pods[ev.pod]
	// A pod removed while starting may have had its slot reused.
	if pd.state != podStarting || pd.id != ev.arr {
		return
	}
	f.advance(ev.at)
	e.becomeReady(f, ev.pod, ev.at)
}

func (e *engine) becomeReady(f *fnState, p int32, now int64) {
	pd := &f.pods[p]
	pd.state = podReady
	pd.readyAt = now
	f.nStarting--
	f.nReady++
	f.idleReady++
	if f.lambda {
		e.readyLambda(f, p, now)
		return
	}
	f.addFree(p)
	if f.rev != nil && !f.rev.ready {
		e.revisionReady(f, now)
	}
	if f.queue.len() > 0 {
		e.drainQueue(f, now)
	}
	if f.held.len() > 0 {
		// Each held request's gateway goroutine sees the replica on its own
		// next 100 ms poll.
		poll := int64(OpenFaaSPoll)
		for f.held.len() > 0 {
			w := f.held.pop()
			k := max(1, (now-w.arr+poll-1)/poll)
			f.inTransit++
			e.h.push(event{at: w.arr + k*poll, kind: evRelease, fn: f.idx, arr: w.arr, aux: w.work, id: w.id})
		}
	}
}

// release is an OpenFaaS gateway poll that found a ready replica.
func (e *engine) release(ev *event) {
	f := e.fns[ev.fn]
	now := ev.at
	f.advance(now)
	f.inTransit--
	w := waiting{arr: ev.arr, work: ev.aux, id: ev.id, deadline: ev.arr + f.timeout}
	switch {
	case now >= w.deadline:
		e.drop(f, w.arr, now, w.id, f.timedOut())
	case f.hasFree():
		e.dispatch(f, f.pick(), now, w.arr, w.work, w.id)
	case f.nReady == 0:
		f.held.push(w)
		e.armHeld(f)
	default:
		f.queue.push(w)
		e.armQueue(f)
	}
}

func (e *engine) gone(f *fnState, p int32, now int64) {
	pd := &f.pods[p]
	switch pd.state {
	case podStarting:
		f.nStarting--
	case podReady:
		f.nReady--
	case podDraining:
		f.nDraining--
	}
	pd.state = podGone
	e.totalPods--
	if e.podLog != nil {
		e.podLog(now, -1)
	}
	f.reusable = append(f.reusable, p)
}

func (e *engine) tickNow(f *fnState, now int64) {
	if f.tickNowPending {
		return
	}
	f.tickNowPending = true
	e.h.push(event{at: now, kind: evTick, fn: f.idx, arr: 1})
}

func (e *engine) tick(ev *event) {
	f := e.fns[ev.fn]
	now := ev.at
	if ev.arr == 1 {
		f.tickNowPending = false
	} else {
		e.h.push(event{at: now + int64(f.pol.Interval()), kind: evTick, fn: f.idx})
	}
	f.advance(now)
	d := f.pol.Tick(epoch.Add(time.Duration(now)), autoscaler.Pods{Ready: f.nReady, NotReady: f.nStarting})
	if !d.Valid {
		return
	}
	want := max(0, d.Desired)
	f.desired, f.panic = want, d.Panic
	f.activator = d.ActivatorInPath || want == 0
	e.scale(f, now, want)
}

// scale creates or removes pods so that starting plus ready pods = want.
func (e *engine) scale(f *fnState, now int64, want int) {
	cur := f.nStarting + f.nReady
	for ; cur < want; cur++ {
		if !e.podRoom() {
			e.podsRefused += int64(want - cur)
			break
		}
		e.newPod(f, now, false)
	}
	if cur <= want {
		return
	}
	cand := make([]int32, 0, cur)
	for i := range f.pods {
		if s := f.pods[i].state; s == podStarting || s == podReady {
			cand = append(cand, int32(i))
		}
	}
	// The platforms' shared choice: starting pods first, then the least
	// busy, newest first among equals.
	slices.SortFunc(cand, func(a, b int32) int {
		pa, pb := &f.pods[a], &f.pods[b]
		return autoscaler.ScaleDownOrder(
			autoscaler.PodState{Ready: pa.state == podReady, InFlight: int(pa.inflight), Seq: int64(pa.id)},
			autoscaler.PodState{Ready: pb.state == podReady, InFlight: int(pb.inflight), Seq: int64(pb.id)})
	})
	for _, p := range cand[:cur-want] {
		pd := &f.pods[p]
		if pd.state == podStarting || pd.inflight == 0 {
			if pd.state == podReady {
				f.removeFree(p)
				f.idleReady--
			}
			e.gone(f, p, now)
			continue
		}
		f.removeFree(p)
		pd.state = podDraining
		f.nReady--
		f.nDraining++
	}
}

// second closes the simulated second that ends at t: Record for each
// policy, a time-series row, and the end-of-run check.
func (e *engine) second(t int64, srcDone bool) {
	for _, f := range e.fns {
		f.advance(t)
		conc := float64(f.concArea) / float64(second)
		st := autoscaler.Stat{
			Concurrency:    conc,
			MaxConcurrency: float64(f.maxConc),
			RPS:            float64(f.arrivals),
			CPU:            float64(f.execArea) / float64(second) * 1000,
		}
		// On the Lambda path the platform sizes the revision itself; a
		// revision not created yet has no autoscaler.
		if !f.lambda && (f.rev == nil || f.rev.deployed) && f.pol.Record(epoch.Add(time.Duration(t)), st) {
			e.tickNow(f, t)
		}
		f.podSeconds += float64(f.podArea) / float64(second)
		f.idleSeconds += float64(f.idleArea) / float64(second)
		row := Second{
			T: t/second - 1, Function: int(f.idx), Name: f.name, Arrivals: f.arrivals,
			Concurrency: conc, Queued: f.waiting(), Desired: f.desired,
			Ready: f.nReady, Pods: f.nPods(), Panic: f.panic,
		}
		if f.rev != nil {
			row.Revision, row.Percent = f.rev.name, f.rev.route.percent[f.rev.index]
		} else if e.revisions {
			row.Percent = 100 // a function of one revision beside ones with several
		}
		if e.tsW != nil {
			e.seriesRow(&row)
		}
		if e.series != nil {
			e.series(row)
		}
		f.concArea, f.execArea, f.podArea, f.idleArea = 0, 0, 0, 0
		f.arrivals = 0
		f.maxConc = f.inflight + f.waiting()
	}
	if srcDone && t >= e.duration && (e.outstanding == 0 || t >= e.duration+int64(DrainLimit)) {
		e.stop = true
		return
	}
	e.h.push(event{at: t + second, kind: evSecond})
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// arriveLambda is Lambda's path for a request that found no idle
// instance: it is bound to a new instance and waits for exactly that one,
// even if another frees up first. At the concurrency limit it waits in the
// front end (bounded and timed out like the activator) for the first
// instance that frees.
func (e *engine) arriveLambda(f *fnState, now, work, id int64) {
	w := waiting{arr: now, work: work, id: id, deadline: now + f.timeout}
	if f.nStarting+f.nReady < f.maxInst {
		if e.podRoom() {
			p := e.newPod(f, now, false)
			f.pods[p].bound = w
			f.boundWaiting++
			f.desired = f.nStarting + f.nReady
			return
		}
		// A full platform: the request waits for an instance to free.
		e.podsRefused++
	}
	if f.buffered >= f.depth {
		e.drop(f, now, now, id, dropQueueFull)
		return
	}
	w.buffered = true
	f.buffered++
	f.queue.push(w)
	e.armQueue(f)
}

// readyLambda starts the request bound to a new instance; a provisioned
// instance, deployed ready, has none and goes idle.
func (e *engine) readyLambda(f *fnState, p int32, now int64) {
	if w := f.pods[p].bound; w.id != 0 {
		f.boundWaiting--
		e.run(f, p, now, w.arr, w.work, w.id, true)
		return
	}
	e.freedLambda(f, p, now)
}

// freedLambda puts an instance that went idle at the head of the idle
// list (it is now the most recently used), lets it take a queued request,
// and starts its keep-alive when it has nothing left to do.
func (e *engine) freedLambda(f *fnState, p int32, now int64) {
	f.addFree(p)
	if f.queue.len() > 0 {
		e.drainQueue(f, now)
	}
	pd := &f.pods[p]
	if pd.inflight > 0 || pd.provisioned {
		return
	}
	pd.idleSince = now
	if !pd.expiryPending {
		pd.expiryPending = true
		e.h.push(event{at: now + f.keep, kind: evExpire, fn: f.idx, pod: p, arr: pd.id})
	}
}

// expire retires an instance idle for the keep-alive. Each instance has at
// most one expiry in the heap: one that finds the instance used since is
// moved to the end of its new idle period.
func (e *engine) expire(ev *event) {
	f := e.fns[ev.fn]
	pd := &f.pods[ev.pod]
	if pd.id != ev.arr || pd.state != podReady {
		return
	}
	pd.expiryPending = false
	if pd.inflight > 0 || pd.provisioned {
		return
	}
	if end := pd.idleSince + f.keep; end > ev.at {
		pd.expiryPending = true
		e.h.push(event{at: end, kind: evExpire, fn: f.idx, pod: ev.pod, arr: pd.id})
		return
	}
	f.advance(ev.at)
	f.removeFree(ev.pod)
	f.idleReady--
	e.gone(f, ev.pod, ev.at)
	f.desired = f.nStarting + f.nReady
}
