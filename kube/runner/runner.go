package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"

	"github.com/scalebench/scalebench/autoscaler"
	loop "github.com/scalebench/scalebench/autoscaler/controller"
	"github.com/scalebench/scalebench/kube/activator"
	"github.com/scalebench/scalebench/kube/cluster"
	"github.com/scalebench/scalebench/kube/controller"
	"github.com/scalebench/scalebench/kube/podwatch"
	"github.com/scalebench/scalebench/kube/targets"
	"github.com/scalebench/scalebench/loadgen"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

// BackendName is the name summaries and reports give this world.
const BackendName = "kubernetes"

// Config is where runs happen.
type Config struct {
	// Cluster, when set, is an existing cluster to run on (Kubeconfig is
	// its file, which the metrics adapter is given); nil brings up the
	// own control plane and node for each run.
	Cluster    *rest.Config
	Kubeconfig string
	// BinDir holds the node's images (bin/fn) and scalebench itself (the
	// metrics adapter); ControlPlaneBin the control plane's binaries
	// (empty: cluster.DefaultBinDir()).
	BinDir, ControlPlaneBin string
	// FnArgs are extra cmd/fn flags for every function.
	FnArgs []string
	// Command, when set, is the user's function for every function.
	Command *scenarios.Command
	// Log receives warnings; nil discards them.
	Log io.Writer
}

// Options are one run's outputs and mode.
type Options struct {
	// Requests receives requests.csv; Progress the progress lines.
	Requests, Progress io.Writer
	// Deployed starts the traffic on the autoscaler's tick grid and keeps
	// the run for the scenario's whole duration, as the simulator's run
	// (bench.Run.Deployed). Traffic always waits for the initial pods.
	Deployed bool
}

// Startup is one pod's way to readiness: the decision that asked for it
// (Created), its process's start (Exec, after the start-up phases) and the
// API's Ready as the run's watch saw it.
type Startup struct {
	Pod                  string
	Created, Exec, Ready time.Time
}

// Result is one finished run.
type Result struct {
	Summary results.Summary
	// Ticks are scalebench's controller's decisions (none under hpa).
	Ticks []loop.Tick
	// Started is when the run's world was up, Began the traffic's start.
	Started, Began time.Time
	// Startups are the pods that became ready, by function name.
	Startups map[string][]Startup
	// Lives are every pod of the run as the watch saw it.
	Lives []podwatch.Life
	// Functions are the objects the run created.
	Functions []Function
	// Routes are the functions with revisions, with the splits their
	// activators put in force.
	Routes []RouteStatus
}

// RouteStatus is one function's revisions and its route's splits.
type RouteStatus struct {
	Function  string
	Revisions []RevisionStatus
	// Splits are the splits in force from At on (since the traffic's
	// start), Percent indexed as Revisions, as the run saw them change.
	Splits []SplitChange
}

// RevisionStatus names one revision: the scenario's name, its objects'
// and the controller's (NAMESPACE/OBJECT, its ticks' Revision).
type RevisionStatus struct {
	Name, Object, Key string
}

// SplitChange is a route's split from At on.
type SplitChange struct {
	At      time.Duration
	Percent []int
}

// RevisionSeconds gives each route revision's ready pods (from the pod
// watch, by the revision's selector) and share at the end of every second
// of a run of duration d, for the report's pods-per-revision chart.
func RevisionSeconds(began time.Time, d time.Duration, lives []podwatch.Life, routes []RouteStatus, each func(t int64, name string, ready, percent int)) {
	byRev := map[string][]podwatch.Life{}
	for _, l := range lives {
		byRev[l.Labels[RevisionLabel]] = append(byRev[l.Labels[RevisionLabel]], l)
	}
	for sec := int64(0); sec < int64(math.Ceil(d.Seconds())); sec++ {
		end := time.Duration(sec+1) * time.Second
		for _, rt := range routes {
			for i, rev := range rt.Revisions {
				name := rev.Name
				if len(routes) > 1 {
					name = rt.Function + "/" + rev.Name
				}
				_, ready := podwatch.At(byRev[rev.Object], began.Add(end))
				p := 0
				for _, sp := range rt.Splits {
					if sp.At > end {
						break
					}
					p = sp.Percent[i]
				}
				each(sec, name, ready, p)
			}
		}
	}
}

