package platform

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/autoscaler/controller"
	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/platform/activator"
	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/platform/queueproxy"
	"github.com/scalebench/scalebench/scenarios"
)

// Function is one revision to serve.
type Function struct {
	// Name is the revision's name and the first path segment that routes
	// to it (/NAME/...); with one function every path routes to it.
	Name string
	// Args are cmd/fn flags: --init, --init-mode, --work, --spin, --alloc.
	Args []string
	// Command, when set, is the user's own function, run under the
	// runtime contract (pods.Command) instead of cmd/fn; Args and the
	// start-up model's AppInit do not apply to it (its init is its own).
	Command *pods.Command
	// ContainerConcurrency is the per-pod in-flight limit; 0 = unlimited.
	ContainerConcurrency int
	// Policy names the autoscaler (autoscaler.Names()) and Settings
	// override its defaults.
	Policy   string
	Settings map[string]string
	// QueueDepth and QueueTimeout bound the activator's buffer; 0 means
	// the platform defaults (autoscaler.DefaultQueueDepth and
	// DefaultTimeout), the simulator's too.
	QueueDepth   int
	QueueTimeout time.Duration
	// Startup is the scenario's start-up model. Each new pod waits the
	// sum of a draw from Schedule, ImagePull and ContainerStart before its
	// process is started (what a cluster spends before the container runs)
	// and gets a draw from AppInit as fn's --init. Nil phases take no time;
	// ReadinessPeriod is not used: readiness is signalled and probed as
	// fast as the process allows.
	Startup scenarios.Startup
	// Seed seeds the start-up draws, so pod n of a function gets the same
	// start-up in every run.
	Seed int64
}

// Config describes a platform.
type Config struct {
	// Addr is where the activator listens; default 127.0.0.1:0. Only
	// loopback addresses are accepted.
	Addr string
	// FnBinary is the cmd/fn executable (make build writes bin/fn).
	FnBinary  string
	Functions []Function
	// Routes are functions served by several revisions behind a split.
	Routes []Route
	// PodOutput receives the pods' stdout and stderr; nil discards them.
	PodOutput io.Writer
	// StopTimeout bounds each pod's drain; default 30 s.
	StopTimeout time.Duration
	// Log receives the controller's and pods' errors; nil discards them.
	Log io.Writer
}

// WallClock is the real time.
type WallClock struct{}

// Now is time.Now.
func (WallClock) Now() time.Time { return time.Now() }

type revision struct {
	fn   Function
	pods *pods.Manager
	act  *activator.Activator
	// lambda is the revision's ingress instead of act when its policy is
	// on the Lambda request path (see lambdaInstances).
	lambda *activator.Lambda

	rng *rand.Rand // start-up draws; used only by the pod manager's reconcile loop

	mu  sync.Mutex
	qps map[*pods.Pod]*queueproxy.Proxy
	// idle is the idle time of pods already out of routing.
	idle time.Duration
	// zeroPoke is when the activator first buffered a request while the
	// revision had no pod at all, until a pod is ready: the start of a
	// scale from zero, and the Trigger of every pod created meanwhile.
	zeroPoke time.Time
	// released is when each pod's first request took a slot on it.
	released map[string]time.Time
	// crashes are the first maxCrashReports crash reports, with the
	// number of requests each pod held when it died.
	crashes []CrashReport

	// route is set for a revision of a Route; policy is its autoscaler
	// until it is created (deployRevision).
	route     *routeState
	policy    autoscaler.Policy
	instances autoscaler.Instances
}

// maxCrashReports bounds the crash reports kept, and logged, per revision:
// a crash loop restarts a pod every few seconds for as long as it runs.
const maxCrashReports = 10

// CrashReport is a pod that died without being asked to.
type CrashReport struct {
	pods.Crash
	// InFlight is how many requests the pod held when it died (they are
	// retried on another pod when they had not reached it, else they fail).
	InFlight int
}

// ingress is a revision's front door, which every request passes: the
// activator, or on the Lambda path its front end.
type ingress interface {
	http.Handler
	Collect(now time.Time) activator.Sample
	Errors() map[string]int64
}

func (r *revision) ingress() ingress {
	if r.lambda != nil {
		return r.lambda
	}
	return r.act
}

