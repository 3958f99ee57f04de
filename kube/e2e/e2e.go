package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/scalebench/scalebench/kube/cluster"
	"github.com/scalebench/scalebench/kube/netns"
	"github.com/scalebench/scalebench/kube/node"
)

// LocalRange is made local inside the tests' network namespace.
const LocalRange = netns.LocalRange

// PodCIDR is the shared node's pod range, the lower half of LocalRange; a
// test that starts a node of its own gives it SparePodCIDR.
const (
	PodCIDR      = "198.18.0.0/17"
	SparePodCIDR = "198.18.128.0/17"
)

// RunEnv marks every process of one run; its value is the run's id.
const RunEnv = netns.RunEnv

// Options tune the control plane a package's tests share.
type Options struct {
	// ControllerManagerFlags are added to kube-controller-manager's
	// command line, such as a shorter HPA sync period.
	ControllerManagerFlags []string
	// NodeName is the node's name; empty means "scalebench".
	NodeName string
}

// Env is the control plane and node a package's tests run against.
type Env struct {
	Cluster *cluster.Cluster
	Node    *node.Node
	// Config is a cluster-admin client configuration; copy it before
	// changing it (rest.CopyConfig).
	Config *rest.Config
	Client kubernetes.Interface
	// Dir holds the control plane's state and logs, and pods.log with the
	// pods' output.
	Dir string
	// BinDir is the node's image directory (the repository's bin/).
	BinDir string
	// RunID is the value of RunEnv for this run.
	RunID string
}

var shared *Env

// Get is the package's Env; it fails the test when Main did not set one up.
func Get(t testing.TB) *Env {
	t.Helper()
	if shared == nil {
		t.Fatal("e2e: no control plane; the package's TestMain must call e2e.Main")
	}
	return shared
}

// Main runs a package's tests against a fresh control plane and node with
// default options; call it from TestMain.
func Main(m *testing.M) { MainWith(m, Options{}) }

// MainWith is Main with options.
func MainWith(m *testing.M, opts Options) {
	if !netns.Inside() {
		os.Exit(outside())
	}
	os.Exit(inside(m, opts))
}

// outside re-runs the test binary in a new network namespace and then
// checks that none of the run's processes outlived it.
func outside() int {
	c, err := netns.Start(os.Args[1:], nil, nil, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot start the tests in a network namespace of their own (%v); they need root, as make e2e and CI run them\n", err)
		return 1
	}
	code, err := c.Wait()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if left := c.Leftovers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %d processes of run %s outlived the test binary: %s\n", len(left), c.ID, describe(left))
		return 1
	}
	fmt.Printf("e2e: no process of run %s left after the suite (0 found)\n", c.ID)
	return code
}

// inside sets up the namespace's network, the control plane and the node,
// runs the tests and tears everything down.
func inside(m *testing.M, opts Options) int {
	runID := netns.RunID()
	if err := netns.Setup(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	env, err := setUp(opts, runID)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	shared = env
	code := m.Run()
	if err := env.tearDown(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: tear down:", err)
		code = 1
	}
	if left := others(Processes(runID)); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %d processes left after the control plane and node stopped: %s\n", len(left), describe(left))
		code = 1
	}
	if code == 0 {
		os.RemoveAll(env.Dir)
	} else {
		fmt.Fprintf(os.Stderr, "e2e: control-plane logs and pods.log kept in %s\n", env.Dir)
	}
	return code
}

func setUp(opts Options, runID string) (*Env, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	binDir := filepath.Join(root, "bin")
	if _, err := os.Stat(filepath.Join(binDir, "fn")); err != nil {
		return nil, fmt.Errorf("no %s; make build writes it (make e2e does)", filepath.Join(binDir, "fn"))
	}
	dir, err := os.MkdirTemp("", "scalebench-e2e-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := cluster.Start(ctx, cluster.Config{Dir: dir, ControllerManagerFlags: opts.ControllerManagerFlags, Progress: os.Stderr})
	if err != nil {
		return nil, err
	}
	env := &Env{Cluster: c, Config: c.RESTConfig(), Dir: dir, BinDir: binDir, RunID: runID}
	if env.Client, err = kubernetes.NewForConfig(env.Config); err != nil {
		c.Stop()
		return nil, err
	}
	podLog, err := os.Create(filepath.Join(dir, "pods.log"))
	if err != nil {
		c.Stop()
		return nil, err
	}
	// client-go's and virtual-kubelet's klog lines go to a file beside the
	// control plane's logs rather than into the test output.
	if klogFile, err := os.Create(filepath.Join(dir, "logs", "klog.log")); err == nil {
		klog.LogToStderr(false)
		klog.SetOutput(klogFile)
	}
	env.Node, err = node.Start(context.Background(), node.Config{
		Name: opts.NodeName, Client: env.Client, BinDir: binDir, PodCIDR: PodCIDR,
		Output: podLog, Log: os.Stderr,
	})
	if err != nil {
		c.Stop()
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "e2e: control plane and node up in %.1fs (state in %s)\n", time.Since(start).Seconds(), dir)
	return env, nil
}

func (e *Env) tearDown() error {
	return errors.Join(e.Node.Stop(), e.Cluster.Stop())
}

// repoRoot is the scalebench module's directory: go test runs in the
// package's directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/scalebench/scalebench\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("e2e: not inside the scalebench module")
		}
		dir = parent
	}
}

// Proc is a live process of a run.
type Proc = netns.Proc

// Processes lists the live processes whose environment carries RunEnv=runID
// (zombies have no readable environment and are not counted).
func Processes(runID string) []Proc { return netns.Processes(runID) }

func others(ps []Proc) []Proc { return netns.Others(ps) }

func describe(ps []Proc) string { return netns.Describe(ps) }

// Namespace creates a namespace for one test, waits until pods can be
// created in it, and deletes it when the test ends.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns, err := e.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		e.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	if err := cluster.NamespaceReady(ctx, e.Client, ns.Name); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// Eventually polls cond every 100 ms until it holds, failing the test with
// cond's last error after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
