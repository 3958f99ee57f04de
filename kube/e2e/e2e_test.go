//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/scalebench/scalebench/kube/cluster"
	"github.com/scalebench/scalebench/kube/node"
	"github.com/scalebench/scalebench/platform/pods"
)

func TestMain(m *testing.M) { Main(m) }

// readyPods lists the ready pods of app, with their IPs.
func readyPods(ctx context.Context, cs kubernetes.Interface, ns, app string) ([]corev1.Pod, error) {
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	var ready []corev1.Pod
	for _, p := range list.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
				ready = append(ready, p)
			}
		}
	}
	return ready, nil
}

// readyEndpoints lists the ready addresses the Service's EndpointSlices
// publish.
func readyEndpoints(ctx context.Context, cs kubernetes.Interface, ns, svc string) ([]string, error) {
	slices, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				addrs = append(addrs, ep.Addresses...)
			}
		}
	}
	sort.Strings(addrs)
	return addrs, nil
}

func get(url string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func alive(pid int) bool {
	_, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil
}

// A Deployment of fn with two replicas gets two Ready pods, each on an
// address of its own that serves fn through the queue-proxy, published in
// the Service's EndpointSlice; scaling it to zero stops the processes and
// empties the slice.
func TestDeploymentReadyEndpointsAndScaleToZero(t *testing.T) {
	env := Get(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cs := env.Client
	if _, err := cs.CoreV1().Services(ns).Create(ctx, FnService("hello"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, FnDeployment("hello", 2, "--work=1ms"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ready []corev1.Pod
	Eventually(t, 2*time.Minute, "2 ready pods", func() (err error) {
		if ready, err = readyPods(ctx, cs, ns, "hello"); err == nil && len(ready) != 2 {
			err = fmt.Errorf("%d ready", len(ready))
		}
		return err
	})
	var ips []string
	for _, p := range ready {
		if p.Spec.NodeName != env.Node.Name() {
			t.Errorf("pod %s scheduled to %q, want the scalebench node %q", p.Name, p.Spec.NodeName, env.Node.Name())
		}
		if !strings.HasPrefix(p.Status.PodIP, "198.18.") {
			t.Errorf("pod %s IP %q, want one from %s", p.Name, p.Status.PodIP, PodCIDR)
		}
		ips = append(ips, p.Status.PodIP)
	}
	sort.Strings(ips)
	if ips[0] == ips[1] {
		t.Fatalf("both pods have IP %s", ips[0])
	}
	Eventually(t, time.Minute, "both pods in the EndpointSlice", func() error {
		addrs, err := readyEndpoints(ctx, cs, ns, "hello")
		if err == nil && strings.Join(addrs, ",") != strings.Join(ips, ",") {
			err = fmt.Errorf("ready endpoints %v, want %v", addrs, ips)
		}
		return err
	})
	for _, ip := range ips {
		code, body, err := get("http://" + net.JoinHostPort(ip, strconv.Itoa(node.DefaultPort)) + "/")
		if err != nil || code != http.StatusOK {
			t.Errorf("GET pod %s: %d %q %v", ip, code, body, err)
		}
		_, metrics, err := get("http://" + net.JoinHostPort(ip, strconv.Itoa(node.MetricsPort)) + "/metrics")
		if err != nil || !strings.Contains(metrics, "scalebench_queueproxy_requests_total") {
			t.Errorf("pod %s metrics: %v\n%s", ip, err, metrics)
		}
	}
	fnBin := filepath.Join(env.BinDir, "fn")
	pids := env.Node.Processes()
	if len(pids) != 2 {
		t.Fatalf("node runs fn pids %v, want 2", pids)
	}
	running := pods.Running(fnBin)
	for _, pid := range pids {
		if !contains(running, pid) {
			t.Errorf("pid %d is not a live %s", pid, fnBin)
		}
	}

	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 0}}
	if _, err := cs.AppsV1().Deployments(ns).UpdateScale(ctx, "hello", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, time.Minute, "pods gone after scale to zero", func() error {
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
		if err == nil && len(list.Items) > 0 {
			err = fmt.Errorf("%d pods left", len(list.Items))
		}
		return err
	})
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("fn pid %d still runs after its pod was deleted", pid)
		}
	}
	Eventually(t, time.Minute, "empty EndpointSlice", func() error {
		addrs, err := readyEndpoints(ctx, cs, ns, "hello")
		if err == nil && len(addrs) > 0 {
			err = fmt.Errorf("ready endpoints %v", addrs)
		}
		return err
	})
	if n := len(env.Node.Processes()); n != 0 {
		t.Errorf("node still runs %d fn processes", n)
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// The start-up phases in a pod's annotations delay its readiness: fn's
// app-init is spent before it serves, the other phases before it starts.
func TestStartupAnnotationsDelayReadiness(t *testing.T) {
	env := Get(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := FnDeployment("slow", 1)
	d.Spec.Template.Annotations = map[string]string{
		node.AnnotationStartupPrefix + "container-start": "700ms",
		node.AnnotationStartupPrefix + "app-init":        "800ms",
	}
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ready []corev1.Pod
	Eventually(t, time.Minute, "1 ready pod", func() (err error) {
		if ready, err = readyPods(ctx, env.Client, ns, "slow"); err == nil && len(ready) != 1 {
			err = fmt.Errorf("%d ready", len(ready))
		}
		return err
	})
	p := ready[0]
	cs := p.Status.ContainerStatuses[0]
	if cs.State.Running == nil {
		t.Fatalf("container state %+v, want running", cs.State)
	}
	var readyAt time.Time
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			readyAt = c.LastTransitionTime.Time
		}
	}
	// The API keeps times to the second, so 1.5s of phases show as at
	// least one whole second between the two stamps.
	if took := readyAt.Sub(p.Status.StartTime.Time); took < time.Second {
		t.Errorf("pod ready %v after it started on the node, want at least 1s (container-start 700ms + app-init 800ms, in whole seconds)", took)
	}
	if started := cs.State.Running.StartedAt.Time; started.Before(p.Status.StartTime.Time) {
		t.Errorf("container started %v before the pod (%v)", started, p.Status.StartTime.Time)
	}
}

// A pod whose image names no binary waits with ErrImageNeverPull, as a
// kubelet does with imagePullPolicy Never and a missing image.
func TestUnknownImageWaits(t *testing.T) {
	env := Get(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
	}
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, "ErrImageNeverPull", func() error {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Waiting != nil && cs.State.Waiting.Reason == "ErrImageNeverPull" {
				return nil
			}
		}
		return fmt.Errorf("status %+v", p.Status.ContainerStatuses)
	})
	// Deleting it needs no drain: it goes at once.
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, "nginx", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, "pod deleted", func() error {
		_, err := env.Client.CoreV1().Pods(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err == nil {
			return fmt.Errorf("still there")
		}
		return nil
	})
}