// dispatch tells the activator a pod slot freed; Lambda's front end hands
// an instance on when its request returns.
func (r *revision) dispatch() {
	if r.act != nil {
		r.act.Dispatch()
	}
}

// inFlight is the number of requests a ready pod's queue-proxy holds.
func (r *revision) inFlight(pod *pods.Pod) int {
	r.mu.Lock()
	qp := r.qps[pod]
	r.mu.Unlock()
	if qp == nil {
		return 0
	}
	return qp.InFlight()
}

// launch draws the next pod's start-up from the function's phases.
func (r *revision) launch() pods.Launch {
	var l pods.Launch
	su := r.fn.Startup
	for _, d := range []dist.Dist{su.Schedule, su.ImagePull, su.ContainerStart} {
		if d != nil {
			l.Delay += max(0, d.Sample(r.rng))
		}
	}
	if su.AppInit != nil {
		// Drawn for a user's command too, so pod n gets the same delays
		// whatever runs in it; only cmd/fn takes it as its init.
		init := max(0, su.AppInit.Sample(r.rng))
		if r.fn.Command == nil {
			l.Args = []string{"--init=" + init.String()}
		}
	}
	r.mu.Lock()
	l.Trigger = r.zeroPoke
	r.mu.Unlock()
	return l
}

// poke passes the activator's signal to the autoscaler, noting first when a
// request waits at zero so the scale from zero it causes can be timed.
func (p *Platform) poke(r *revision, demand float64) {
	p.noteZero(r)
	p.ctrl.Poke(r.fn.Name, demand)
}

// noteZero records when demand first met the revision with no pod at all,
// the start of a scale from zero, so its pods' start-ups can be timed.
func (p *Platform) noteZero(r *revision) {
	if ready, notReady := r.pods.Counts(); ready+notReady == 0 {
		now := time.Now()
		r.mu.Lock()
		if r.zeroPoke.IsZero() {
			r.zeroPoke = now
		}
		r.mu.Unlock()
	}
}

// Platform is a running local platform.
type Platform struct {
	cfg       Config
	crashes   *prometheus.CounterVec
	revs      map[string]*revision
	order     []string
	ctrl      *controller.Controller
	registry  *prometheus.Registry
	transport *http.Transport
	predial   predialer
	ln        net.Listener
	srv       *http.Server
	started   time.Time

	// routes are the functions with several revisions, by name; tags the
	// revisions addressed directly, by tag URL path segment.
	routes     map[string]*fnRoute
	routeOrder []string
	tags       map[string]*revision
	routeOnce  sync.Once
	routesEnd  sync.Once
	stopRoutes context.CancelFunc
	routesDone chan struct{}

	stopCtrl context.CancelFunc
	ctrlDone chan struct{}
	srvDone  chan struct{}
	close    sync.Once
	closeErr error
}

var (
	_ autoscaler.Metrics = (*Platform)(nil)
	_ autoscaler.Scaler  = (*Platform)(nil)
)

// Start validates cfg, starts every function's autoscaler and the activator
// listener. Pods start as the policies ask for them.
func Start(cfg Config) (*Platform, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("platform address: want a loopback host:port such as 127.0.0.1:8080, got %q", cfg.Addr)
	}
	if len(cfg.Functions) == 0 && len(cfg.Routes) == 0 {
		return nil, errors.New("platform: want at least one function")
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	p := &Platform{cfg: cfg, revs: map[string]*revision{}, routes: map[string]*fnRoute{}, tags: map[string]*revision{}, registry: prometheus.NewRegistry(),
		transport: queueproxy.DefaultTransport(), ctrlDone: make(chan struct{}), srvDone: make(chan struct{})}
	p.predial.conns = map[string]predialed{}
	dial := p.transport.DialContext
	p.transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if c := p.predial.take(addr); c != nil {
			return c, nil
		}
		return dial(ctx, network, addr)
	}
	p.crashes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "scalebench", Subsystem: "pods", Name: "crashes_total",
		Help: "Pod processes that exited without being asked to, by phase: starting (before ready) or serving.",
	}, []string{"revision", "phase"})
	p.registry.MustRegister(p.crashes)
	p.ctrl, err = controller.New(WallClock{}, p, p, controller.Options{
		Registerer: p.registry, Deploys: true,
		OnError: func(rev string, err error) { fmt.Fprintf(cfg.Log, "autoscaler %s: %v\n", rev, err) },
	})
	if err != nil {
		return nil, err
	}
	for _, fn := range cfg.Functions {
		if _, err := p.addRevision(fn, false); err != nil {
			p.closeManagers()
			return nil, err
		}
	}
	for _, rc := range cfg.Routes {
		if err := p.addRoute(rc); err != nil {
			p.closeManagers()
			return nil, err
		}
	}
	p.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		p.closeManagers()
		return nil, fmt.Errorf("platform: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(prometheus.GathererFunc(p.gather), promhttp.HandlerOpts{}))
	mux.HandleFunc("/", p.route)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	p.started = time.Now()
	go func() {
		defer close(p.srvDone)
		p.srv.Serve(p.ln)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	p.stopCtrl = cancel
	go func() {
		defer close(p.ctrlDone)
		p.ctrl.Run(ctx)
	}()
	return p, nil
}

// validName is a name that can be a path segment of its own.
func validName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "/?# ") && name != "metrics"
}

