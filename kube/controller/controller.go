package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/scalebench/scalebench/autoscaler"
	loop "github.com/scalebench/scalebench/autoscaler/controller"
	"github.com/scalebench/scalebench/kube/scrape"
)

// DefaultMetricsPort is where the controller scrapes a pod's queue-proxy:
// port 9091 of the pod's IP, where a scalebench node serves it.
const DefaultMetricsPort = "9091"

// Config describes a controller.
type Config struct {
	Client kubernetes.Interface
	// Namespace limits the controller to one namespace (a Role suffices);
	// "" watches all (a ClusterRole is needed).
	Namespace string
	// Registerer receives the controller's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Log receives the controller's own lines; nil discards them.
	Log *slog.Logger
	// MetricsPort is the pod port the queue-proxy serves /metrics on: a
	// number, or the name of a container port (Knative's queue-proxy names
	// its own http-autometric); default DefaultMetricsPort.
	MetricsPort string
	// Fetcher reads a queue-proxy's exposition; nil scrapes over HTTP.
	Fetcher scrape.Fetcher
	// Clock is the autoscaler loop's clock; nil is the wall clock.
	Clock autoscaler.Clock
	// Workers is the number of sync workers; default 2.
	Workers int
	// Resync is the informers' resync period; default 5 minutes.
	Resync time.Duration
	// InitialScaleWindow is how young a Deployment must be for its
	// initial-scale to apply; an older one keeps its current replicas when
	// the controller adopts it (a restart or a new leader must not reset
	// running revisions). Default 30 s.
	InitialScaleWindow time.Duration
	// KeepTicks keeps every decision for Ticks, as the local platform's
	// controller does: a bench run reads them afterwards. A long-running
	// controller leaves it off and exports the gauges instead.
	KeepTicks bool
	// Stat, when set, is asked first for a revision's (NAMESPACE/NAME)
	// per-second stat; ok false falls back to the queue-proxy scrape. An
	// activator that every request passes sees the requests it buffers at
	// zero or beyond the pods' containerConcurrency, which no queue-proxy
	// does, as Knative's activator reports them to its autoscaler. The
	// Kubernetes bench backend gives its in-process activators'.
	Stat func(rev string, now time.Time) (autoscaler.Stat, bool)
}

// revision is what the controller knows of one opted-in Deployment.
type revision struct {
	specKey  string
	ready    int
	notReady int
	replicas int32 // spec.replicas in the cache
	// lastWrite is the last replicas the controller wrote and when, so an
	// informer lagging behind the write does not cause the same write
	// every tick.
	lastWrite   int32
	lastWriteAt time.Time
	// reported holds the error reasons already logged and posted as
	// Events, so a persistent error is one line, not one per tick.
	reported map[string]bool
}

// Controller is a running autoscaling controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	clock    autoscaler.Clock
	factory  informers.SharedInformerFactory
	dlister  appslisters.DeploymentLister
	pindex   cache.Indexer
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	loop     *loop.Controller
	scraper  *scrape.Scraper
	recorder record.EventRecorder
	events   record.EventBroadcaster

	mu   sync.Mutex
	revs map[string]*revision
	// watchErrs are the informers' current list/watch errors by resource.
	watchErrs map[string]string
	// invalid holds the last invalid-annotation message posted per
	// Deployment, so an unchanged mistake is reported once.
	invalid map[string]string

	apiErrors *prometheus.CounterVec
	revisions prometheus.Gauge
	syncs     *prometheus.CounterVec
}

var (
	_ autoscaler.Scaler  = (*Controller)(nil)
	_ autoscaler.Metrics = (*Controller)(nil)
)

// byDeployment indexes pods by the Deployment that owns their ReplicaSet.
const byDeployment = "deployment"

