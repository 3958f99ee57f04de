package activator

import (
	"context"
	"errors"
	"fmt"
	"github.com/scalebench/scalebench/internal/wire"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	platformactivator "github.com/scalebench/scalebench/platform/activator"
	"github.com/scalebench/scalebench/platform/queueproxy"
)

// Config describes an activator.
type Config struct {
	Client kubernetes.Interface
	// Namespace is the one namespace whose revisions it serves.
	Namespace string
	// PortName is the EndpointSlice port requests go to; default "http".
	PortName string
	// Controllers are the controller replicas' base URLs to poke.
	Controllers []string
	// ContainerConcurrency is the per-pod limit the load balancing assumes
	// (0 = unlimited, the queue-proxies enforce the real one).
	ContainerConcurrency int
	// QueueDepth and Timeout bound the buffer per revision (the local
	// activator's defaults when 0).
	QueueDepth int
	Timeout    time.Duration
	Registerer prometheus.Registerer
	Log        *slog.Logger
	// WatchRoutes puts in force the routes of the namespace's ConfigMaps
	// labelled RouteLabel (list and watch on configmaps), so a deployed
	// activator splits functions across their revisions.
	WatchRoutes bool
}

type revision struct {
	act  *platformactivator.Activator
	pods map[string]*queueproxy.Proxy // by address
}

// Activator is a running activator.
type Activator struct {
	cfg     Config
	log     *slog.Logger
	factory informers.SharedInformerFactory
	slices  discoverylisters.EndpointSliceLister
	synced  []cache.InformerSynced
	// routeFactory watches route ConfigMaps (Config.WatchRoutes); a
	// ConfigMap refused gets a Warning Event, as kubectl describe shows.
	routeFactory informers.SharedInformerFactory
	events       record.EventBroadcaster
	recorder     record.EventRecorder
	transport    *http.Transport
	poker        *poker

	mu     sync.Mutex
	revs   map[string]*revision // by Service name
	routes map[string]*router   // by function name
}

// New makes an activator; Run starts its informer.
func New(cfg Config) (*Activator, error) {
	if cfg.Client == nil || cfg.Namespace == "" {
		return nil, errors.New("activator: want a client and a namespace")
	}
	if cfg.PortName == "" {
		cfg.PortName = "http"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	for _, u := range cfg.Controllers {
		if pu, err := url.Parse(u); err != nil || pu.Scheme != "http" || pu.Host == "" {
			return nil, fmt.Errorf("activator: controller URL %q: want http://HOST:PORT", u)
		}
	}
	a := &Activator{cfg: cfg, log: cfg.Log, revs: map[string]*revision{}, routes: map[string]*router{}, transport: queueproxy.DefaultTransport()}
	a.poker = newPoker(cfg.Controllers, cfg.Log)
	a.factory = informers.NewSharedInformerFactoryWithOptions(cfg.Client, 10*time.Minute, informers.WithNamespace(cfg.Namespace))
	inf := a.factory.Discovery().V1().EndpointSlices()
	a.slices = inf.Lister()
	a.synced = []cache.InformerSynced{inf.Informer().HasSynced}
	handle := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
			if svc := s.Labels[discoveryv1.LabelServiceName]; svc != "" {
				a.refresh(svc)
			}
		}
	}
	inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: handle, UpdateFunc: func(_, o any) { handle(o) }, DeleteFunc: handle,
	})
	if cfg.WatchRoutes {
		a.routeFactory = informers.NewSharedInformerFactoryWithOptions(cfg.Client, 10*time.Minute, informers.WithNamespace(cfg.Namespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = RouteLabel }))
		a.events = record.NewBroadcaster()
		a.recorder = a.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "scalebench-activator"})
		cms := a.routeFactory.Core().V1().ConfigMaps().Informer()
		a.synced = append(a.synced, cms.HasSynced)
		cms.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    a.routeChanged,
			UpdateFunc: func(_, o any) { a.routeChanged(o) },
			DeleteFunc: func(obj any) {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				if cm, ok := obj.(*corev1.ConfigMap); ok {
					a.DeleteRoute(cm.Name)
					a.log.Info("route deleted", "route", cm.Namespace+"/"+cm.Name)
				}
			},
		})
	}
	return a, nil
}