// addRevision builds a revision's pods, ingress and policy. Unless
// deferred it is deployed at once (deployRevision); a route's later
// revision is deployed by the route loop.
func (p *Platform) addRevision(fn Function, deferred bool) (*revision, error) {
	r, err := p.newRevision(fn, deferred)
	if err != nil {
		return nil, err
	}
	p.revs[fn.Name] = r
	p.order = append(p.order, fn.Name)
	return r, nil
}

func (p *Platform) newRevision(fn Function, deferred bool) (*revision, error) {
	if !validName(fn.Name) {
		return nil, fmt.Errorf("function name %q: want a non-empty name without / ? # or spaces, other than metrics", fn.Name)
	}
	if _, dup := p.revs[fn.Name]; dup {
		return nil, fmt.Errorf("function %q listed twice", fn.Name)
	}
	if _, dup := p.routes[fn.Name]; dup {
		return nil, fmt.Errorf("function %q listed twice", fn.Name)
	}
	if fn.ContainerConcurrency < 0 {
		return nil, fmt.Errorf("function %s: containerConcurrency must be >= 0, got %d", fn.Name, fn.ContainerConcurrency)
	}
	if fn.Policy == "" {
		fn.Policy = "kpa"
	}
	policy, err := autoscaler.NewForRevision(fn.Policy, fn.Settings, autoscaler.Revision{ContainerConcurrency: fn.ContainerConcurrency})
	if err != nil {
		return nil, err
	}
	// The request path is the one the policy declared, as in the
	// simulator.
	path, _ := autoscaler.PathOf(policy.Name())
	inst, onLambda, err := lambdaInstances(policy)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	if onLambda {
		// An instance serves one request at a time, as on Lambda and in
		// the simulator, whatever the function's containerConcurrency (a
		// Knative setting).
		fn.ContainerConcurrency = 1
	}
	h := fnv.New64a()
	h.Write([]byte(fn.Name))
	r := &revision{fn: fn, qps: map[*pods.Pod]*queueproxy.Proxy{}, released: map[string]time.Time{},
		rng: rand.New(rand.NewPCG(uint64(fn.Seed), h.Sum64()))}
	if !onLambda {
		r.act, err = activator.New(activator.Config{
			Revision: fn.Name, QueueDepth: fn.QueueDepth, Timeout: fn.QueueTimeout,
			ContainerConcurrency: fn.ContainerConcurrency, Path: path,
			Poke:       func(demand float64) { p.poke(r, demand) },
			Registerer: p.registry,
		})
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
	}
	stopTimeout := p.cfg.StopTimeout
	if stopTimeout <= 0 {
		stopTimeout = 30 * time.Second
	}
	r.pods, err = pods.New(pods.Config{
		Revision: fn.Name, Binary: p.cfg.FnBinary, Args: fn.Args, StopTimeout: stopTimeout,
		Command: fn.Command, Transport: p.transport,
		OnRouted:   func(pod *pods.Pod, routed bool) { p.podRouted(r, pod, routed) },
		Output:     p.cfg.PodOutput,
		Prepare:    r.launch,
		OnReady:    func(pod *pods.Pod) { p.podReady(r, pod) },
		OnSpawned:  func(pod *pods.Pod) { p.predial.open(pod.Addr) },
		OnStopping: func(pod *pods.Pod) { p.podStopping(r, pod, stopTimeout) },
		OnGone:     func(pod *pods.Pod) { p.podGone(r, pod) },
		OnCrash:    func(pod *pods.Pod, c pods.Crash) { p.podCrashed(r, pod, c) },
		InFlight:   r.inFlight,
		OneByOne:   onLambda,
	})
	if err != nil {
		return nil, err
	}
	r.policy, r.instances = policy, inst
	if !deferred {
		if err := p.deployRevision(r, policy); err != nil {
			r.pods.Close()
			return nil, err
		}
	}
	return r, nil
}

