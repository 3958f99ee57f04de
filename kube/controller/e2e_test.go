//go:build e2e

package controller_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/scalebench/scalebench/kube/controller"
	"github.com/scalebench/scalebench/kube/e2e"
)

func TestMain(m *testing.M) { e2e.Main(m) }

// applyRBAC creates deploy/controller/rbac.yaml's objects in ns, exactly as
// shipped but for the namespace, and returns the Role.
func applyRBAC(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns string) *rbacv1.Role {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "controller", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role *rbacv1.Role
	dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := dec.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("deploy/controller/rbac.yaml: %v", err)
		}
		switch o := obj.(type) {
		case *corev1.ServiceAccount:
			o.Namespace = ns
			_, err = cs.CoreV1().ServiceAccounts(ns).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.Role:
			o.Namespace = ns
			role, err = cs.RbacV1().Roles(ns).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			o.Namespace = ns
			for i := range o.Subjects {
				o.Subjects[i].Namespace = ns
			}
			_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("deploy/controller/rbac.yaml: unexpected %T", obj)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if role == nil {
		t.Fatal("deploy/controller/rbac.yaml has no Role")
	}
	return role
}

// saKubeconfig writes a kubeconfig that authenticates as the controller's
// ServiceAccount, so the controller runs with its Role's rights only.
func saKubeconfig(t *testing.T, ctx context.Context, env *e2e.Env, ns string) string {
	t.Helper()
	expiry := int64(3600)
	tok, err := env.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "scalebench-controller",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca := env.Config.TLSClientConfig.CAData
	if len(ca) == 0 && env.Config.TLSClientConfig.CAFile != "" {
		if ca, err = os.ReadFile(env.Config.TLSClientConfig.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "sa", Namespace: ns}
	cfg.CurrentContext = "e2e"
	path := filepath.Join(t.TempDir(), "controller.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// replica is one `scalebench controller` process.
type replica struct {
	name, addr, activator string
	cmd                   *exec.Cmd
	log                   *lockedBuffer
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

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startReplica(t *testing.T, env *e2e.Env, kubeconfig, ns, name, addr, act string, pokes []string) *replica {
	t.Helper()
	args := []string{"controller", "--kubeconfig", kubeconfig, "--namespace", ns, "--addr", addr,
		"--identity", name, "--lease-duration", "4s", "--renew-deadline", "3s", "--retry-period", "500ms",
		"--activator-addr", act}
	for _, p := range pokes {
		args = append(args, "--poke-url", p)
	}
	r := &replica{name: name, addr: addr, activator: act, log: &lockedBuffer{}}
	r.cmd = exec.Command(filepath.Join(env.BinDir, "scalebench"), args...)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		r.cmd.Wait()
		if t.Failed() {
			t.Logf("controller %s log:\n%s", name, r.log.String())
		}
	})
	return r
}

func (r *replica) running() bool {
	return r.cmd.ProcessState == nil && r.cmd.Process.Signal(syscall.Signal(0)) == nil
}

// metric reads one sample of the replica's /metrics whose line starts with
// prefix (name and labels); ok is false when there is none.
func (r *replica) metric(prefix string) (float64, bool) {
	resp, err := http.Get("http://" + r.addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

func replicas(ctx context.Context, cs kubernetes.Interface, ns, name string) (int32, error) {
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	return *d.Spec.Replicas, nil
}

func optedIn(name string, replicas int32, ann map[string]string) *appsv1.Deployment {
	d := e2e.FnDeployment(name, replicas)
	d.Annotations = ann
	return d
}

// load keeps n requests of work each in flight through the activator
// until stop is closed; it returns how many succeeded and failed.
func load(url string, n int, stop <-chan struct{}) func() (ok, failed int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var good, bad int
	client := &http.Client{Timeout: 60 * time.Second}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(url)
				mu.Lock()
				if err == nil && resp.StatusCode == http.StatusOK {
					good++
				} else {
					bad++
				}
				mu.Unlock()
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	return func() (int, int) { wg.Wait(); return good, bad }
}

// TestControllerOnTheAPIServer runs two `scalebench controller` replicas
// under the shipped RBAC against the real API server and the scalebench
// node, and walks one story: a burst scales an opted-in Deployment up in
// panic mode and max-scale caps it; quiet takes it to zero after the grace
// period; a request at zero is held by the activator until a pod is up;
// min-scale holds; a Deployment without the annotation is never written;
// with the scale permission removed the error is reported and the
// controller keeps running; killing the leader hands over to the standby,
// which goes on scaling.
func TestControllerOnTheAPIServer(t *testing.T) {
	env := e2e.Get(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cs := env.Client
	t.Cleanup(func() {
		if t.Failed() {
			dumpNamespace(t, cs, ns)
		}
	})
	role := applyRBAC(t, ctx, cs, ns)
	kubeconfig := saKubeconfig(t, ctx, env, ns)

	addrA, addrB := freeAddr(t), freeAddr(t)
	pokes := []string{"http://" + addrA, "http://" + addrB}
	a := startReplica(t, env, kubeconfig, ns, "a", addrA, freeAddr(t), pokes)
	e2e.Eventually(t, time.Minute, "replica a leads", func() error {
		if v, ok := a.metric("scalebench_controller_leader "); !ok || v != 1 {
			return fmt.Errorf("leader gauge %v %v", v, ok)
		}
		return nil
	})
	b := startReplica(t, env, kubeconfig, ns, "b", addrB, freeAddr(t), pokes)
	e2e.Eventually(t, time.Minute, "replica b stands by", func() error {
		if v, ok := b.metric("scalebench_controller_leader "); !ok || v != 0 {
			return fmt.Errorf("leader gauge %v %v", v, ok)
		}
		return nil
	})

	// A Deployment nobody opted in: the controller must never write it.
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, e2e.FnDeployment("plain", 1, "--work=1ms"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	burst := optedIn("burst", 1, map[string]string{
		controller.ClassAnnotation:                              "knative",
		"autoscaling.knative.dev/target":                        "2",
		"autoscaling.knative.dev/window":                        "6s",
		"autoscaling.knative.dev/max-scale":                     "4",
		"autoscaling.scalebench.dev/scale-to-zero-grace-period": "4s",
	})
	for _, obj := range []struct {
		d   *appsv1.Deployment
		svc string
	}{{burst, "burst"}} {
		if _, err := cs.CoreV1().Services(ns).Create(ctx, e2e.FnService(obj.svc), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, obj.d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e2e.Eventually(t, 2*time.Minute, "burst has a ready pod behind the activator", func() error {
		code, err := status("http://" + a.activator + "/" + ns + "/burst/?work=1ms")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d", code)
		}
		return err
	})

	t.Run("burst scales up through panic mode, capped by max-scale", func(t *testing.T) {
		stop := make(chan struct{})
		wait := load("http://"+a.activator+"/"+ns+"/burst/?work=300ms", 24, stop)
		sawPanic := false
		var most int32
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			if v, ok := a.metric(`scalebench_autoscaler_panic_mode{revision="` + ns + `/burst"}`); ok && v == 1 {
				sawPanic = true
			}
			n, err := replicas(ctx, cs, ns, "burst")
			if err == nil && n > most {
				most = n
			}
			if sawPanic && most == 4 {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		// Hold the load a little longer: the cap must hold under it.
		time.Sleep(4 * time.Second)
		if n, _ := replicas(ctx, cs, ns, "burst"); n > most {
			most = n
		}
		close(stop)
		good, bad := wait()
		t.Logf("burst: %d requests served, %d failed, most replicas %d, panic seen %v", good, bad, most, sawPanic)
		if !sawPanic {
			t.Error("24 requests in flight against a target of 1.4 per pod never put the revision in panic mode")
		}
		if most != 4 {
			t.Errorf("most replicas %d, want max-scale 4", most)
		}
	})

	t.Run("quiet takes it to zero after the grace period", func(t *testing.T) {
		start := time.Now()
		e2e.Eventually(t, 2*time.Minute, "burst at zero", func() error {
			n, err := replicas(ctx, cs, ns, "burst")
			if err == nil && n != 0 {
				err = fmt.Errorf("%d replicas", n)
			}
			return err
		})
		// A stable window (6 s) active at zero demand, then the grace
		// period (4 s): not sooner.
		if took := time.Since(start); took < 8*time.Second {
			t.Errorf("at zero %v after the load stopped, before a stable window and the grace period", took)
		}
	})

	t.Run("a request at zero waits in the activator until a pod is up", func(t *testing.T) {
		e2e.Eventually(t, time.Minute, "no endpoints left", func() error {
			list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=burst"})
			if err == nil && len(list.Items) > 0 {
				err = fmt.Errorf("%d pods", len(list.Items))
			}
			return err
		})
		start := time.Now()
		code, err := status("http://" + a.activator + "/" + ns + "/burst/?work=1ms")
		took := time.Since(start)
		if err != nil || code != http.StatusOK {
			t.Fatalf("request at zero: %d %v", code, err)
		}
		t.Logf("scale-from-zero latency through the activator: %v", took.Round(time.Millisecond))
		fmt.Printf("FIGURE scale_from_zero_seconds %.3f\n", took.Seconds())
	})

	t.Run("min-scale holds with no traffic", func(t *testing.T) {
		floor := optedIn("floor", 1, map[string]string{controller.ClassAnnotation: "kpa", "autoscaling.knative.dev/min-scale": "2"})
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, floor, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e2e.Eventually(t, time.Minute, "floor at min-scale 2", func() error {
			n, err := replicas(ctx, cs, ns, "floor")
			if err == nil && n != 2 {
				err = fmt.Errorf("%d replicas", n)
			}
			return err
		})
		time.Sleep(8 * time.Second) // longer than a stable window with no load
		if n, _ := replicas(ctx, cs, ns, "floor"); n != 2 {
			t.Errorf("floor at %d replicas after a quiet stable window, want min-scale 2", n)
		}
	})

	t.Run("without deployments/scale update it reports and keeps running", func(t *testing.T) {
		denied := role.DeepCopy()
		denied.Rules = nil
		for _, r := range role.Rules {
			if len(r.Resources) == 1 && r.Resources[0] == "deployments/scale" {
				continue
			}
			denied.Rules = append(denied.Rules, r)
		}
		cur, err := cs.RbacV1().Roles(ns).Get(ctx, role.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		denied.ResourceVersion = cur.ResourceVersion
		if _, err := cs.RbacV1().Roles(ns).Update(ctx, denied, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		d := optedIn("denied", 1, map[string]string{controller.ClassAnnotation: "kpa", "autoscaling.knative.dev/min-scale": "2"})
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e2e.Eventually(t, time.Minute, "a PermissionDenied Event on the Deployment", func() error {
			evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=denied,reason=PermissionDenied"})
			if err == nil && len(evs.Items) == 0 {
				err = fmt.Errorf("no event yet")
			}
			if err == nil && !strings.Contains(evs.Items[0].Message, "deployments/scale") {
				err = fmt.Errorf("event %q does not name deployments/scale", evs.Items[0].Message)
			}
			return err
		})
		if v, ok := a.metric(`scalebench_controller_api_errors_total{reason="Forbidden",resource="deployments/scale",revision="` + ns + `/denied",verb="update"}`); !ok || v < 1 {
			t.Errorf("api_errors_total for the forbidden scale: %v %v", v, ok)
		}
		if !strings.Contains(a.log.String(), "RBAC: the controller may not update deployments/scale") {
			t.Error("no log line naming the missing permission")
		}
		time.Sleep(3 * time.Second)
		if !a.running() {
			t.Fatal("the controller exited on a missing permission")
		}
		if code, err := status("http://" + a.addr + "/healthz"); err != nil || code != http.StatusOK {
			t.Errorf("/healthz %d %v while a permission is missing", code, err)
		}
		// The permission comes back: the same controller scales it.
		cur, _ = cs.RbacV1().Roles(ns).Get(ctx, role.Name, metav1.GetOptions{})
		restored := role.DeepCopy()
		restored.ResourceVersion = cur.ResourceVersion
		if _, err := cs.RbacV1().Roles(ns).Update(ctx, restored, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		e2e.Eventually(t, time.Minute, "denied scaled once permitted", func() error {
			n, err := replicas(ctx, cs, ns, "denied")
			if err == nil && n != 2 {
				err = fmt.Errorf("%d replicas", n)
			}
			return err
		})
	})

	t.Run("killing the leader hands over and scaling goes on", func(t *testing.T) {
		a.cmd.Process.Kill()
		a.cmd.Wait()
		killed := time.Now()
		e2e.Eventually(t, time.Minute, "replica b leads", func() error {
			if v, ok := b.metric("scalebench_controller_leader "); !ok || v != 1 {
				return fmt.Errorf("leader gauge %v %v", v, ok)
			}
			return nil
		})
		t.Logf("handover %v after the leader was killed (lease 4s)", time.Since(killed).Round(100*time.Millisecond))
		after := optedIn("after", 1, map[string]string{controller.ClassAnnotation: "kpa", "autoscaling.knative.dev/min-scale": "3"})
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, after, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e2e.Eventually(t, time.Minute, "the new leader scales", func() error {
			n, err := replicas(ctx, cs, ns, "after")
			if err == nil && n != 3 {
				err = fmt.Errorf("%d replicas", n)
			}
			return err
		})
	})

	t.Run("the un-annotated Deployment was never written", func(t *testing.T) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "plain", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != 1 {
			t.Errorf("plain at %d replicas, want its own 1", *d.Spec.Replicas)
		}
		for _, mf := range d.ManagedFields {
			if mf.Manager == "scalebench-controller" {
				t.Errorf("scalebench-controller manages fields of plain: %+v", mf)
			}
		}
		evs, _ := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=plain,source=scalebench-controller"})
		if evs != nil && len(evs.Items) > 0 {
			t.Errorf("events on plain from the controller: %v", evs.Items)
		}
	})
}

func status(url string) (int, error) {
	c := &http.Client{Timeout: 90 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// dumpNamespace logs what a failed test's namespace holds, for the reader.
func dumpNamespace(t *testing.T, cs kubernetes.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ds, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, d := range ds.Items {
			t.Logf("deployment %s: spec %d, status %+v", d.Name, *d.Spec.Replicas, d.Status)
		}
	}
	if rss, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, r := range rss.Items {
			t.Logf("replicaset %s: spec %d, ready %d", r.Name, *r.Spec.Replicas, r.Status.ReadyReplicas)
		}
	}
	if ps, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range ps.Items {
			t.Logf("pod %s on %q: %s %s %v", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.PodIP, p.Status.Conditions)
		}
	}
	if evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range evs.Items {
			t.Logf("event %s/%s %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
}