// New makes a controller; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil {
		return nil, errors.New("controller: no Kubernetes client")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MetricsPort == "" {
		cfg.MetricsPort = DefaultMetricsPort
	}
	if cfg.Clock == nil {
		cfg.Clock = wallClock{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 5 * time.Minute
	}
	if cfg.InitialScaleWindow <= 0 {
		cfg.InitialScaleWindow = 30 * time.Second
	}
	c := &Controller{cfg: cfg, log: cfg.Log, clock: cfg.Clock, revs: map[string]*revision{}, watchErrs: map[string]string{}, invalid: map[string]string{}}
	c.apiErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "scalebench", Subsystem: "controller", Name: "api_errors_total",
		Help: "Kubernetes API calls that failed, by revision (empty for list/watch), verb, resource and reason (Forbidden is a missing RBAC permission).",
	}, []string{"revision", "verb", "resource", "reason"})
	c.revisions = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "scalebench", Subsystem: "controller", Name: "revisions",
		Help: "Opted-in Deployments under the controller's autoscaling.",
	})
	c.syncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "scalebench", Subsystem: "controller", Name: "syncs_total",
		Help: "Deployment syncs, by result (ok, error).",
	}, []string{"result"})
	var err error
	c.scraper, err = scrape.New(scrape.Options{Fetcher: cfg.Fetcher, Registerer: cfg.Registerer})
	if err != nil {
		return nil, err
	}
	c.loop, err = loop.New(cfg.Clock, c, c, loop.Options{
		Registerer: cfg.Registerer, DiscardTicks: !cfg.KeepTicks,
		OnError: func(rev string, err error) {
			// API errors were reported by apiError, once per kind, not
			// once per tick.
			if apierrors.ReasonForError(err) == metav1.StatusReasonUnknown {
				c.log.Warn("autoscaler", "revision", rev, "err", err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if cfg.Registerer != nil {
		for _, m := range []prometheus.Collector{c.apiErrors, c.revisions, c.syncs} {
			if err := cfg.Registerer.Register(m); err != nil {
				return nil, fmt.Errorf("controller: register metrics: %w", err)
			}
		}
	}

	c.factory = informers.NewSharedInformerFactoryWithOptions(cfg.Client, cfg.Resync, informers.WithNamespace(cfg.Namespace))
	dinf := c.factory.Apps().V1().Deployments()
	pinf := c.factory.Core().V1().Pods()
	c.dlister = dinf.Lister()
	if err := pinf.Informer().AddIndexers(cache.Indexers{byDeployment: podDeployment}); err != nil {
		return nil, err
	}
	c.pindex = pinf.Informer().GetIndexer()
	c.synced = []cache.InformerSynced{dinf.Informer().HasSynced, pinf.Informer().HasSynced}
	for resource, inf := range map[string]cache.SharedIndexInformer{"deployments": dinf.Informer(), "pods": pinf.Informer()} {
		inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) { c.watchError(resource, err) })
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "deployments"})
	dinf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: c.enqueue,
	})
	pinf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueuePod,
		UpdateFunc: func(_, obj any) { c.enqueuePod(obj) },
		DeleteFunc: c.enqueuePod,
	})
	c.events = record.NewBroadcaster()
	c.recorder = c.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "scalebench-controller"})
	return c, nil
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// podDeployment finds a pod's Deployment by its ReplicaSet owner: a
// Deployment's ReplicaSet is named <deployment>-<pod-template-hash>.
func podDeployment(obj any) ([]string, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	hash := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	for _, ref := range p.OwnerReferences {
		if ref.Kind == "ReplicaSet" && hash != "" && strings.HasSuffix(ref.Name, "-"+hash) {
			return []string{p.Namespace + "/" + strings.TrimSuffix(ref.Name, "-"+hash)}, nil
		}
	}
	return nil, nil
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		runtime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) enqueuePod(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	keys, _ := podDeployment(obj)
	for _, k := range keys {
		c.mu.Lock()
		_, ours := c.revs[k]
		c.mu.Unlock()
		// Pods of Deployments that are not ours cost nothing more.
		if ours {
			c.queue.Add(k)
		}
	}
}