// deployRevision puts a built revision under the controller with policy
// (the revision's own, or a rollout variant's): its first decision starts
// the initial pods. On the Lambda path its front end starts now, with its
// provisioned instances.
func (p *Platform) deployRevision(r *revision, policy autoscaler.Policy) error {
	var err error
	if r.act == nil {
		err = p.addLambda(r, r.instances)
	} else {
		err = p.ctrl.Add(r.fn.Name, policy)
	}
	if err != nil {
		return fmt.Errorf("function %s: %w", r.fn.Name, err)
	}
	return nil
}

// lambdaInstances is the request path policy declared in the registry:
// on the Lambda path (and not routing=first-free, which is the activator's
// path) the revision is sized per request from the policy's Instances, as
// in the simulator, and onLambda is set.
func lambdaInstances(policy autoscaler.Policy) (inst autoscaler.Instances, onLambda bool, err error) {
	if path, _ := autoscaler.PathOf(policy.Name()); path != autoscaler.PathLambda {
		return inst, false, nil
	}
	ip, ok := policy.(autoscaler.InstancePolicy)
	if !ok {
		return inst, false, fmt.Errorf("policy %s is on the Lambda request path but does not give the platform its keep-alive and limits (autoscaler.InstancePolicy)", policy.Name())
	}
	inst = ip.Instances()
	return inst, !inst.FirstFree, nil
}

// addLambda puts a revision on the Lambda path behind its front end: pods
// are started one by one for the requests that find no idle instance and
// retired on their own keep-alive, and the controller only records it.
func (p *Platform) addLambda(r *revision, inst autoscaler.Instances) error {
	var err error
	r.lambda, err = activator.NewLambda(activator.LambdaConfig{
		Revision: r.fn.Name, Instances: inst, QueueDepth: r.fn.QueueDepth, Timeout: r.fn.QueueTimeout,
		Start: func() (*pods.Pod, error) {
			// A request that finds no instance at all is a scale from
			// zero here too: time it as the activator path does.
			p.noteZero(r)
			return r.pods.StartPod()
		},
		Retire: r.pods.StopPod, Registerer: p.registry,
	})
	if err != nil {
		return err
	}
	if err := p.ctrl.AddSized(r.fn.Name); err != nil {
		r.lambda.Close()
		return err
	}
	return nil
}

func (p *Platform) podReady(r *revision, pod *pods.Pod) {
	st := pod.Startup()
	initMs := strconv.FormatFloat(float64(st.Ready.Sub(st.Spawned))/float64(time.Millisecond), 'f', 3, 64)
	qp, err := queueproxy.New(queueproxy.Config{
		Pod: pod.Name, Addr: pod.Addr, ContainerConcurrency: r.fn.ContainerConcurrency, InitMs: initMs,
		Transport: p.transport, OnRelease: r.dispatch,
		OnFirstRequest: func(at time.Time) {
			r.mu.Lock()
			r.released[pod.Name] = at
			r.mu.Unlock()
		},
	})
	if err != nil {
		fmt.Fprintf(p.cfg.Log, "pod %s: %v\n", pod.Name, err)
		return
	}
	r.mu.Lock()
	r.qps[pod] = qp
	// The revision is no longer at zero: every pod started meanwhile was
	// part of this scale from zero.
	r.zeroPoke = time.Time{}
	r.mu.Unlock()
	if r.lambda != nil {
		r.lambda.AddInstance(pod, qp)
		return
	}
	r.act.AddPod(qp)
}

