package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
)

// customMetricsAPI is the APIService the metrics adapter serves.
const customMetricsAPI = "v1beta2.custom.metrics.k8s.io"

var apiServices = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// adapterProc is the run's `scalebench metrics-adapter`.
type adapterProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	dyn  dynamic.Interface
	out  *lockedBuffer
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

func (l *lockedBuffer) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(l.b.String()), "\n")
	return strings.Join(lines[max(0, len(lines)-3):], " | ")
}

// startAdapter makes custom.metrics.k8s.io available for the run's HPA. On
// the own control plane it starts `scalebench metrics-adapter` on
// AdapterIP and registers it the way deploy/metrics-adapter/apiservice.yaml
// does (a selector-less Service, its EndpointSlice, the APIService); on an
// existing cluster the adapter must be deployed already.
func startAdapter(ctx context.Context, w *world, binDir, ns, window string, log io.Writer) (*adapterProc, error) {
	dyn, err := dynamic.NewForConfig(w.rest)
	if err != nil {
		return nil, err
	}
	if !w.own {
		if err := waitAvailable(ctx, dyn, 10*time.Second); err != nil {
			return nil, fmt.Errorf("kubernetes: hpa needs the metrics adapter registered on the cluster (deploy/metrics-adapter): %w", err)
		}
		return nil, nil
	}
	bin := filepath.Join(binDir, "scalebench")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("kubernetes: hpa runs the metrics adapter from %s: %w (make build writes it)", bin, err)
	}
	a := &adapterProc{dyn: dyn, done: make(chan struct{}), out: &lockedBuffer{}}
	a.cmd = exec.Command(bin, "metrics-adapter",
		"--lister-kubeconfig", w.kubeconfig, "--authentication-kubeconfig", w.kubeconfig, "--authorization-kubeconfig", w.kubeconfig,
		"--bind-address", AdapterIP, "--secure-port", "6443", "--namespace", ns, "--window", window,
		"--cert-dir", filepath.Join(w.dir, "adapter-certs"))
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("kubernetes: start the metrics adapter: %w", err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	if err := register(ctx, w, dyn, ns); err != nil {
		a.stop()
		return nil, err
	}
	if err := waitAvailable(ctx, dyn, 2*time.Minute); err != nil {
		a.stop()
		return nil, fmt.Errorf("kubernetes: the metrics adapter did not become available: %w; its output: %s", err, a.out.tail())
	}
	return a, nil
}

// stop ends the adapter: SIGTERM, then SIGKILL after 10 s.
func (a *adapterProc) stop() error {
	if a == nil {
		return nil
	}
	a.dyn.Resource(apiServices).Delete(context.Background(), customMetricsAPI, metav1.DeleteOptions{})
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.done
	}
	return nil
}

func register(ctx context.Context, w *world, dyn dynamic.Interface, ns string) error {
	const name = "scalebench-metrics-adapter"
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(6443)}}}}
	if _, err := w.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubernetes: metrics adapter Service: %w", err)
	}
	portName, port, ready := "https", int32(6443), true
	proto := corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: &proto}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{AdapterIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
	if _, err := w.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubernetes: metrics adapter EndpointSlice: %w", err)
	}
	apisvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": customMetricsAPI},
		"spec": map[string]any{
			"group": "custom.metrics.k8s.io", "version": "v1beta2",
			"service": map[string]any{"name": name, "namespace": ns, "port": int64(443)},
			// The adapter's serving certificate is self-signed at start.
			"insecureSkipTLSVerify": true, "groupPriorityMinimum": int64(100), "versionPriority": int64(100),
		},
	}}
	if _, err := dyn.Resource(apiServices).Create(ctx, apisvc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubernetes: APIService %s: %w", customMetricsAPI, err)
	}
	return nil
}

// waitAvailable waits for the custom metrics APIService's Available
// condition.
func waitAvailable(ctx context.Context, dyn dynamic.Interface, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := "not found"
	for {
		got, err := dyn.Resource(apiServices).Get(ctx, customMetricsAPI, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Available" {
					if m["status"] == "True" {
						return nil
					}
					last = fmt.Sprintf("%v: %v", m["reason"], m["message"])
				}
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("APIService %s not available after %v (%s)", customMetricsAPI, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