// routeChanged puts a route ConfigMap's route in force. One that does not
// parse leaves the route in force as it was (Knative keeps serving a
// Route's last good traffic), and says why in the log.
func (a *Activator) routeChanged(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	r, err := routeFromConfigMap(cm)
	if err == nil {
		err = a.SetRoute(r)
	}
	if err != nil {
		a.log.Error("route refused; the one in force stays", "route", cm.Namespace+"/"+cm.Name, "err", err)
		a.recorder.Event(cm, corev1.EventTypeWarning, "RouteRefused", err.Error()+"; the route in force stays")
		return
	}
	a.log.Info("route", "route", cm.Namespace+"/"+cm.Name, "revisions", r.Revisions, "steps", len(r.Steps), "start", r.Start.UTC().Format(time.RFC3339))
}

// Run watches EndpointSlices and pokes until ctx ends.
func (a *Activator) Run(ctx context.Context) {
	a.factory.Start(ctx.Done())
	defer a.factory.Shutdown()
	if a.routeFactory != nil {
		a.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.cfg.Client.CoreV1().Events(a.cfg.Namespace)})
		defer a.events.Shutdown()
		a.routeFactory.Start(ctx.Done())
		defer a.routeFactory.Shutdown()
	}
	cache.WaitForCacheSync(ctx.Done(), a.synced...)
	a.poker.run(ctx)
	a.transport.CloseIdleConnections()
}

// revisionFor returns the revision of Service svc, making it on first use.
func (a *Activator) revisionFor(svc string) (*revision, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := a.revs[svc]; r != nil {
		return r, nil
	}
	rev := a.cfg.Namespace + "/" + svc
	act, err := platformactivator.New(platformactivator.Config{
		Revision: rev, QueueDepth: a.cfg.QueueDepth, Timeout: a.cfg.Timeout,
		ContainerConcurrency: a.cfg.ContainerConcurrency,
		Poke:                 func(demand float64) { a.poker.poke(rev, demand) },
		Registerer:           a.cfg.Registerer,
	})
	if err != nil {
		return nil, err
	}
	r := &revision{act: act, pods: map[string]*queueproxy.Proxy{}}
	a.revs[svc] = r
	return r, nil
}

// refresh makes the revision's pods the ready endpoints of its slices.
func (a *Activator) refresh(svc string) {
	slices, err := a.slices.EndpointSlices(a.cfg.Namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc}))
	if err != nil {
		return
	}
	want := map[string]string{} // address → pod name
	for _, s := range slices {
		port := int32(0)
		for _, p := range s.Ports {
			if p.Name != nil && *p.Name == a.cfg.PortName && p.Port != nil {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || !*ep.Conditions.Ready || len(ep.Addresses) == 0 {
				continue
			}
			name := ep.Addresses[0]
			if ep.TargetRef != nil {
				name = ep.TargetRef.Name
			}
			want[net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(port)))] = name
		}
	}
	r, err := a.revisionFor(svc)
	if err != nil {
		a.log.Error("activator", "revision", svc, "err", err)
		return
	}
	a.mu.Lock()
	var add []*queueproxy.Proxy
	var gone []*queueproxy.Proxy
	for addr, qp := range r.pods {
		if _, ok := want[addr]; !ok {
			gone = append(gone, qp)
			delete(r.pods, addr)
		}
	}
	for addr, name := range want {
		if r.pods[addr] != nil {
			continue
		}
		qp, err := queueproxy.New(queueproxy.Config{Pod: name, Addr: addr, ContainerConcurrency: a.cfg.ContainerConcurrency,
			Transport: a.transport, OnRelease: r.act.Dispatch})
		if err != nil {
			a.log.Error("activator", "endpoint", addr, "err", err)
			continue
		}
		r.pods[addr] = qp
		add = append(add, qp)
	}
	ready := len(r.pods)
	now := time.Now()
	for _, rt := range a.routes {
		rt.endpoints(svc, ready, now)
	}
	a.mu.Unlock()
	for _, qp := range gone {
		r.act.RemovePod(qp)
	}
	for _, qp := range add {
		r.act.AddPod(qp)
	}
	if len(add)+len(gone) > 0 {
		a.log.Info("endpoints", "revision", a.cfg.Namespace+"/"+svc, "ready", len(want), "added", len(add), "removed", len(gone))
	}
}