// Run starts the informers, waits for their caches, then syncs, scrapes
// and autoscales until ctx ends; it then stops everything it started and
// returns. Errors of the API are reported, not returned.
func (c *Controller) Run(ctx context.Context) error {
	defer runtime.HandleCrash()
	c.startEvents()
	defer c.events.Shutdown()
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	defer c.queue.ShutDown()
	c.log.Info("waiting for the informer caches", "namespace", c.cfg.Namespace)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil // ctx ended first
	}
	c.log.Info("caches synced; autoscaling")
	var wg sync.WaitGroup
	for i := 0; i < c.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.processNext(ctx) {
			}
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); c.scraper.Run(ctx, time.Second) }()
	go func() { defer wg.Done(); c.loop.Run(ctx) }()
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	c.log.Info("controller stopped")
	return nil
}

// startEvents sends the recorder's Events to the API server.
func (c *Controller) startEvents() {
	c.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.cfg.Client.CoreV1().Events("")})
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx, key); err != nil {
		c.syncs.WithLabelValues("error").Inc()
		c.queue.AddRateLimited(key)
		c.log.Warn("sync", "deployment", key, "err", err)
		return true
	}
	c.syncs.WithLabelValues("ok").Inc()
	c.queue.Forget(key)
	return true
}

// sync makes the controller's view of one Deployment match the cache:
// under a policy (with the right settings) or not at all, with its ready
// pods as scrape targets. It is idempotent and never writes the Deployment;
// writes happen when the policy ticks.
func (c *Controller) sync(_ context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // a malformed key never heals
	}
	d, err := c.dlister.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.drop(key, "deleted")
		return nil
	}
	if err != nil {
		return err
	}
	spec, optedIn, err := ParseAnnotations(d.Annotations)
	if !optedIn {
		c.drop(key, "not opted in")
		return nil
	}
	if err != nil {
		c.drop(key, "invalid annotations")
		msg := "not autoscaling: " + err.Error()
		c.mu.Lock()
		seen := c.invalid[key] == msg
		c.invalid[key] = msg
		c.mu.Unlock()
		if !seen {
			c.log.Error(msg, "deployment", key)
			c.recorder.Event(d, corev1.EventTypeWarning, "InvalidAnnotations", msg)
		}
		return nil // the user must edit the Deployment; its update requeues it
	}
	c.mu.Lock()
	delete(c.invalid, key)
	c.mu.Unlock()
	// The annotations' own key: adopt adds the current replicas, which
	// change with every scale and must not make a fresh policy each time.
	key0 := spec.Key()
	objs, err := c.pindex.ByIndex(byDeployment, key)
	if err != nil {
		return err
	}
	var ready, notReady int
	var targets []scrape.Target
	for _, o := range objs {
		p := o.(*corev1.Pod)
		switch {
		case p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
			continue
		case podReady(p) && p.Status.PodIP != "":
			ready++
			if u := c.metricsURL(p); u != "" {
				targets = append(targets, scrape.Target{Pod: p.Name, URL: u})
			}
		default:
			notReady++
		}
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}

	c.mu.Lock()
	r := c.revs[key]
	fresh := r == nil || r.specKey != key0
	if r == nil {
		r = &revision{reported: map[string]bool{}, lastWrite: -1}
		c.revs[key] = r
	}
	r.ready, r.notReady, r.replicas = ready, notReady, replicas
	if fresh {
		r.specKey = key0
	}
	n := len(c.revs)
	c.mu.Unlock()
	c.revisions.Set(float64(n))
	c.scraper.SetTargets(key, targets)
	if fresh {
		spec = c.adopt(spec, d)
		p, err := autoscaler.New(spec.Policy, spec.Settings)
		if err != nil {
			// ParseAnnotations built it already; only adopt's additions
			// could fail, and they are ours to get right.
			return fmt.Errorf("policy for %s: %w", key, err)
		}
		replaced := c.loop.Remove(key)
		if err := c.loop.Add(key, p); err != nil {
			return err
		}
		c.log.Info("autoscaling", "deployment", key, "policy", spec.Policy, "settings", spec.Key(), "replaced", replaced)
	}
	return nil
}