// A crashed fn is restarted in the same pod, which is Ready again with a
// restart counted.
func TestCrashedFnRestarts(t *testing.T) {
	env := Get(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, FnDeployment("crash", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ready []corev1.Pod
	Eventually(t, time.Minute, "1 ready pod", func() (err error) {
		if ready, err = readyPods(ctx, env.Client, ns, "crash"); err == nil && len(ready) != 1 {
			err = fmt.Errorf("%d ready", len(ready))
		}
		return err
	})
	name := ready[0].Name
	pids := env.Node.PodProcesses(ns, name)
	if len(pids) != 1 {
		t.Fatalf("pod %s runs pids %v, want one fn", name, pids)
	}
	syscall.Kill(pids[0], syscall.SIGKILL)
	Eventually(t, time.Minute, "ready again with a restart", func() error {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cs := p.Status.ContainerStatuses[0]
		if cs.RestartCount != 1 || !cs.Ready {
			return fmt.Errorf("restarts %d, ready %v", cs.RestartCount, cs.Ready)
		}
		return nil
	})
}

// Stopping a node and a control plane leaves none of their processes: a
// cluster of this test's own, with a pod running, is stopped and every pid
// it had is checked.
func TestStopLeavesNoProcess(t *testing.T) {
	env := Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(ctx, node.Config{Name: "spare", Client: cs, BinDir: env.BinDir, PodCIDR: SparePodCIDR})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	if err := cluster.NamespaceReady(ctx, cs, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, FnDeployment("left", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 2*time.Minute, "1 ready pod", func() error {
		ready, err := readyPods(ctx, cs, "default", "left")
		if err == nil && len(ready) != 1 {
			err = fmt.Errorf("%d ready", len(ready))
		}
		return err
	})
	var pids []int
	for _, comp := range c.Components() {
		pids = append(pids, comp.PID)
	}
	pids = append(pids, n.Processes()...)
	if len(pids) != 5 {
		t.Fatalf("pids %v, want etcd, 3 control-plane components and 1 fn", pids)
	}
	if err := n.Stop(); err != nil {
		t.Errorf("node stop: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("cluster stop: %v", err)
	}
	var left []int
	for _, pid := range pids {
		if alive(pid) {
			left = append(left, pid)
		}
	}
	if len(left) > 0 {
		t.Errorf("%d of %d processes still run after stop: %v", len(left), len(pids), left)
	}
}

// cluster up's detached control plane is found again from its state file
// and stopped by cluster down.
func TestDetachedClusterDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	c, err := cluster.Start(ctx, cluster.Config{Dir: dir, Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	st, err := cluster.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Processes) != 4 || st.Kubeconfig != c.Kubeconfig() {
		t.Fatalf("state %+v", st)
	}
	if _, err := cluster.Start(ctx, cluster.Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("a second start in the same directory: %v, want already running", err)
	}
	if err := cluster.Down(dir, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Processes {
		if alive(p.PID) {
			t.Errorf("%s (pid %d) still runs after Down", p.Name, p.PID)
		}
	}
	if _, err := cluster.ReadState(dir); !os.IsNotExist(err) {
		t.Errorf("state file after Down: %v, want none", err)
	}
}

// Deleting a pod drains it: a request in flight when the delete comes is
// answered in full before fn is stopped.
func TestDeleteDrainsInFlight(t *testing.T) {
	env := Get(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, FnDeployment("drain", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ready []corev1.Pod
	Eventually(t, time.Minute, "1 ready pod", func() (err error) {
		if ready, err = readyPods(ctx, env.Client, ns, "drain"); err == nil && len(ready) != 1 {
			err = fmt.Errorf("%d ready", len(ready))
		}
		return err
	})
	pod := ready[0]
	pids := env.Node.PodProcesses(ns, pod.Name)
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	sent := time.Now()
	go func() {
		code, _, err := get("http://" + net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(node.DefaultPort)) + "/?work=2s")
		done <- result{code, err}
	}()
	time.Sleep(300 * time.Millisecond)
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.code != http.StatusOK {
		t.Fatalf("request in flight across the delete: %d %v, want 200", r.code, r.err)
	}
	if took := time.Since(sent); took < 2*time.Second {
		t.Fatalf("answered after %v, before its 2s of work", took)
	}
	Eventually(t, 30*time.Second, "fn stopped", func() error {
		for _, pid := range pids {
			if alive(pid) {
				return fmt.Errorf("pid %d alive", pid)
			}
		}
		return nil
	})
}