// podRouted follows a ready pod's readiness probe: out of routing while it
// fails, back when it passes.
func (p *Platform) podRouted(r *revision, pod *pods.Pod, routed bool) {
	r.mu.Lock()
	qp := r.qps[pod]
	r.mu.Unlock()
	switch {
	case qp == nil:
	case r.lambda != nil:
		if !routed {
			// An instance that fails its probe is not handed requests
			// again; its request in flight, if any, finishes.
			r.lambda.Unroute(pod)
		}
	case routed:
		r.act.AddPod(qp)
	default:
		r.act.RemovePod(qp)
	}
}

// podStopping takes the pod out of routing and waits for its requests, so
// scale-down cuts none.
func (p *Platform) podStopping(r *revision, pod *pods.Pod, timeout time.Duration) {
	r.mu.Lock()
	qp := r.qps[pod]
	r.mu.Unlock()
	if qp == nil {
		return
	}
	if r.act != nil {
		// A Lambda instance is out of use before it is stopped.
		r.act.RemovePod(qp)
	}
	qp.Retire()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := qp.Drain(ctx); err != nil {
		fmt.Fprintf(p.cfg.Log, "%v\n", err)
	}
}

// podCrashed counts, logs and keeps the report of a pod that died: before
// readiness (a binary that cannot start, a crash loop when repeated) or
// while serving (killed under load).
func (p *Platform) podCrashed(r *revision, pod *pods.Pod, c pods.Crash) {
	phase := "starting"
	if c.Serving {
		phase = "serving"
	}
	p.crashes.WithLabelValues(r.fn.Name, phase).Inc()
	r.mu.Lock()
	rep := CrashReport{Crash: c}
	if qp := r.qps[pod]; qp != nil {
		rep.InFlight = qp.InFlight()
	}
	n := len(r.crashes)
	if n < maxCrashReports {
		r.crashes = append(r.crashes, rep)
	}
	r.mu.Unlock()
	switch {
	case n < maxCrashReports:
		fmt.Fprintf(p.cfg.Log, "platform: %s\n", rep)
	case n == maxCrashReports:
		fmt.Fprintf(p.cfg.Log, "platform: %s: more pods crashed; they are counted (pod_crashes), no longer logged\n", r.fn.Name)
		r.mu.Lock()
		r.crashes = append(r.crashes, CrashReport{}) // marks the line as written
		r.mu.Unlock()
	}
}

// String describes the crash in one line, with the tail of the pod's
// stderr.
func (c CrashReport) String() string {
	var b strings.Builder
	if c.Serving {
		fmt.Fprintf(&b, "pod %s died while serving (%d requests in flight): %s", c.Pod, c.InFlight, c.Exit)
	} else {
		fmt.Fprintf(&b, "pod %s died before it was ready: %s", c.Pod, c.Exit)
	}
	if tail := strings.TrimSpace(c.StderrTail); tail != "" {
		lines := strings.Split(tail, "\n")
		fmt.Fprintf(&b, "; stderr: %s", strings.Join(lines[max(0, len(lines)-3):], " | "))
	}
	return b.String()
}

// Crashes lists the first crash reports of a function's pods.
func (p *Platform) Crashes(name string) []CrashReport {
	r := p.revs[name]
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []CrashReport
	for _, c := range r.crashes {
		if c.Pod != "" {
			out = append(out, c)
		}
	}
	return out
}

func (p *Platform) podGone(r *revision, pod *pods.Pod) {
	p.predial.drop(pod.Addr)
	r.mu.Lock()
	qp := r.qps[pod]
	delete(r.qps, pod)
	if qp != nil {
		qp.Retire()
		r.idle += qp.Idle()
	}
	r.mu.Unlock()
	switch {
	case r.lambda != nil:
		r.lambda.Gone(pod)
	case qp != nil:
		r.act.RemovePod(qp)
	}
}

// route sends a request to its function's ingress.
func (p *Platform) route(w http.ResponseWriter, req *http.Request) {
	var r *revision
	switch {
	case len(p.cfg.Functions) == 1 && len(p.routes) == 0:
		r = p.revs[p.order[0]]
	case len(p.cfg.Functions) == 0 && len(p.routes) == 1:
		if r = p.tagged(req); r == nil {
			p.serveRoute(p.routes[p.routeOrder[0]], w, req)
			return
		}
	default:
		name, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
		if rt := p.routes[name]; rt != nil {
			p.serveRoute(rt, w, req)
			return
		}
		if r = p.tags[name]; r == nil && p.revs[name] != nil && p.revs[name].route == nil {
			r = p.revs[name]
		}
	}
	if r == nil {
		names := append([]string(nil), p.routeOrder...)
		for _, n := range p.order {
			if p.revs[n].route == nil {
				names = append(names, n)
			}
		}
		http.Error(w, "platform: no function at "+req.URL.Path+"; want /NAME/ with NAME one of "+strings.Join(names, ", "), http.StatusNotFound)
		return
	}
	p.serveRevision(r, w, req)
}

