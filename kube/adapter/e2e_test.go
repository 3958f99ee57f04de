//go:build e2e

package adapter_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/kube/activator"
	"github.com/scalebench/scalebench/kube/e2e"
)

// hpaSync is the HPA controller's sync period in this test, shorter than the
// 15 s default so the test is quick; the hpa model is given the same.
const hpaSync = 5 * time.Second

func TestMain(m *testing.M) {
	e2e.MainWith(m, e2e.Options{ControllerManagerFlags: []string{"--horizontal-pod-autoscaler-sync-period=" + hpaSync.String()}})
}

// adapterIP is the address the adapter binds inside the tests' network
// namespace: kube-apiserver refuses loopback addresses in EndpointSlices.
const adapterIP = "198.18.255.254"

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

// register publishes the adapter through deploy/metrics-adapter/
// apiservice.yaml's objects: a selector-less Service, its EndpointSlice at
// adapterIP and the APIService.
func register(t *testing.T, ctx context.Context, env *e2e.Env, ns string) {
	t.Helper()
	cs := env.Client
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "scalebench-metrics-adapter", Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(6443)}}}}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	name, port, ready := "https", int32(6443), true
	proto := corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "scalebench-metrics-adapter", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "scalebench-metrics-adapter"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{adapterIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
	if _, err := cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	apisvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta2.custom.metrics.k8s.io"},
		"spec": map[string]any{
			"group": "custom.metrics.k8s.io", "version": "v1beta2",
			"service":               map[string]any{"name": "scalebench-metrics-adapter", "namespace": ns, "port": int64(443)},
			"insecureSkipTLSVerify": true, "groupPriorityMinimum": int64(100), "versionPriority": int64(100),
		},
	}}
	res := dyn.Resource(schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"})
	if _, err := res.Create(ctx, apisvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Delete(context.Background(), "v1beta2.custom.metrics.k8s.io", metav1.DeleteOptions{}) })
	e2e.Eventually(t, 2*time.Minute, "APIService v1beta2.custom.metrics.k8s.io available", func() error {
		got, err := res.Get(ctx, "v1beta2.custom.metrics.k8s.io", metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Available" && m["status"] == "True" {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", conds)
	})
}

// sample is one second of what the HPA controller saw and did.
type sample struct {
	at          time.Time
	perPod      float64 // the HPA's current average value of the metric
	pods        int     // replicas in the HPA's status
	hpaReplicas int32   // the HPA's desired replicas
}

// TestRealHPAScalesOnTheAdaptersConcurrency: kube-controller-manager's own
// HPA controller, given an autoscaling/v2 HPA on the adapter's per-pod
// concurrency, scales a Deployment under load; the hpa model replayed on
// the same per-second series (the HPA's own reading of the metric and pod
// count) decides the same replica counts, which the test logs as the
// agreement.
func TestRealHPAScalesOnTheAdaptersConcurrency(t *testing.T) {
	env := e2e.Get(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cs := env.Client
	kubeconfig := filepath.Join(env.Dir, "kubeconfig")

	log := &lockedBuffer{}
	cmd := exec.Command(filepath.Join(env.BinDir, "scalebench"), "metrics-adapter",
		"--lister-kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
		"--bind-address", adapterIP, "--secure-port", "6443", "--namespace", ns)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if out, err := exec.Command("ip", "addr", "add", adapterIP+"/32", "dev", "lo").CombinedOutput(); err != nil && !strings.Contains(string(out), "exists") {
		t.Logf("ip addr add %s: %v %s (the local route may cover it already)", adapterIP, err, out)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("metrics adapter log:\n%s", log.String())
		}
	})
	register(t, ctx, env, ns)

	if _, err := cs.CoreV1().Services(ns).Create(ctx, e2e.FnService("hpafn"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, e2e.FnDeployment("hpafn", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Requests reach every ready pod through the activator (there is no
	// kube-proxy): the load spreads as the HPA adds pods.
	act, err := activator.New(activator.Config{Client: cs, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(ctx)
	defer acancel()
	go act.Run(actx)
	front := httptest.NewServer(act)
	defer front.Close()
	e2e.Eventually(t, 2*time.Minute, "hpafn serves", func() error {
		resp, err := http.Get(front.URL + "/" + ns + "/hpafn/?work=1ms")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})

	const target = 2.0
	minR, maxR := int32(1), int32(5)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "hpafn", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "hpafn"},
			MinReplicas:    &minR, MaxReplicas: maxR,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "concurrency"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewMilliQuantity(int64(target*1000), resource.DecimalSI)},
			}}},
		},
	}
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// 8 requests of 250 ms always in flight: concurrency 8, 4 pods at 2.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 30 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if resp, err := c.Get(front.URL + "/" + ns + "/hpafn/?work=250ms"); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	var series []sample
	deadline := time.Now().Add(3 * time.Minute)
	reached := false
	for time.Now().Before(deadline) && !reached {
		time.Sleep(time.Second)
		h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "hpafn", metav1.GetOptions{})
		if err != nil {
			continue
		}
		s := sample{at: time.Now(), pods: int(h.Status.CurrentReplicas), hpaReplicas: h.Status.DesiredReplicas}
		for _, m := range h.Status.CurrentMetrics {
			if m.Pods != nil && m.Pods.Current.AverageValue != nil {
				s.perPod = float64(m.Pods.Current.AverageValue.MilliValue()) / 1000
			}
		}
		series = append(series, s)
		reached = h.Status.DesiredReplicas >= 4 && h.Status.CurrentReplicas >= 4
	}
	if !reached {
		last := sample{}
		if len(series) > 0 {
			last = series[len(series)-1]
		}
		t.Fatalf("the HPA did not scale hpafn to 4 on concurrency 8 at target 2 per pod; last %+v", last)
	}

	// The model on the same series: the HPA's own per-pod reading times
	// its pods is the revision's concurrency, recorded each second; it
	// ticks each second and syncs every hpaSync.
	model, err := autoscaler.New("hpa", map[string]string{
		"metric": "concurrency", "target": fmt.Sprint(target), "sync-period": hpaSync.String(),
		"metric-window": "1s", "min-replicas": "1", "max-replicas": "5",
	})
	if err != nil {
		t.Fatal(err)
	}
	agree, syncs := 0, 0
	var modelLast int
	for i, s := range series {
		if s.pods == 0 || s.perPod == 0 && i == 0 {
			continue
		}
		model.Record(s.at, autoscaler.Stat{Concurrency: s.perPod * float64(s.pods)})
		d := model.Tick(s.at, autoscaler.Pods{Ready: s.pods})
		if !d.Valid {
			continue
		}
		if d.Desired != modelLast {
			syncs++
			if i+1 < len(series) && int(series[i+1].hpaReplicas) == d.Desired || int(s.hpaReplicas) == d.Desired {
				agree++
			}
		}
		modelLast = d.Desired
	}
	t.Logf("real HPA vs hpa model on the same %d-second series: model changes %d, %d matched by the real HPA's desired replicas; final real %d, model %d",
		len(series), syncs, agree, series[len(series)-1].hpaReplicas, modelLast)
	fmt.Printf("FIGURE hpa_agreement %d/%d final_real=%d final_model=%d\n", agree, syncs, series[len(series)-1].hpaReplicas, modelLast)
	if d := modelLast - int(series[len(series)-1].hpaReplicas); d < -1 || d > 1 {
		t.Errorf("the model ends at %d replicas, the real HPA at %d", modelLast, series[len(series)-1].hpaReplicas)
	}
}