// Run runs sc under pol (see the package doc). A run that was interrupted
// returns its result and an error.
func Run(ctx context.Context, cfg Config, sc *scenarios.Scenario, pol scenarios.Policy, opts Options) (*Result, error) {
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	fns, err := Objects(sc, pol, "", cfg.FnArgs, cfg.Command)
	if err != nil {
		return nil, err
	}
	cmFlags, err := ControllerManagerFlags(pol)
	if err != nil {
		return nil, err
	}
	if cfg.Cluster != nil && len(Commands(fns)) > 0 {
		fmt.Fprintf(logw, "kubernetes: the cluster's node must map image %s to the function's command (scalebench node --image-command)\n", fns[0].Image)
	}
	w, err := up(ctx, cfg, Commands(fns), cmFlags, progress)
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, w: w, sc: sc, pol: pol, opts: opts, progress: progress, log: logw}
	res, err := r.run(ctx, fns)
	failed := err != nil && ctx.Err() == nil
	if derr := r.tearDown(failed); derr != nil && err == nil {
		err = fmt.Errorf("kubernetes: tear down: %w", derr)
	}
	if failed && w.own {
		err = fmt.Errorf("%w (control-plane logs and pods.log kept in %s)", err, w.dir)
	}
	return res, err
}

// run is one run's state.
type run struct {
	cfg      Config
	w        *world
	sc       *scenarios.Scenario
	pol      scenarios.Policy
	opts     Options
	progress io.Writer
	log      io.Writer

	ns      string
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	servers []*http.Server
	adapter *adapterProc
}