// tagged is the revision a tag URL (/TAG-NAME/...) addresses, if any.
func (p *Platform) tagged(req *http.Request) *revision {
	name, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	return p.tags[name]
}

// URL is the activator's base URL.
func (p *Platform) URL() string { return "http://" + p.ln.Addr().String() }

// FunctionURL is the URL that routes to the named function.
func (p *Platform) FunctionURL(name string) string { return p.URL() + "/" + name + "/" }

// Functions lists the revisions served in configuration order: each
// function's name, and FUNCTION-REVISION for each revision of a Route
// (created or not yet, see Created).
func (p *Platform) Functions() []string { return append([]string(nil), p.order...) }

// Started is when the platform began serving.
func (p *Platform) Started() time.Time { return p.started }

// Controller is the autoscaler loop, for its ticks.
func (p *Platform) Controller() *controller.Controller { return p.ctrl }

// Registry holds the platform's metrics (the pods' queue-proxy metrics are
// gathered alongside at /metrics).
func (p *Platform) Registry() *prometheus.Registry { return p.registry }

// Stat implements autoscaler.Metrics from the ingress (the activator, or
// on the Lambda path its front end), which every request passes:
// concurrency is the exact time-average of in-flight plus
// waiting requests over the interval (integrated at every change, as the
// simulator does), the peak and the arrivals are counted there too.
//
// Summing the queue-proxies' own averages instead was wrong at both ends of
// a pod's life: a pod made ready mid-interval averaged over its short life
// only (ten requests for the last 0.1 s counted as 10, not 1, on top of the
// activator's average that had already counted them waiting), and a pod gone
// mid-interval took its share with it. The queue-proxies are still collected
// for their per-pod gauges.
func (p *Platform) Stat(name string, now time.Time) (autoscaler.Stat, error) {
	r := p.revs[name]
	if r == nil {
		return autoscaler.Stat{}, fmt.Errorf("no revision %q", name)
	}
	var s autoscaler.Stat
	r.mu.Lock()
	for _, qp := range r.qps {
		qp.Collect(now)
	}
	r.mu.Unlock()
	a := r.ingress().Collect(now)
	s.Concurrency = a.Concurrency
	s.MaxConcurrency = float64(a.MaxInFlight)
	s.RPS = float64(a.Arrivals)
	return s, nil
}

// Scale implements autoscaler.Scaler.
func (p *Platform) Scale(name string, desired int) error {
	r := p.revs[name]
	if r == nil {
		return fmt.Errorf("no revision %q", name)
	}
	return r.pods.Scale(desired)
}

// Pods implements autoscaler.Scaler.
func (p *Platform) Pods(name string) (autoscaler.Pods, error) {
	r := p.revs[name]
	if r == nil {
		return autoscaler.Pods{}, fmt.Errorf("no revision %q", name)
	}
	ready, notReady := r.pods.Counts()
	return autoscaler.Pods{Ready: ready, NotReady: notReady}, nil
}

// PodStats reports a function's pod lifetime totals.
func (p *Platform) PodStats(name string) pods.Stats {
	if r := p.revs[name]; r != nil {
		return r.pods.Stats()
	}
	return pods.Stats{}
}

// IdleSeconds is the time a function's pods spent ready and routed to with
// no request in flight, summed over pods: the simulator's idle_pod_seconds.
func (p *Platform) IdleSeconds(name string) float64 {
	r := p.revs[name]
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	idle := r.idle
	for _, qp := range r.qps {
		idle += qp.Idle()
	}
	return idle.Seconds()
}

// Startups lists the measured start-up of each of a function's pods that
// became ready.
func (p *Platform) Startups(name string) []pods.Startup {
	if r := p.revs[name]; r != nil {
		return r.pods.Startups()
	}
	return nil
}