// adopt gives a Deployment that is not brand new its current replicas as
// the policy's initial scale, so that taking it over (a restart, a new
// leader) continues from where it is; only a Deployment created within
// InitialScaleWindow starts at its initial-scale.
func (c *Controller) adopt(spec Spec, d *appsv1.Deployment) Spec {
	if c.clock.Now().Sub(d.CreationTimestamp.Time) < c.cfg.InitialScaleWindow || !hasSetting(spec.Policy, "initial-scale") {
		return spec
	}
	replicas := 1
	if d.Spec.Replicas != nil {
		replicas = int(*d.Spec.Replicas)
	}
	out := Spec{Policy: spec.Policy, Settings: make(map[string]string, len(spec.Settings)+2)}
	for k, v := range spec.Settings {
		out.Settings[k] = v
	}
	out.Settings["initial-scale"] = strconv.Itoa(replicas)
	if replicas == 0 && hasSetting(spec.Policy, "allow-zero-initial-scale") {
		out.Settings["allow-zero-initial-scale"] = "true"
	}
	return out
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// metricsURL is the pod's queue-proxy metrics endpoint.
func (c *Controller) metricsURL(p *corev1.Pod) string {
	if n, err := strconv.Atoi(c.cfg.MetricsPort); err == nil {
		u := url.URL{Scheme: "http", Host: joinHostPort(p.Status.PodIP, int32(n)), Path: "/metrics"}
		return u.String()
	}
	for _, ctr := range p.Spec.Containers {
		for _, port := range ctr.Ports {
			if port.Name == c.cfg.MetricsPort {
				u := url.URL{Scheme: "http", Host: joinHostPort(p.Status.PodIP, port.ContainerPort), Path: "/metrics"}
				return u.String()
			}
		}
	}
	return ""
}

func joinHostPort(ip string, port int32) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(int(port))
	}
	return ip + ":" + strconv.Itoa(int(port))
}

// drop takes a revision out of the controller's hands.
func (c *Controller) drop(key, why string) {
	c.mu.Lock()
	_, had := c.revs[key]
	delete(c.revs, key)
	n := len(c.revs)
	c.mu.Unlock()
	if !had {
		return
	}
	c.loop.Remove(key)
	c.scraper.Remove(key)
	c.revisions.Set(float64(n))
	c.log.Info("no longer autoscaling", "deployment", key, "why", why)
}

// Stat implements autoscaler.Metrics from the scraper, or from
// Config.Stat when it knows the revision.
func (c *Controller) Stat(rev string, now time.Time) (autoscaler.Stat, error) {
	if c.cfg.Stat != nil {
		if s, ok := c.cfg.Stat(rev, now); ok {
			return s, nil
		}
	}
	return c.scraper.Stat(rev, now)
}

// Pods implements autoscaler.Scaler from the informer cache.
func (c *Controller) Pods(rev string) (autoscaler.Pods, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.revs[rev]
	if r == nil {
		return autoscaler.Pods{}, fmt.Errorf("revision %s is not under control", rev)
	}
	return autoscaler.Pods{Ready: r.ready, NotReady: r.notReady}, nil
}

// writeSettle is how long a written replica count is trusted over a cache
// that does not show it yet.
const writeSettle = 5 * time.Second

// Scale implements autoscaler.Scaler through the scale subresource. It
// writes only when the cached spec.replicas differs, so a steady revision
// costs the API nothing.
func (c *Controller) Scale(rev string, desired int) error {
	want := int32(desired)
	now := c.clock.Now()
	c.mu.Lock()
	r := c.revs[rev]
	if r == nil {
		c.mu.Unlock()
		return fmt.Errorf("revision %s is not under control", rev)
	}
	skip := r.replicas == want || r.lastWrite == want && now.Sub(r.lastWriteAt) < writeSettle
	c.mu.Unlock()
	if skip {
		return nil
	}
	ns, name, _ := cache.SplitMetaNamespaceKey(rev)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// No resourceVersion: the scale subresource of a Deployment takes an
	// unconditional update, and the policy's number is the one we want
	// whatever changed in between.
	_, err := c.cfg.Client.AppsV1().Deployments(ns).UpdateScale(ctx, name, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       autoscalingv1.ScaleSpec{Replicas: want},
	}, metav1.UpdateOptions{FieldManager: "scalebench-controller"})
	if err != nil {
		c.apiError(rev, "update", "deployments/scale", err)
		return err
	}
	c.mu.Lock()
	r.lastWrite, r.lastWriteAt = want, now
	delete(r.reported, "update deployments/scale")
	c.mu.Unlock()
	return nil
}