func (r *run) run(ctx context.Context, fns []Function) (*Result, error) {
	cs := r.w.client
	if _, err := r.namespace(ctx); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	tracker := podwatch.NewTracker(cs, r.ns, labels.SelectorFromSet(labels.Set{RunLabel: "true"}))
	if err := tracker.Run(wctx); err != nil {
		return nil, err
	}
	slogger := slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// The autoscaling: scalebench's controller, or the real HPA on the
	// metrics adapter.
	var ctrl *controller.Controller
	var pokes []string
	var err error
	acts := map[string]*activator.Activator{} // by object name
	if r.pol.Name == "hpa" {
		vals, _ := settings(r.pol)
		if r.adapter, err = startAdapter(ctx, r.w, r.cfg.BinDir, r.ns, vals["metric-window"], r.log); err != nil {
			return nil, err
		}
		fmt.Fprintf(r.progress, "kubernetes: metrics adapter registered; hpa is kube-controller-manager's own HPA on the adapter's %s metric\n", vals["metric"])
	} else {
		// Every request passes its function's activator, which sees the
		// ones it buffers as well as those at the pods: the revision's
		// stat comes from there, as on the local platform (and as
		// Knative's activator reports to its autoscaler).
		ctrl, err = controller.New(controller.Config{Client: cs, Namespace: r.ns, KeepTicks: true, Log: slogger,
			Registerer: prometheus.NewRegistry(), Stat: func(rev string, now time.Time) (autoscaler.Stat, bool) {
				ns, name, _ := strings.Cut(rev, "/")
				a := acts[name]
				if a == nil || ns != r.ns {
					return autoscaler.Stat{}, false
				}
				s, ok := a.Collect(name, now)
				return autoscaler.Stat{Concurrency: s.Concurrency, MaxConcurrency: float64(s.MaxInFlight), RPS: float64(s.Arrivals)}, ok
			}})
		if err != nil {
			return nil, err
		}
		srv := controller.NewServer(prometheus.NewRegistry(), nil)
		srv.Set(ctrl)
		addr, err := r.serve(srv.Handler())
		if err != nil {
			return nil, err
		}
		pokes = []string{"http://" + addr}
	}
	// One activator per function: each balances by its function's
	// containerConcurrency, holding what the pods have no room for.
	actAddrs := map[string]string{}
	for _, f := range fns {
		act, err := activator.New(activator.Config{Client: cs, Namespace: r.ns, Controllers: pokes, ContainerConcurrency: f.ContainerConcurrency,
			QueueDepth: r.sc.Activator.QueueDepth, Timeout: r.sc.Activator.Timeout, Log: slogger, Registerer: prometheus.NewRegistry()})
		if err != nil {
			return nil, err
		}
		acts[f.Object] = act
		if f.Revisions != nil {
			// The controller asks for each revision's stat by its own
			// name; the function's activator sees them all.
			for _, rev := range f.Revisions.Revisions {
				acts[rev.Service.Name] = act
			}
		}
		r.wg.Add(1)
		go func() { defer r.wg.Done(); act.Run(wctx) }()
		if actAddrs[f.Object], err = r.serve(act); err != nil {
			return nil, err
		}
	}
	if ctrl != nil {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); ctrl.Run(wctx) }()
	}

	nDeps := 0
	for i := range fns {
		f := &fns[i]
		if f.Revisions != nil {
			for j := range f.Revisions.Revisions {
				rev := &f.Revisions.Revisions[j]
				rev.Deployment.Namespace, rev.Service.Namespace = r.ns, r.ns
				if rev.DeployAt > 0 {
					continue // created at its time, after the traffic's start
				}
				if err := r.createRevision(ctx, rev); err != nil {
					return nil, err
				}
				nDeps++
			}
			continue
		}
		nDeps++
		f.Deployment.Namespace, f.Service.Namespace = r.ns, r.ns
		if err := r.create(ctx, f.Object, f.Service, f.Deployment); err != nil {
			return nil, err
		}
		if f.HPA != nil {
			f.HPA.Namespace = r.ns
			if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(r.ns).Create(ctx, f.HPA, metav1.CreateOptions{}); err != nil {
				return nil, fmt.Errorf("kubernetes: create HorizontalPodAutoscaler %s: %w", f.Object, err)
			}
		}
	}
	started := time.Now()
	fmt.Fprintf(r.progress, "kubernetes: %d Deployment(s) in namespace %s under %s; waiting for the initial pods\n", nDeps, r.ns, policyName(r.pol))
	if err := r.waitDeployed(ctx, fns, acts, ctrl); err != nil {
		return nil, err
	}
	if r.opts.Deployed && ctrl != nil {
		if err := waitGrid(ctx, ctrl, r.ns+"/"+gridObject(fns[0])); err != nil {
			return nil, err
		}
	}

	urls := make([]string, len(fns))
	for i, f := range fns {
		urls[i] = "http://" + actAddrs[f.Object] + "/" + r.ns + "/" + f.Object + "/"
	}
	began := time.Now()
	// A function with revisions: its activator's route splits the traffic
	// on the schedule from the traffic's start, and the later revisions
	// are created at their times (Knative makes a revision when its
	// Service changes).
	var firsts []*firstTraffic
	for _, f := range fns {
		if f.Revisions == nil {
			continue
		}
		if err := acts[f.Object].SetRoute(f.Revisions.Route(began, uint64(r.sc.Seed))); err != nil {
			return nil, fmt.Errorf("kubernetes: function %s: %w", f.Name, err)
		}
		firsts = append(firsts, r.followRoute(wctx, acts[f.Object], f, began))
	}
	names := make([]string, len(fns))
	for i, f := range fns {
		names[i] = f.Name
	}
	sum, err := loadgen.Run(ctx, loadgen.Config{
		URLs: urls, Functions: names, Pattern: r.sc.Traffic, Duration: r.sc.Duration, Seed: r.sc.Seed,
		Requests: r.opts.Requests, Progress: r.opts.Progress, Log: r.log,
		Scenario: r.sc.Name, Backend: BackendName,
		// The activators share this process: each request in flight holds
		// the generator's connection, the activator's and the one to the
		// pod's queue-proxy (in the node, also this process for the own
		// control plane), and that one's to the function.
		FilesPerRequest: 5,
		Drain:           loadgen.DefaultTimeout,
	})
	if err != nil {
		return nil, err
	}
	interrupted := ctx.Err() != nil
	if left := r.sc.Duration - time.Since(began); r.opts.Deployed && left > 0 {
		select {
		case <-time.After(left):
		case <-ctx.Done():
		}
	}
	end := time.Now()
	res := &Result{Started: started, Began: began, Startups: map[string][]Startup{}, Lives: tracker.Lives(), Functions: fns}
	if ctrl != nil {
		res.Ticks = ctrl.Ticks()
	}
	f := podwatch.Span(res.Lives, began, end)
	sum.Kind, sum.Policy = "run", policyName(r.pol)
	sum.PodStarts, sum.PodSeconds, sum.MaxPods = f.PodStarts, f.PodSeconds, f.MaxPods
	res.Startups = startups(res.Lives, fns, res.Ticks, r.ns, r.w)
	// The process's phases as the node measured them (the own node only;
	// an existing cluster's kubelet does not say).
	var times []results.StartupTimes
	if r.w.node != nil {
		for _, s := range r.w.node.Startups() {
			if s.Namespace == r.ns {
				times = append(times, results.StartupTimes{Spawned: s.Spawned, Listening: s.Listening, Ready: s.Ready})
			}
		}
	}
	if len(times) > 0 {
		sum.PodStartup = results.NewPodStartup(times)
	}
	if len(firsts) > 0 {
		res.Routes = revisionSummaries(sum, fns, firsts, res.Lives, began, end)
	}
	res.Summary = *sum
	if interrupted {
		return res, errors.New("kubernetes: interrupted (summary written)")
	}
	return res, nil
}

