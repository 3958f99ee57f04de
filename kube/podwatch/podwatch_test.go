package podwatch

import (
	"context"
	"math"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func pod(name string, ready bool, phase corev1.PodPhase, app string) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{"app": app}},
		Status:     corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

// Pods are counted from the API: the baseline is not a start, terminal
// pods and other selectors do not count, pod-seconds integrate the samples.
func TestCounterFigures(t *testing.T) {
	client := fake.NewClientset(pod("a", true, corev1.PodRunning, "fn"), pod("other", true, corev1.PodRunning, "x"))
	c := New(client, "ns", labels.SelectorFromSet(labels.Set{"app": "fn"}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.factory.Start(ctx.Done())
	c.factory.WaitForCacheSync(ctx.Done())

	t0 := time.Unix(1000, 0)
	c.Sample(t0)
	pods := client.CoreV1().Pods("ns")
	pods.Create(ctx, pod("b", false, corev1.PodPending, "fn"), metav1.CreateOptions{})
	pods.Create(ctx, pod("done", false, corev1.PodSucceeded, "fn"), metav1.CreateOptions{})
	waitFor(t, func() bool { l, _ := c.lister(); return len(l) == 3 })
	c.Sample(t0.Add(time.Second))
	c.Sample(t0.Add(2 * time.Second))
	pods.Delete(ctx, "a", metav1.DeleteOptions{})
	waitFor(t, func() bool { l, _ := c.lister(); return len(l) == 2 })
	c.Sample(t0.Add(3 * time.Second))

	got := c.Samples()
	want := []Sample{{0, 1, 1}, {time.Second, 2, 1}, {2 * time.Second, 2, 1}, {3 * time.Second, 1, 0}}
	if len(got) != len(want) {
		t.Fatalf("samples %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sample %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	f := c.Figures()
	if f.PodStarts != 1 || f.PodSeconds != 5 || f.MaxPods != 2 {
		t.Errorf("figures %+v, want 1 start, 5 pod-seconds, 2 max", f)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("the informer never caught up")
}

func TestSpan(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	lives := []Life{
		{Name: "base", Seen: at(-5), Ready: at(-4), Baseline: true},  // alive throughout
		{Name: "before", Seen: at(-3), Ready: at(-2), Gone: at(2)},   // started before the span
		{Name: "burst", Seen: at(10), Ready: at(10.5), Gone: at(20)}, // inside
		{Name: "burst2", Seen: at(11), Ready: at(12), Unready: at(18), Gone: at(19)},
		{Name: "late", Seen: at(35), Ready: at(36)}, // after the span
		{Name: "open", Seen: at(25)},                // never ready, still there at the end
	}
	for _, tc := range []struct {
		name     string
		from, to float64
		want     Figures
	}{
		{name: "whole", from: 0, to: 30, want: Figures{PodStarts: 3, PodSeconds: 30 + 2 + 10 + 8 + 5, MaxPods: 3}},
		{name: "burst only", from: 10, to: 20, want: Figures{PodStarts: 1, PodSeconds: 10 + 10 + 8, MaxPods: 3}},
		{name: "empty", from: 30, to: 30, want: Figures{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Span(lives, at(tc.from), at(tc.to))
			if got.PodStarts != tc.want.PodStarts || got.MaxPods != tc.want.MaxPods || math.Abs(got.PodSeconds-tc.want.PodSeconds) > 1e-9 {
				t.Fatalf("Span = %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name        string
		at          float64
		pods, ready int
	}{
		{name: "start", at: 0, pods: 2, ready: 2},
		{name: "burst", at: 12.5, pods: 3, ready: 3},
		{name: "one leaving", at: 18.5, pods: 3, ready: 2},
		{name: "end", at: 30, pods: 2, ready: 1},
	} {
		t.Run("at "+tc.name, func(t *testing.T) {
			if p, r := At(lives, at(tc.at)); p != tc.pods || r != tc.ready {
				t.Fatalf("At(%v) = %d pods, %d ready; want %d, %d", tc.at, p, r, tc.pods, tc.ready)
			}
		})
	}
}
