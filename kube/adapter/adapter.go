package adapter

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/scalebench/scalebench/kube/scrape"
)

// The metrics the adapter serves for pods.
const (
	MetricConcurrency = "concurrency"
	MetricRPS         = "rps"
)

var podsResource = schema.GroupResource{Resource: "pods"}

// Config describes an adapter's metric source.
type Config struct {
	Client kubernetes.Interface
	// Namespace limits the pods scraped; "" is all namespaces.
	Namespace string
	// MetricsPort is the queue-proxy's metrics port on the pod IP.
	MetricsPort int
	// Window is the averaging window; default 15 s.
	Window  time.Duration
	Fetcher scrape.Fetcher
	// Registerer receives the scrape counters; nil registers none.
	Registerer prometheus.Registerer
}

// point is one second of one pod.
type point struct {
	at          time.Time
	concurrency float64
	rps         float64
}

// Provider implements provider.CustomMetricsProvider from scraped pods.
type Provider struct {
	cfg     Config
	factory informers.SharedInformerFactory
	pods    corelisters.PodLister
	synced  cache.InformerSynced
	scraper *scrape.Scraper

	mu     sync.Mutex
	series map[types.NamespacedName][]point
}

var _ provider.CustomMetricsProvider = (*Provider)(nil)

// New makes a provider; Run feeds it.
func New(cfg Config) (*Provider, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("metrics adapter: no Kubernetes client")
	}
	if cfg.MetricsPort <= 0 {
		cfg.MetricsPort = 9091
	}
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Second
	}
	s, err := scrape.New(scrape.Options{Fetcher: cfg.Fetcher, Registerer: cfg.Registerer, Subsystem: "metrics_adapter"})
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, scraper: s, series: map[types.NamespacedName][]point{}}
	p.factory = informers.NewSharedInformerFactoryWithOptions(cfg.Client, 10*time.Minute, informers.WithNamespace(cfg.Namespace))
	inf := p.factory.Core().V1().Pods()
	p.pods = inf.Lister()
	p.synced = inf.Informer().HasSynced
	return p, nil
}

// Run scrapes the ready pods every second until ctx ends.
func (p *Provider) Run(ctx context.Context) {
	p.factory.Start(ctx.Done())
	defer p.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), p.synced) {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		p.Collect(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Collect scrapes every ready pod once and adds the second to each pod's
// series; Run calls it every second.
func (p *Provider) Collect(ctx context.Context, now time.Time) {
	all, err := p.pods.List(labels.Everything())
	if err != nil {
		return
	}
	byNS := map[string][]scrape.Target{}
	for _, pod := range all {
		if pod.DeletionTimestamp != nil || pod.Status.PodIP == "" || !ready(pod) {
			continue
		}
		u := url.URL{Scheme: "http", Host: hostPort(pod.Status.PodIP, p.cfg.MetricsPort), Path: "/metrics"}
		byNS[pod.Namespace] = append(byNS[pod.Namespace], scrape.Target{Pod: pod.Name, URL: u.String()})
	}
	for _, ns := range p.scraper.Revisions() {
		if _, ok := byNS[ns]; !ok {
			p.scraper.Remove(ns)
		}
	}
	for ns, targets := range byNS {
		p.scraper.SetTargets(ns, targets)
	}
	p.scraper.Scrape(ctx, now)
	cut := now.Add(-p.cfg.Window)
	p.mu.Lock()
	defer p.mu.Unlock()
	for ns := range byNS {
		for _, v := range p.scraper.Pods(ns) {
			if !v.Time.Equal(now) {
				continue
			}
			k := types.NamespacedName{Namespace: ns, Name: v.Pod}
			p.series[k] = append(p.series[k], point{at: now, concurrency: v.Concurrency, rps: v.RPS})
		}
	}
	for k, s := range p.series {
		i := 0
		for i < len(s) && !s[i].at.After(cut) {
			i++
		}
		if i == len(s) {
			delete(p.series, k)
			continue
		}
		p.series[k] = s[i:]
	}
}

func ready(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hostPort(ip string, port int) string {
	for _, c := range ip {
		if c == ':' {
			return "[" + ip + "]:" + strconv.Itoa(port)
		}
	}
	return ip + ":" + strconv.Itoa(port)
}

// value is a pod's window average of metric, and when its newest second
// was; ok is false without data in the window.
func (p *Provider) value(k types.NamespacedName, metric string) (v float64, at time.Time, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.series[k]
	if len(s) == 0 {
		return 0, time.Time{}, false
	}
	for _, pt := range s {
		if metric == MetricRPS {
			v += pt.rps
		} else {
			v += pt.concurrency
		}
	}
	return v / float64(len(s)), s[len(s)-1].at, true
}

func (p *Provider) metricValue(pod *corev1.Pod, info provider.CustomMetricInfo) (*custom_metrics.MetricValue, bool) {
	v, at, ok := p.value(types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}, info.Metric)
	if !ok {
		return nil, false
	}
	window := int64(p.cfg.Window / time.Second)
	return &custom_metrics.MetricValue{
		DescribedObject: custom_metrics.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Metric:          custom_metrics.MetricIdentifier{Name: info.Metric},
		Timestamp:       metav1.NewTime(at),
		WindowSeconds:   &window,
		// Milli-units: the HPA's replica calculator reads MilliValue.
		Value: *resource.NewMilliQuantity(int64(v*1000+0.5), resource.DecimalSI),
	}, true
}

func (p *Provider) check(info provider.CustomMetricInfo) error {
	if info.GroupResource != podsResource || (info.Metric != MetricConcurrency && info.Metric != MetricRPS) {
		return provider.NewMetricNotFoundError(info.GroupResource, info.Metric)
	}
	return nil
}

// GetMetricByName implements provider.CustomMetricsProvider.
func (p *Provider) GetMetricByName(_ context.Context, name types.NamespacedName, info provider.CustomMetricInfo, _ labels.Selector) (*custom_metrics.MetricValue, error) {
	if err := p.check(info); err != nil {
		return nil, err
	}
	pod, err := p.pods.Pods(name.Namespace).Get(name.Name)
	if apierrors.IsNotFound(err) {
		return nil, provider.NewMetricNotFoundForError(info.GroupResource, info.Metric, name.Name)
	}
	if err != nil {
		return nil, err
	}
	mv, ok := p.metricValue(pod, info)
	if !ok {
		return nil, provider.NewMetricNotFoundForError(info.GroupResource, info.Metric, name.Name)
	}
	return mv, nil
}

// GetMetricBySelector implements provider.CustomMetricsProvider: the pods
// the HPA's selector matches that have a value.
func (p *Provider) GetMetricBySelector(_ context.Context, namespace string, selector labels.Selector, info provider.CustomMetricInfo, _ labels.Selector) (*custom_metrics.MetricValueList, error) {
	if err := p.check(info); err != nil {
		return nil, err
	}
	pods, err := p.pods.Pods(namespace).List(selector)
	if err != nil {
		return nil, err
	}
	out := &custom_metrics.MetricValueList{}
	for _, pod := range pods {
		if mv, ok := p.metricValue(pod, info); ok {
			out.Items = append(out.Items, *mv)
		}
	}
	return out, nil
}

// ListAllMetrics implements provider.CustomMetricsProvider.
func (p *Provider) ListAllMetrics() []provider.CustomMetricInfo {
	return []provider.CustomMetricInfo{
		{GroupResource: podsResource, Namespaced: true, Metric: MetricConcurrency},
		{GroupResource: podsResource, Namespaced: true, Metric: MetricRPS},
	}
}