// PodStartup is one pod's start-up with the end of the wait of the first
// request it served.
type PodStartup struct {
	pods.Startup
	// Released is when the pod's first request took a slot on it (zero if
	// it served none).
	Released time.Time
}

// PodStartups lists each ready pod's start-up, with its first request.
func (p *Platform) PodStartups(name string) []PodStartup {
	r := p.revs[name]
	if r == nil {
		return nil
	}
	sts := r.pods.Startups()
	out := make([]PodStartup, len(sts))
	r.mu.Lock()
	for i, st := range sts {
		out[i] = PodStartup{Startup: st, Released: r.released[st.Pod]}
	}
	r.mu.Unlock()
	return out
}

// PodList lists a function's live pods (those with a process).
func (p *Platform) PodList(name string) []*pods.Pod {
	if r := p.revs[name]; r != nil {
		return r.pods.Pods()
	}
	return nil
}

// Errors reports the activator's error counts of a function.
func (p *Platform) Errors(name string) map[string]int64 {
	if r := p.revs[name]; r != nil && p.Created(name) {
		return r.ingress().Errors()
	}
	return nil
}

// gather collects the platform's metrics and every live queue-proxy's.
func (p *Platform) gather() ([]*dto.MetricFamily, error) {
	gs := prometheus.Gatherers{p.registry}
	for _, name := range p.order {
		r := p.revs[name]
		r.mu.Lock()
		for _, qp := range r.qps {
			gs = append(gs, qp.Registry())
		}
		r.mu.Unlock()
	}
	return gs.Gather()
}

// Close stops the autoscaler, stops accepting requests and waits for the
// in-flight ones (up to ctx), then drains and stops every pod and waits for
// every process to exit.
func (p *Platform) Close(ctx context.Context) error {
	p.close.Do(func() {
		p.endRoutes()
		p.stopCtrl()
		<-p.ctrlDone
		for _, name := range p.order {
			if l := p.revs[name].lambda; l != nil {
				l.Close()
			}
		}
		var errs []error
		if err := p.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("platform: stop listener: %w", err))
			p.srv.Close()
		}
		<-p.srvDone
		errs = append(errs, p.closeManagers())
		p.predial.closeAll()
		p.transport.CloseIdleConnections()
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

func (p *Platform) closeManagers() error {
	var wg sync.WaitGroup
	errs := make([]error, len(p.order))
	for i, name := range p.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.revs[name].pods.Close()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// predialFresh bounds the age of a connection opened to a pod before it was
// ready that may still carry its first request: fn's server drops a
// connection that brings no request header within 10 s of accepting it
// (ReadHeaderTimeout), and accepts it at the latest when it serves.
const predialFresh = 5 * time.Second

// predialer opens a connection to each new fn pod as soon as its process
// has started, while it initialises: the kernel completes the handshake on
// the listening socket the pod manager bound, and fn accepts it as it
// starts serving. The pod's first request — on a scale from zero, the
// request that waited for it — then takes that connection instead of
// dialling and waiting for fn to accept after the readiness line, as
// Knative's activator reuses the connection its probe opened.
type predialer struct {
	mu    sync.Mutex
	conns map[string]predialed
}

type predialed struct {
	conn net.Conn
	at   time.Time
}

// open connects to a spawned pod's address; a failure only means the first
// request dials as any other.
func (d *predialer) open(addr string) {
	if addr == "" {
		return
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return
	}
	d.mu.Lock()
	if old, ok := d.conns[addr]; ok {
		old.conn.Close()
	}
	d.conns[addr] = predialed{conn: c, at: time.Now()}
	d.mu.Unlock()
}

// take hands over the connection opened to addr, if it is still fresh.
func (d *predialer) take(addr string) net.Conn {
	d.mu.Lock()
	pc, ok := d.conns[addr]
	delete(d.conns, addr)
	d.mu.Unlock()
	switch {
	case !ok:
		return nil
	case time.Since(pc.at) > predialFresh:
		pc.conn.Close()
		return nil
	}
	return pc.conn
}

// drop closes the connection to a pod that is gone.
func (d *predialer) drop(addr string) {
	if c := d.take(addr); c != nil {
		c.Close()
	}
}

func (d *predialer) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for addr, pc := range d.conns {
		pc.conn.Close()
		delete(d.conns, addr)
	}
}
