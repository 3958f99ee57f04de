package podwatch

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Sample is one second of a revision's pods.
type Sample struct {
	// At is the time since the counter started.
	At time.Duration
	// Pods exist (scheduled or not, terminating included: they still hold
	// their resources); Ready pass their readiness probe.
	Pods, Ready int
}

// Figures are a run's pod totals.
type Figures struct {
	// PodStarts counts pods created after the counter started.
	PodStarts int64
	// PodSeconds integrates Pods over the samples.
	PodSeconds float64
	// MaxPods is the most pods at one sample.
	MaxPods int
}

// Counter counts one selector's pods.
type Counter struct {
	lister   func() ([]*corev1.Pod, error)
	synced   cache.InformerSynced
	factory  informers.SharedInformerFactory
	start    time.Time
	every    time.Duration
	mu       sync.Mutex
	seen     map[types.UID]bool
	baseline bool
	samples  []Sample
	figures  Figures
}

// New counts the pods matching selector in namespace. Pods that exist when
// the first sample is taken are the baseline, not starts.
func New(client kubernetes.Interface, namespace string, selector labels.Selector) *Counter {
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace))
	pods := f.Core().V1().Pods()
	inf := pods.Informer()
	lister := pods.Lister().Pods(namespace)
	return &Counter{
		lister:  func() ([]*corev1.Pod, error) { return lister.List(selector) },
		synced:  inf.HasSynced,
		factory: f,
		seen:    map[types.UID]bool{},
	}
}

// Run samples every interval until ctx ends. It returns an error only if
// the informer never syncs (no permission to list pods, say).
func (c *Counter) Run(ctx context.Context, every time.Duration) error {
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ok := cache.WaitForCacheSync(sctx.Done(), c.synced)
	cancel()
	if !ok {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("podwatch: the pod informer did not sync in 30s (can this identity list and watch pods?)")
	}
	c.every = every
	c.start = time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	c.Sample(c.start)
	for {
		select {
		case <-ctx.Done():
			// Close the last interval, so pod-seconds cover the whole run.
			c.Sample(time.Now())
			return nil
		case now := <-t.C:
			c.Sample(now)
		}
	}
}

// Sample records the pods at now.
func (c *Counter) Sample(now time.Time) {
	pods, err := c.lister()
	if err != nil {
		return
	}
	if c.start.IsZero() {
		c.start = now
	}
	s := Sample{At: now.Sub(c.start)}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		s.Pods++
		if ready(p) && p.DeletionTimestamp == nil {
			s.Ready++
		}
		if !c.seen[p.UID] {
			c.seen[p.UID] = true
			if c.baseline {
				c.figures.PodStarts++
			}
		}
	}
	c.baseline = true
	if n := len(c.samples); n > 0 {
		c.figures.PodSeconds += float64(c.samples[n-1].Pods) * (s.At - c.samples[n-1].At).Seconds()
	}
	c.figures.MaxPods = max(c.figures.MaxPods, s.Pods)
	c.samples = append(c.samples, s)
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Samples returns the samples so far.
func (c *Counter) Samples() []Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Sample(nil), c.samples...)
}

// Figures returns the totals so far.
func (c *Counter) Figures() Figures {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.figures
}
