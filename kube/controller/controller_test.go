package controller

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// deployment makes a Deployment created long before t0, so it is adopted
// at its current replicas.
func deployment(name string, replicas int32, ann map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "fns", Annotations: ann,
			CreationTimestamp: metav1.NewTime(time.Unix(0, 0))},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}},
	}
}

// pod makes a ready pod of a Deployment, with the queue-proxy metrics port.
func pod(deploy string, i int, ready bool) *corev1.Pod {
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	hash := "abc12"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%s-%d", deploy, hash, i), Namespace: "fns",
			Labels:          map[string]string{"app": deploy, appsv1.DefaultDeploymentUniqueLabelKey: hash},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: deploy + "-" + hash}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "queue-proxy",
			Ports: []corev1.ContainerPort{{Name: "http-autometric", ContainerPort: 9090}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("127.0.%d.%d", len(deploy), i+1),
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: cond}}},
	}
}

// busyFetcher serves every queue-proxy with a request-seconds counter that
// grows by perSecond each call, as a pod holding that many requests would.
type busyFetcher struct {
	mu        sync.Mutex
	perSecond float64
	calls     map[string]int
}

func (f *busyFetcher) Fetch(_ context.Context, url string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	n := f.calls[url]
	f.calls[url]++
	busy := f.perSecond * float64(n)
	return io.NopCloser(strings.NewReader(fmt.Sprintf(
		"scalebench_queueproxy_request_seconds_total %g\nscalebench_queueproxy_requests_total %g\nscalebench_queueproxy_in_flight_requests %g\n",
		busy, 10*float64(n), f.perSecond))), nil
}

type rig struct {
	c      *Controller
	client *fake.Clientset
	clk    *fakeClock
	reg    *prometheus.Registry
	fetch  *busyFetcher
	t0     time.Time

	log lockedBuffer

	mu      sync.Mutex
	scales  map[string][]int32
	deny    bool
	actions []k8stesting.Action
}

func newRig(t *testing.T, objs ...runtime.Object) *rig {
	t.Helper()
	r := &rig{client: fake.NewClientset(objs...), t0: time.Unix(100000, 0), fetch: &busyFetcher{}, scales: map[string][]int32{}}
	r.clk = &fakeClock{now: r.t0}
	r.client.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r.mu.Lock()
		r.actions = append(r.actions, a)
		r.mu.Unlock()
		return false, nil, nil
	})
	r.client.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		s := a.(k8stesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		r.mu.Lock()
		deny := r.deny
		if !deny {
			r.scales[s.Name] = append(r.scales[s.Name], s.Spec.Replicas)
		}
		r.mu.Unlock()
		if deny {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments/scale"}, s.Name, fmt.Errorf("RBAC: access denied"))
		}
		// What the API server does: the Deployment's spec.replicas changes.
		obj, err := r.client.Tracker().Get(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, s.Namespace, s.Name)
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment).DeepCopy()
		d.Spec.Replicas = &s.Spec.Replicas
		if err := r.client.Tracker().Update(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, d, s.Namespace); err != nil {
			return true, nil, err
		}
		return true, s, nil
	})
	r.reg = prometheus.NewRegistry()
	var err error
	r.c, err = New(Config{Client: r.client, Namespace: "fns", Registerer: r.reg, Fetcher: r.fetch, Clock: r.clk, MetricsPort: "http-autometric",
		Log: slog.New(slog.NewTextHandler(&r.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r.c.startEvents()
	t.Cleanup(r.c.events.Shutdown)
	r.c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), r.c.synced...) {
		t.Fatal("caches did not sync")
	}
	return r
}

// settle syncs every Deployment, as the workers would.
func (r *rig) settle(t *testing.T) {
	t.Helper()
	ds, _ := r.c.dlister.List(labels.Everything())
	for _, d := range ds {
		if err := r.c.sync(context.Background(), d.Namespace+"/"+d.Name); err != nil {
			t.Fatal(err)
		}
	}
}

// run advances the clock second by second, scraping, syncing and stepping.
func (r *rig) run(t *testing.T, from, to time.Duration) {
	t.Helper()
	for off := from; off <= to; off += time.Second {
		now := r.t0.Add(off)
		r.clk.set(now)
		r.c.scraper.Scrape(context.Background(), now)
		r.c.loop.Step(now)
		// Let the informer see the writes before the next sync.
		time.Sleep(2 * time.Millisecond)
		r.settle(t)
	}
}

func (r *rig) scaled(name string) []int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int32(nil), r.scales[name]...)
}

