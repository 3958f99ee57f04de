package podwatch

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Life is one pod's life as the watch saw it, on this process's clock.
type Life struct {
	Name string
	UID  types.UID
	// Labels are the pod's labels when first seen (which revision or
	// function it belongs to).
	Labels map[string]string
	// Seen is when the watch first delivered the pod, Ready when it first
	// saw it Ready (zero if never), Gone when it saw it deleted or
	// terminal (zero while it lives). Pods that existed before Run
	// started have Baseline set.
	Seen, Ready, Gone time.Time
	// Unready is when a pod that was Ready stopped being so for good: its
	// deletion began (a scale-down) or it failed its readiness.
	Unready  time.Time
	Baseline bool
}

// Tracker follows every pod of a selector through an informer, event by
// event, so each pod's creation, readiness and end are timed to the watch's
// latency rather than to a sampling interval. Counter samples; Tracker
// times.
type Tracker struct {
	factory informers.SharedInformerFactory
	synced  cache.InformerSynced
	sel     labels.Selector
	now     func() time.Time

	mu    sync.Mutex
	lives map[types.UID]*Life
	order []types.UID
	ready bool // the initial list is in: later adds are new pods
}

// NewTracker follows the pods matching selector in namespace.
func NewTracker(client kubernetes.Interface, namespace string, selector labels.Selector) *Tracker {
	t := &Tracker{sel: selector, now: time.Now, lives: map[types.UID]*Life{}}
	t.factory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector.String() }))
	inf := t.factory.Core().V1().Pods().Informer()
	t.synced = inf.HasSynced
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.observe(obj, false) },
		UpdateFunc: func(_, obj any) { t.observe(obj, false) },
		DeleteFunc: func(obj any) { t.observe(obj, true) },
	})
	return t
}

// observe is one event.
func (t *Tracker) observe(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = d.Obj, true
	}
	p, ok := obj.(*corev1.Pod)
	if !ok || !t.sel.Matches(labels.Set(p.Labels)) {
		return
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.lives[p.UID]
	if l == nil {
		l = &Life{Name: p.Name, UID: p.UID, Labels: p.Labels, Seen: now, Baseline: !t.ready}
		t.lives[p.UID] = l
		t.order = append(t.order, p.UID)
	}
	if !l.Gone.IsZero() {
		return
	}
	isReady := ready(p) && p.DeletionTimestamp == nil
	switch {
	case isReady && (l.Ready.IsZero() || !l.Unready.IsZero()):
		if l.Ready.IsZero() {
			l.Ready = now
		}
		l.Unready = time.Time{}
	case !isReady && !l.Ready.IsZero() && l.Unready.IsZero():
		l.Unready = now
	}
	if deleted || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		l.Gone = now
		if !l.Ready.IsZero() && l.Unready.IsZero() {
			l.Unready = now
		}
	}
}

// Run watches until ctx ends. It returns once the watch is synced (the pods
// that exist then are the baseline) and keeps watching in the background;
// the error is for an informer that never syncs.
func (t *Tracker) Run(ctx context.Context) error {
	t.factory.Start(ctx.Done())
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(sctx.Done(), t.synced) {
		t.factory.Shutdown()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("podwatch: the pod informer did not sync in 30s (can this identity list and watch pods?)")
	}
	t.mu.Lock()
	t.ready = true
	t.mu.Unlock()
	go func() { <-ctx.Done(); t.factory.Shutdown() }()
	return nil
}

// Lives returns every pod seen so far, in the order first seen.
func (t *Tracker) Lives() []Life {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Life, 0, len(t.order))
	for _, uid := range t.order {
		out = append(out, *t.lives[uid])
	}
	return out
}

// Span sums lives over the span [from, to]: pods first seen inside it
// (not the baseline, not those before from), the integral of live pods
// over it, and the most alive at once.
func Span(lives []Life, from, to time.Time) Figures {
	type edge struct {
		at time.Time
		d  int
	}
	var f Figures
	var edges []edge
	for _, l := range lives {
		if !l.Baseline && l.Seen.After(from) && !l.Seen.After(to) {
			f.PodStarts++
		}
		start, end := l.Seen, l.Gone
		if start.Before(from) {
			start = from
		}
		if end.IsZero() || end.After(to) {
			end = to
		}
		if !end.After(start) {
			continue
		}
		f.PodSeconds += end.Sub(start).Seconds()
		edges = append(edges, edge{start, +1}, edge{end, -1})
	}
	sort.SliceStable(edges, func(i, j int) bool {
		if !edges[i].at.Equal(edges[j].at) {
			return edges[i].at.Before(edges[j].at)
		}
		return edges[i].d < edges[j].d // an end before a start at one instant
	})
	live := 0
	for _, e := range edges {
		live += e.d
		f.MaxPods = max(f.MaxPods, live)
	}
	return f
}

// At counts the pods alive and ready at instant at.
func At(lives []Life, at time.Time) (pods, readyPods int) {
	for _, l := range lives {
		if l.Seen.After(at) || !l.Gone.IsZero() && !l.Gone.After(at) {
			continue
		}
		pods++
		if !l.Ready.IsZero() && !l.Ready.After(at) && (l.Unready.IsZero() || l.Unready.After(at)) {
			readyPods++
		}
	}
	return pods, readyPods
}