// namespace creates the run's namespace and waits until pods can be
// created in it.
func (r *run) namespace(ctx context.Context) (string, error) {
	nsObj, err := r.w.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "scalebench-run-", Labels: map[string]string{RunLabel: "true"}}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("kubernetes: create the run's namespace: %w", err)
	}
	r.ns = nsObj.Name
	nctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return r.ns, cluster.NamespaceReady(nctx, r.w.client, r.ns)
}

func policyName(p scenarios.Policy) string {
	if p.Label != "" {
		return p.Label
	}
	return p.Name
}

// serve serves h on a free loopback port until the run ends.
func (r *run) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	r.servers = append(r.servers, srv)
	r.wg.Add(1)
	go func() { defer r.wg.Done(); srv.Serve(ln) }()
	return ln.Addr().String(), nil
}

// waitDeployed waits until every function's initial pods are ready and
// the activator routes to them (and, under the controller, the revision
// has had its first decision), as after `kubectl apply` and a wait.
func (r *run) waitDeployed(ctx context.Context, fns []Function, acts map[string]*activator.Activator, ctrl *controller.Controller) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var missing []string
		// Under the controller the initial pods are those of the policy's
		// first decision (keepalive's is none), as on the local platform.
		first := map[string]int{}
		if ctrl != nil {
			for _, t := range ctrl.Ticks() {
				if _, seen := first[t.Revision]; !seen {
					first[t.Revision] = t.Decision.Desired
				}
			}
		}
		for _, f := range fns {
			for _, obj := range deployedAtStart(f) {
				want := f.Initial
				if ctrl != nil {
					d, ok := first[r.ns+"/"+obj.name]
					if !ok {
						missing = append(missing, obj.name+" (no decision yet)")
						continue
					}
					want = d
				} else if f.Revisions != nil {
					want = obj.initial
				}
				if n := len(acts[f.Object].Endpoints(obj.name)); n < want {
					missing = append(missing, fmt.Sprintf("%s (%d of %d pods routed)", obj.name, n, want))
				}
			}
		}
		switch {
		case len(missing) == 0:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline):
			return fmt.Errorf("kubernetes: initial pods not ready after 3m: %s%s", strings.Join(missing, ", "), r.podHint(ctx))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// podHint is why the run's pods are not ready, from their status.
func (r *run) podHint(ctx context.Context) string {
	pl, err := r.w.client.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pl.Items) == 0 {
		return "; no pods (is a node registered and schedulable?)"
	}
	for _, p := range pl.Items {
		for _, c := range p.Status.ContainerStatuses {
			if c.State.Waiting != nil && c.State.Waiting.Message != "" {
				return fmt.Sprintf("; pod %s waits: %s: %s", p.Name, c.State.Waiting.Reason, c.State.Waiting.Message)
			}
		}
	}
	return fmt.Sprintf("; %d pod(s), first %s in phase %s", len(pl.Items), pl.Items[0].Name, pl.Items[0].Status.Phase)
}