func TestSyncOptsInAndOut(t *testing.T) {
	r := newRig(t,
		deployment("fn", 1, map[string]string{ClassAnnotation: "kpa"}),
		deployment("other", 1, nil),
		deployment("bad", 1, map[string]string{ClassAnnotation: "kpa", "autoscaling.knative.dev/tagret": "1"}),
		pod("fn", 0, true), pod("fn", 1, false), pod("other", 0, true))
	r.settle(t)
	if got := r.c.Revisions(); len(got) != 1 || got[0] != "fns/fn" {
		t.Fatalf("revisions %v, want only fns/fn", got)
	}
	pods, err := r.c.Pods("fns/fn")
	if err != nil || pods.Ready != 1 || pods.NotReady != 1 {
		t.Fatalf("pods %+v %v, want 1 ready and 1 not ready", pods, err)
	}
	if got := testutil.ToFloat64(r.c.revisions); got != 1 {
		t.Fatalf("revisions gauge %v", got)
	}
	// The invalid one got a Warning Event naming the bad knob.
	if !r.eventWith("bad", "InvalidAnnotations", "tagret") {
		t.Fatal("no InvalidAnnotations Event on the Deployment with a bad knob")
	}
	// Opting out: the annotation goes, the revision goes.
	d, _ := r.client.AppsV1().Deployments("fns").Get(context.Background(), "fn", metav1.GetOptions{})
	d.Annotations = nil
	r.client.AppsV1().Deployments("fns").Update(context.Background(), d, metav1.UpdateOptions{})
	waitFor(t, func() bool { got, _ := r.c.dlister.Deployments("fns").Get("fn"); return got.Annotations == nil })
	r.settle(t)
	if got := r.c.Revisions(); len(got) != 0 {
		t.Fatalf("revisions after opting out %v", got)
	}
}

