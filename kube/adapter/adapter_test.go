package adapter

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

func readyPod(name, ip, app string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "fns", Labels: map[string]string{"app": app}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// counters serves, per URL, a queue-proxy whose request-seconds counter
// grows by the URL's concurrency per call (one call a second).
type counters struct {
	mu    sync.Mutex
	conc  map[string]float64
	calls map[string]int
}

func (c *counters) Fetch(_ context.Context, url string) (io.ReadCloser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := float64(c.calls[url])
	c.calls[url]++
	return io.NopCloser(strings.NewReader(fmt.Sprintf(
		"scalebench_queueproxy_request_seconds_total %g\nscalebench_queueproxy_requests_total %g\n", c.conc[url]*n, 5*n))), nil
}

func TestPodsMetricsAveragedOverTheWindow(t *testing.T) {
	client := fake.NewClientset(readyPod("a", "198.18.0.2", "fn"), readyPod("b", "198.18.0.3", "fn"), readyPod("c", "198.18.0.4", "other"))
	f := &counters{conc: map[string]float64{
		"http://198.18.0.2:9091/metrics": 4, "http://198.18.0.3:9091/metrics": 2, "http://198.18.0.4:9091/metrics": 9,
	}, calls: map[string]int{}}
	p, err := New(Config{Client: client, Fetcher: f, Window: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.factory.Start(ctx.Done())
	cache.WaitForCacheSync(ctx.Done(), p.synced)
	t0 := time.Unix(5000, 0)
	for i := 0; i < 8; i++ {
		p.Collect(ctx, t0.Add(time.Duration(i)*time.Second))
	}
	info := provider.CustomMetricInfo{GroupResource: podsResource, Namespaced: true, Metric: MetricConcurrency}
	list, err := p.GetMetricBySelector(ctx, "fns", labels.SelectorFromSet(labels.Set{"app": "fn"}), info, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, it := range list.Items {
		got[it.DescribedObject.Name] = it.Value.MilliValue()
		if *it.WindowSeconds != 5 {
			t.Fatalf("window %d, want 5", *it.WindowSeconds)
		}
	}
	if len(got) != 2 || got["a"] != 4000 || got["b"] != 2000 {
		t.Fatalf("concurrency by pod %v, want a=4000m b=2000m", got)
	}
	rps := provider.CustomMetricInfo{GroupResource: podsResource, Namespaced: true, Metric: MetricRPS}
	one, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "fns", Name: "c"}, rps, labels.Everything())
	if err != nil || one.Value.MilliValue() != 5000 {
		t.Fatalf("rps of c: %v %v, want 5", one, err)
	}
	cases := []struct {
		name string
		info provider.CustomMetricInfo
		pod  string
	}{
		{"unknown metric", provider.CustomMetricInfo{GroupResource: podsResource, Namespaced: true, Metric: "cpu"}, "a"},
		{"not pods", provider.CustomMetricInfo{GroupResource: podsResource.WithVersion("").GroupResource(), Namespaced: true, Metric: "x"}, "a"},
		{"unknown pod", info, "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "fns", Name: tc.pod}, tc.info, labels.Everything()); !apierrors.IsNotFound(err) {
				t.Fatalf("error %v, want NotFound", err)
			}
		})
	}
	if n := len(p.ListAllMetrics()); n != 2 {
		t.Fatalf("%d metrics listed, want 2", n)
	}
}