// ServeHTTP routes /NAMESPACE/NAME/REST to revision NAME as /REST, or,
// when NAME is a route's, to the revision its split draws.
func (a *Activator) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(req.URL.Path, "/"), "/", 3)
	if len(parts) < 2 || parts[0] != a.cfg.Namespace || parts[1] == "" {
		http.Error(w, "activator: want /"+a.cfg.Namespace+"/NAME/... with NAME a revision's Service or a route", http.StatusNotFound)
		return
	}
	svc := parts[1]
	// Only Services with EndpointSlices are revisions: an empty slice
	// (no ready pod) is how a revision at zero looks.
	a.mu.Lock()
	if rt := a.routes[svc]; rt != nil {
		i := rt.pick(time.Now())
		if i < 0 {
			a.mu.Unlock()
			http.Error(w, "activator: route "+svc+" gives no revision traffic yet (its first step waits for a Ready revision)", http.StatusServiceUnavailable)
			return
		}
		svc = rt.cfg.Revisions[i]
		// The load generator breaks its figures down by the revision each
		// response names, as the local platform's route answers.
		w.Header().Set(wire.HeaderRevision, svc)
	}
	r := a.revs[svc]
	a.mu.Unlock()
	if r == nil {
		http.Error(w, "activator: no EndpointSlices for Service "+a.cfg.Namespace+"/"+svc, http.StatusNotFound)
		return
	}
	rest := "/"
	if len(parts) == 3 {
		rest += parts[2]
	}
	req = req.Clone(req.Context())
	req.URL.Path, req.URL.RawPath = rest, ""
	r.act.ServeHTTP(w, req)
}

// Endpoints lists the addresses a revision routes to, sorted.
func (a *Activator) Endpoints(svc string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.revs[svc]
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.pods))
	for addr := range r.pods {
		out = append(out, addr)
	}
	sort.Strings(out)
	return out
}

// poker sends pokes to the controllers, coalesced: one request per
// revision in flight, with the highest demand seen meanwhile.
type poker struct {
	urls   []string
	log    *slog.Logger
	client *http.Client

	mu      sync.Mutex
	pending map[string]float64
	wake    chan struct{}
}

func newPoker(urls []string, log *slog.Logger) *poker {
	return &poker{urls: urls, log: log, client: &http.Client{Timeout: 2 * time.Second},
		pending: map[string]float64{}, wake: make(chan struct{}, 1)}
}

func (p *poker) poke(rev string, demand float64) {
	p.mu.Lock()
	p.pending[rev] = max(p.pending[rev], demand)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *poker) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		p.mu.Lock()
		batch := p.pending
		p.pending = map[string]float64{}
		p.mu.Unlock()
		var wg sync.WaitGroup
		for rev, demand := range batch {
			for _, u := range p.urls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p.send(ctx, u, rev, demand)
				}()
			}
		}
		wg.Wait()
	}
}

func (p *poker) send(ctx context.Context, base, rev string, demand float64) {
	form := url.Values{"revision": {rev}, "demand": {strconv.FormatFloat(demand, 'f', -1, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/poke", strings.NewReader(form.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("poke", "controller", base, "revision", rev, "err", err)
		}
		return
	}
	resp.Body.Close()
	// 503 is a standby replica; only the leader acts on a poke.
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusServiceUnavailable {
		p.log.Warn("poke", "controller", base, "revision", rev, "status", resp.Status)
	}
}

// Collect closes revision svc's one-second interval at now and returns what
// the activator saw in it: the exact time-average of its requests in flight
// plus those it buffers, their peak and the arrivals. With the activator
// always in the path (no kube-proxy), that is every request of the
// revision, as Knative's activator reports its own to the autoscaler; ok
// is false for a revision it has not seen.
func (a *Activator) Collect(svc string, now time.Time) (s platformactivator.Sample, ok bool) {
	a.mu.Lock()
	r := a.revs[svc]
	a.mu.Unlock()
	if r == nil {
		return s, false
	}
	return r.act.Collect(now), true
}