func (r *rig) eventWith(obj, reason, text string) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, a := range r.actions {
			if ca, ok := a.(k8stesting.CreateAction); ok && a.GetResource().Resource == "events" {
				if e, ok := ca.GetObject().(*corev1.Event); ok && e.InvolvedObject.Name == obj && e.Reason == reason && strings.Contains(e.Message, text) {
					r.mu.Unlock()
					return true
				}
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestScalesUpOnScrapedConcurrencyAndLeavesOthersAlone(t *testing.T) {
	r := newRig(t,
		deployment("fn", 1, map[string]string{ClassAnnotation: "knative", "autoscaling.knative.dev/target": "10",
			"autoscaling.knative.dev/max-scale": "4", "autoscaling.knative.dev/window": "6s"}),
		deployment("other", 1, nil),
		pod("fn", 0, true), pod("other", 0, true))
	r.settle(t)
	r.fetch.perSecond = 50 // one pod holding 50 requests, target 10 x 70%
	r.run(t, 0, 6*time.Second)
	got := r.scaled("fn")
	if len(got) == 0 || got[len(got)-1] != 4 {
		t.Fatalf("scale writes %v, want up to max-scale 4", got)
	}
	for _, s := range got {
		if s > 4 {
			t.Fatalf("scale writes %v exceed max-scale 4", got)
		}
	}
	if gauge(t, r.reg, "scalebench_autoscaler_panic_mode", "fns/fn") != 1 {
		t.Fatal("50 requests on 1 pod with target 7 should be panic mode")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.actions {
		if a.GetVerb() != "list" && a.GetVerb() != "watch" && a.GetResource().Resource == "deployments" {
			if n, ok := a.(interface{ GetName() string }); ok && n.GetName() == "other" {
				t.Fatalf("touched the un-annotated Deployment: %v", a)
			}
			if u, ok := a.(k8stesting.UpdateAction); ok {
				if s, ok := u.GetObject().(*autoscalingv1.Scale); ok && s.Name == "other" {
					t.Fatalf("scaled the un-annotated Deployment: %v", a)
				}
			}
		}
	}
}

func TestForbiddenScaleIsReportedNotFatal(t *testing.T) {
	r := newRig(t,
		deployment("fn", 1, map[string]string{ClassAnnotation: "knative", "autoscaling.knative.dev/target": "10"}),
		pod("fn", 0, true))
	r.settle(t)
	r.deny = true
	r.fetch.perSecond = 50
	r.run(t, 0, 4*time.Second)
	denied := testutil.ToFloat64(r.c.apiErrors.WithLabelValues("fns/fn", "update", "deployments/scale", "Forbidden"))
	if denied < 2 {
		t.Fatalf("%v forbidden scale errors counted, want one per attempted write", denied)
	}
	if !r.eventWith("fn", "PermissionDenied", "deployments/scale") {
		t.Fatal("no PermissionDenied Event on the Deployment")
	}
	if n := strings.Count(r.log.String(), "may not update deployments/scale"); n != 1 {
		t.Fatalf("%d log lines about the forbidden scale over %v attempts, want one:\n%s", n, denied, r.log.String())
	}
	// The permission comes back: scaling resumes.
	r.mu.Lock()
	r.deny = false
	r.mu.Unlock()
	r.run(t, 5*time.Second, 7*time.Second)
	if got := r.scaled("fn"); len(got) == 0 || got[len(got)-1] < 2 {
		t.Fatalf("after the permission returned, writes %v, want a scale-up", got)
	}
}

// TestAdoptKeepsCurrentScale: a controller taking over (restart, new
// leader) holds a running Deployment's replicas instead of resetting it to
// initial-scale.
func TestAdoptKeepsCurrentScale(t *testing.T) {
	r := newRig(t,
		deployment("fn", 3, map[string]string{ClassAnnotation: "kpa"}),
		pod("fn", 0, true), pod("fn", 1, true), pod("fn", 2, true))
	r.settle(t)
	r.run(t, 0, 2*time.Second)
	for _, s := range r.scaled("fn") {
		if s != 3 {
			t.Fatalf("writes %v on taking over a 3-pod Deployment, want none below 3", r.scaled("fn"))
		}
	}
}

func TestPokeFromZero(t *testing.T) {
	r := newRig(t, deployment("fn", 0, map[string]string{ClassAnnotation: "kpa"}))
	r.settle(t)
	r.run(t, 0, 2*time.Second)
	if got := r.scaled("fn"); len(got) != 0 {
		t.Fatalf("a revision at zero with no requests was scaled: %v", got)
	}
	now := r.t0.Add(2500 * time.Millisecond)
	r.clk.set(now)
	if !r.c.Poke("fns/fn", 3) || r.c.Poke("fns/nope", 1) {
		t.Fatal("Poke should accept the revision and refuse an unknown one")
	}
	r.c.loop.Step(now)
	if got := r.scaled("fn"); len(got) != 1 || got[0] < 1 {
		t.Fatalf("writes after a poke at zero %v, want one scale-up", got)
	}
}

// gauge reads a per-revision gauge from the registry.
func gauge(t *testing.T, reg *prometheus.Registry, name, rev string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "revision" && l.GetValue() == rev {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{revision=%q}", name, rev)
	return 0
}

func TestMetricsURL(t *testing.T) {
	p := pod("fn", 0, true)
	cases := []struct{ port, want string }{
		{"9091", "http://127.0.2.1:9091/metrics"},
		{"http-autometric", "http://127.0.2.1:9090/metrics"},
		{"no-such-port", ""},
	}
	for _, tc := range cases {
		t.Run(tc.port, func(t *testing.T) {
			c := &Controller{cfg: Config{MetricsPort: tc.port}}
			if got := c.metricsURL(p); got != tc.want {
				t.Fatalf("metricsURL = %q, want %q", got, tc.want)
			}
		})
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestScalingKeepsThePolicy: a Deployment adopted at its current replicas
// keeps its policy (and the policy's windows) when its replicas change; only
// a change of its annotations makes a fresh one.
func TestScalingKeepsThePolicy(t *testing.T) {
	r := newRig(t, deployment("fn", 1, map[string]string{ClassAnnotation: "kpa"}), pod("fn", 0, true))
	r.settle(t)
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	obj, err := r.client.Tracker().Get(gvr, "fns", "fn")
	if err != nil {
		t.Fatal(err)
	}
	d := obj.(*appsv1.Deployment).DeepCopy()
	three := int32(3)
	d.Spec.Replicas = &three
	if err := r.client.Tracker().Update(gvr, d, "fns"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { got, _ := r.c.dlister.Deployments("fns").Get("fn"); return *got.Spec.Replicas == 3 })
	r.settle(t)
	if strings.Contains(r.log.String(), "replaced=true") {
		t.Fatalf("the policy was replaced when the replicas changed:\n%s", r.log.String())
	}
	d.Annotations = map[string]string{ClassAnnotation: "kpa", ScalebenchPrefix + "stable-window": "20s"}
	if err := r.client.Tracker().Update(gvr, d, "fns"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { got, _ := r.c.dlister.Deployments("fns").Get("fn"); return len(got.Annotations) == 2 })
	r.settle(t)
	if !strings.Contains(r.log.String(), "replaced=true") {
		t.Fatalf("new annotations did not make a fresh policy:\n%s", r.log.String())
	}
}