// Poke is the activator's signal that requests for rev wait for capacity.
func (c *Controller) Poke(rev string, demand float64) bool {
	c.mu.Lock()
	_, ok := c.revs[rev]
	c.mu.Unlock()
	if ok {
		c.loop.Poke(rev, demand)
	}
	return ok
}

// Ticks are the decisions so far, in order; empty unless Config.KeepTicks.
func (c *Controller) Ticks() []loop.Tick { return c.loop.Ticks() }

// Grid is the autoscaler loop's schedule of revision rev (NAMESPACE/NAME):
// its first step, from which a tick follows every interval.
func (c *Controller) Grid(rev string) (origin time.Time, interval time.Duration, ok bool) {
	return c.loop.Grid(rev)
}

// Revisions lists the Deployments under control.
func (c *Controller) Revisions() []string { return c.scraper.Revisions() }

// apiError reports a failed call made for a revision: the counter every
// time; the log line and the Warning Event once until the call succeeds.
func (c *Controller) apiError(rev, verb, resource string, err error) {
	reason := string(apierrors.ReasonForError(err))
	if reason == "" {
		reason = "Unknown"
	}
	c.apiErrors.WithLabelValues(rev, verb, resource, reason).Inc()
	ns, name, _ := cache.SplitMetaNamespaceKey(rev)
	d, _ := c.dlister.Deployments(ns).Get(name)
	msg := fmt.Sprintf("cannot %s %s of %s: %v", verb, resource, rev, err)
	if apierrors.IsForbidden(err) {
		msg = fmt.Sprintf("RBAC: the controller may not %s %s in namespace %s (grant it in the controller's Role); %s keeps its current scale: %v", verb, resource, ns, rev, err)
	}
	c.reportOnce(rev, d, verb+" "+resource, msg)
}

// reportOnce logs msg and posts it as a Warning Event on d, once per
// (revision, what) until cleared.
func (c *Controller) reportOnce(rev string, d *appsv1.Deployment, what, msg string) {
	c.mu.Lock()
	r := c.revs[rev]
	seen := false
	if r != nil {
		seen = r.reported[what]
		r.reported[what] = true
	}
	c.mu.Unlock()
	if seen {
		return
	}
	c.log.Error(msg, "deployment", rev)
	if d != nil {
		reason := "AutoscalingFailed"
		if strings.Contains(msg, "RBAC") {
			reason = "PermissionDenied"
		}
		c.recorder.Event(d, corev1.EventTypeWarning, reason, msg)
	}
}

// watchError reports an informer's failing list or watch: a missing
// permission is logged once, counted, and posted on every opted-in
// Deployment, whose autoscaling cannot see the truth meanwhile.
func (c *Controller) watchError(resource string, err error) {
	reason := string(apierrors.ReasonForError(err))
	if reason == "" {
		reason = "Unknown"
	}
	c.apiErrors.WithLabelValues("", "list", resource, reason).Inc()
	c.mu.Lock()
	was := c.watchErrs[resource]
	c.watchErrs[resource] = reason
	keys := make([]string, 0, len(c.revs))
	for k := range c.revs {
		keys = append(keys, k)
	}
	c.mu.Unlock()
	if was == reason {
		return
	}
	msg := fmt.Sprintf("cannot list/watch %s: %v", resource, err)
	if apierrors.IsForbidden(err) {
		msg = fmt.Sprintf("RBAC: the controller may not list/watch %s (grant it in the controller's Role); autoscaling works from a stale view until it can: %v", resource, err)
	}
	c.log.Error(msg)
	for _, k := range keys {
		ns, name, _ := cache.SplitMetaNamespaceKey(k)
		if d, err := c.dlister.Deployments(ns).Get(name); err == nil {
			c.recorder.Event(d, corev1.EventTypeWarning, "PermissionDenied", msg)
		}
	}
}