// waitGrid sleeps until the revision's next scheduled tick, so the traffic
// starts on the autoscaler's grid as the simulator's does (see
// platform.RunOptions.Deployed).
func waitGrid(ctx context.Context, ctrl *controller.Controller, rev string) error {
	origin, interval, ok := ctrl.Grid(rev)
	if !ok || interval <= 0 {
		return nil
	}
	k := time.Since(origin)/interval + 1
	select {
	case <-time.After(time.Until(origin.Add(k * interval))):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startups joins the watch's lives with the node's exec times (own
// cluster) and the controller's decisions: a pod was asked for by the last
// tick of its revision, at or before the pod appeared, that wanted more
// pods than there were.
func startups(lives []podwatch.Life, fns []Function, ticks []loop.Tick, ns string, w *world) map[string][]Startup {
	byObject := map[string]string{}
	for _, f := range fns {
		byObject[f.Object] = f.Name
	}
	exec := map[string]time.Time{}
	if w.node != nil {
		for _, s := range w.node.Startups() {
			if s.Namespace == ns {
				exec[s.Name] = s.Exec
			}
		}
	}
	out := map[string][]Startup{}
	for _, l := range lives {
		if l.Ready.IsZero() {
			continue
		}
		obj := l.Labels[FunctionLabel]
		name, ok := byObject[obj]
		if !ok {
			continue
		}
		if rev, ok := l.Labels[RevisionLabel]; ok {
			obj = rev // the revision's decisions asked for it
		}
		s := Startup{Pod: l.Name, Created: l.Seen, Exec: l.Seen, Ready: l.Ready}
		if t, ok := exec[l.Name]; ok && !t.IsZero() {
			s.Exec = t
		}
		rev := ns + "/" + obj
		for _, t := range ticks {
			if t.Time.After(l.Seen) {
				break
			}
			if t.Revision == rev && t.Decision.Valid && t.Decision.Desired > t.Pods.Ready+t.Pods.NotReady {
				s.Created = t.Time
			}
		}
		out[name] = append(out[name], s)
	}
	for _, sts := range out {
		sort.Slice(sts, func(i, j int) bool { return sts[i].Ready.Before(sts[j].Ready) })
	}
	return out
}

// tearDown stops everything the run started; the run's namespace goes
// with the own control plane, or is deleted (and waited for) on an existing
// cluster. keep leaves the own control plane's logs for a failed run.
func (r *run) tearDown(keep bool) error {
	var errs []error
	if r.ns != "" && !r.w.own {
		errs = append(errs, deleteNamespace(r.w, r.ns))
	}
	if r.adapter != nil {
		errs = append(errs, r.adapter.stop())
	}
	if r.cancel != nil {
		r.cancel()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	for _, s := range r.servers {
		s.Shutdown(sctx)
	}
	cancel()
	r.wg.Wait()
	errs = append(errs, r.w.down(keep))
	return errors.Join(errs...)
}

// deleteNamespace deletes ns and waits for it to go, so the run's pods
// have drained and stopped.
func deleteNamespace(w *world, ns string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := w.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	for {
		_, err := w.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s still there after 2m", ns)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// RevisionLabel is the label a revision's pods and objects carry its
// object name in (targets.Revisions' selector).
const RevisionLabel = "app"

// create creates a function's or a revision's Service and Deployment.
func (r *run) create(ctx context.Context, name string, svc *corev1.Service, dep *appsv1.Deployment) error {
	if _, err := r.w.client.CoreV1().Services(r.ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubernetes: create Service %s: %w", name, err)
	}
	if _, err := r.w.client.AppsV1().Deployments(r.ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubernetes: create Deployment %s: %w", name, err)
	}
	return nil
}

func (r *run) createRevision(ctx context.Context, rev *targets.RevisionTarget) error {
	return r.create(ctx, rev.Service.Name, rev.Service, rev.Deployment)
}

// deployedObject is one object the run waits for before traffic.
type deployedObject struct {
	name    string
	initial int
}

// deployedAtStart are the objects of f deployed before the traffic: the
// function's own, or its revisions created at 0.
func deployedAtStart(f Function) []deployedObject {
	if f.Revisions == nil {
		return []deployedObject{{f.Object, f.Initial}}
	}
	var out []deployedObject
	for _, rev := range f.Revisions.Revisions {
		if rev.DeployAt <= 0 {
			out = append(out, deployedObject{rev.Service.Name, rev.InitialScale})
		}
	}
	return out
}

// gridObject is the object whose ticks the traffic's start is aligned to.
func gridObject(f Function) string {
	if objs := deployedAtStart(f); len(objs) > 0 {
		return objs[0].name
	}
	return f.Object
}

// firstTraffic is when each revision of a function was created and first
// given a share of its route, as offsets from the traffic's start (-1:
// not yet).
type firstTraffic struct {
	fn       string
	mu       sync.Mutex
	deployed map[string]time.Duration
	first    map[string]time.Duration
	splits   []SplitChange
	errs     []error
}

// followRoute creates f's later revisions at their times and watches its
// route's split (every 20ms) for each revision's first share.
func (r *run) followRoute(ctx context.Context, act *activator.Activator, f Function, began time.Time) *firstTraffic {
	ft := &firstTraffic{fn: f.Object, deployed: map[string]time.Duration{}, first: map[string]time.Duration{}}
	for i := range f.Revisions.Revisions {
		rev := &f.Revisions.Revisions[i]
		if rev.DeployAt <= 0 {
			ft.deployed[rev.Service.Name] = 0
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			select {
			case <-time.After(time.Until(began.Add(rev.DeployAt))):
			case <-ctx.Done():
				return
			}
			err := r.createRevision(ctx, rev)
			ft.mu.Lock()
			defer ft.mu.Unlock()
			if err != nil {
				ft.errs = append(ft.errs, err)
				return
			}
			ft.deployed[rev.Service.Name] = time.Since(began)
		}()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			now := time.Now()
			split := act.Split(f.Object)
			pct := make([]int, len(f.Revisions.Revisions))
			for i, rev := range f.Revisions.Revisions {
				pct[i] = split[rev.Service.Name]
			}
			ft.mu.Lock()
			for svc, p := range split {
				if _, seen := ft.first[svc]; !seen && p > 0 {
					ft.first[svc] = now.Sub(began)
				}
			}
			if n := len(ft.splits); n == 0 || !slices.Equal(ft.splits[n-1].Percent, pct) {
				ft.splits = append(ft.splits, SplitChange{At: now.Sub(began), Percent: pct})
			}
			ft.mu.Unlock()
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ft
}

// revisionSummaries completes the load generator's per-revision figures
// (requests, cold starts, latency, by the revision each response names:
// the activator's route sets it to the revision's Service) with every
// revision in the scenario's order, its creation, first traffic and pods
// from the watch, and the rollout's cold starts (those of the revisions
// created after the start), as the local platform reports them.
func revisionSummaries(sum *results.Summary, fns []Function, firsts []*firstTraffic, lives []podwatch.Life, began, end time.Time) []RouteStatus {
	var routes []RouteStatus
	byKey := map[[2]string]results.RevisionSummary{}
	for _, rs := range sum.Revisions {
		byKey[[2]string{rs.Function, rs.Revision}] = rs
	}
	var out []results.RevisionSummary
	var rollout int64
	k := 0
	for _, f := range fns {
		if f.Revisions == nil {
			continue
		}
		ft := firsts[k]
		k++
		ft.mu.Lock()
		rt := RouteStatus{Function: f.Name, Splits: slices.Clone(ft.splits)}
		for _, rev := range f.Revisions.Revisions {
			svc := rev.Service.Name
			rt.Revisions = append(rt.Revisions, RevisionStatus{Name: rev.Name, Object: svc, Key: rev.Deployment.Namespace + "/" + svc})
			rs, seen := byKey[[2]string{f.Name, svc}]
			if !seen {
				rs = results.RevisionSummary{Function: f.Name}
			}
			rs.Revision = rev.Name
			rs.DeployAtSeconds, rs.FirstTrafficSeconds = -1, -1
			if d, ok := ft.deployed[svc]; ok {
				rs.DeployAtSeconds = round3(d.Seconds())
			}
			if d, ok := ft.first[svc]; ok {
				rs.FirstTrafficSeconds = round3(d.Seconds())
			}
			var mine []podwatch.Life
			for _, l := range lives {
				if l.Labels[RevisionLabel] == svc {
					mine = append(mine, l)
				}
			}
			fig := podwatch.Span(mine, began, end)
			rs.PodStarts, rs.PodSeconds, rs.MaxPods = fig.PodStarts, round3(fig.PodSeconds), fig.MaxPods
			if rev.DeployAt > 0 {
				rollout += rs.ColdStarts
			}
			out = append(out, rs)
		}
		for _, err := range ft.errs {
			sum.Warnings = append(sum.Warnings, err.Error())
		}
		ft.mu.Unlock()
		routes = append(routes, rt)
	}
	sum.Revisions = out
	sum.RolloutColdStarts = &rollout
	return routes
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
