package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/kube/cluster"
	"github.com/scalebench/scalebench/kube/netns"
	"github.com/scalebench/scalebench/kube/podwatch"
	"github.com/scalebench/scalebench/kube/runner"
	"github.com/scalebench/scalebench/platform"
)

// Kubernetes runs scenarios on Kubernetes (kube/runner): by default on the
// project's own control plane and a scalebench node whose pods are
// processes, brought up for each run and torn down after it; with a
// kubeconfig, on that cluster. Policies kpa, knative (and the other
// scalebench policies) run under scalebench's controller, hpa is the real
// HorizontalPodAutoscaler on the metrics adapter's metric.
type Kubernetes struct {
	Config runner.Config
}

var (
	_ Backend    = Kubernetes{}
	_ PathProber = Kubernetes{}
	_ InTurn     = Kubernetes{}
)

func newKubernetes(cfg Config) (Backend, error) {
	rc := runner.Config{FnArgs: cfg.FnArgs, Command: cfg.Command, BinDir: filepath.Dir(cfg.FnBinary)}
	if path := kubeconfigPath(cfg.Kubeconfig); path != "" {
		c, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, badinput.Errorf("the kubernetes backend: kubeconfig %s: %v", path, err)
		}
		rc.Cluster, rc.Kubeconfig = c, path
		return Kubernetes{Config: rc}, nil
	}
	if st, err := os.Stat(cfg.FnBinary); cfg.FnBinary == "" || err != nil || st.IsDir() {
		return nil, badinput.Errorf("the kubernetes backend's node runs bin/fn and scalebench from one directory (%s); run make build", cfg.FnBinary)
	}
	if err := controlPlaneBuilt(); err != nil {
		return nil, err
	}
	if !netns.Inside() {
		return nil, errors.New("the kubernetes backend's own control plane must run in its network namespace: call bench.Enter first")
	}
	return Kubernetes{Config: rc}, nil
}

// kubeconfigPath is --kubeconfig, else $KUBECONFIG: an existing cluster.
func kubeconfigPath(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(clientcmd.RecommendedConfigPathEnvVar)
}

func controlPlaneBuilt() error {
	dir := cluster.DefaultBinDir()
	for _, b := range cluster.Binaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return badinput.Errorf("the kubernetes backend starts its own control plane from %s, which has no %s; run make controlplane (or give --kubeconfig)", dir, b)
		}
	}
	return nil
}

// Enter makes sure a backend that needs it runs in its network namespace:
// the kubernetes backend's own control plane needs pod IPs the API server
// accepts (see kube/netns). Outside the namespace it runs this command
// again inside one, waits, and reports the child's exit status with
// entered true: the caller then exits with it. Inside (or for any other
// backend, or an existing cluster) it sets the namespace's network up if
// needed and returns entered false: go on.
func Enter(backend, kubeconfig string) (status int, entered bool, err error) {
	if backend != "kubernetes" || kubeconfigPath(kubeconfig) != "" {
		return 0, false, nil
	}
	if netns.Inside() {
		return 0, false, setupNetns()
	}
	if err := netns.CheckRoot(); err != nil {
		return 0, false, badinput.Errorf("--backend kubernetes starts its own control plane in a network namespace, which needs root; run as root, or give --kubeconfig for an existing cluster")
	}
	if err := controlPlaneBuilt(); err != nil {
		return 0, false, err
	}
	code, err := netns.Run(os.Args[1:], nil)
	if err != nil {
		return code, true, fmt.Errorf("kubernetes backend: %w", err)
	}
	return code, true, nil
}

var (
	netnsOnce sync.Once
	netnsErr  error
)

func setupNetns() error {
	netnsOnce.Do(func() { netnsErr = netns.Setup() })
	return netnsErr
}

func (Kubernetes) Name() string { return runner.BackendName }

// InTurn: the runs of one process share the machine, and each brings up a
// control plane and a node on the same pod range.
func (Kubernetes) InTurn() {}

func (k Kubernetes) Run(ctx context.Context, r Run) (*Result, error) {
	cfg := k.Config
	cfg.Log = r.Log
	res, err := runner.Run(ctx, cfg, r.Scenario, r.Policy, runner.Options{Requests: r.Requests, Progress: r.Progress, Deployed: r.Deployed})
	if err != nil && res == nil {
		return nil, err
	}
	if r.Timeseries != nil {
		if len(res.Ticks) > 0 {
			// A function with revisions has the local platform's columns:
			// function, revision and the revision's share of the route.
			if werr := platform.WriteTimeseries(r.Timeseries, res.Began, res.Began, res.Ticks, platformRoutes(res.Routes)); werr != nil {
				return nil, werr
			}
		} else {
			// The real HPA's decisions are not ours to record: the pods
			// the API showed, each second.
			fmt.Fprintln(r.Timeseries, "t,pods,ready")
			for sec := int64(0); sec <= int64(r.Scenario.Duration/time.Second); sec++ {
				p, ready := podwatch.At(res.Lives, res.Began.Add(time.Duration(sec)*time.Second))
				fmt.Fprintf(r.Timeseries, "%d,%d,%d\n", sec, p, ready)
			}
		}
	}
	if r.Revision != nil && len(res.Routes) > 0 {
		runner.RevisionSeconds(res.Began, r.Scenario.Duration, res.Lives, res.Routes, func(t int64, name string, ready, percent int) {
			r.Revision(RevisionSecond{T: t, Name: name, Ready: ready, Percent: percent})
		})
	}
	if r.Second != nil {
		n := int64(r.Scenario.Duration / time.Second)
		desired := podsPerSecond(res.Ticks, res.Began, r.Scenario.Duration)
		for sec := int64(0); sec < n; sec++ {
			p, ready := podwatch.At(res.Lives, res.Began.Add(time.Duration(sec+1)*time.Second))
			d := p
			if len(res.Ticks) > 0 && int(sec) < len(desired) {
				d = desired[sec].desired
			}
			r.Second(Second{T: sec, Desired: d, Ready: ready})
		}
	}
	out := &Result{Summary: res.Summary, Ticks: res.Ticks, Started: res.Started, Began: res.Began, Startups: map[string][]PodStartup{}}
	for name, sts := range res.Startups {
		for _, s := range sts {
			out.Startups[name] = append(out.Startups[name], PodStartup{Pod: s.Pod, Created: s.Created, Exec: s.Exec, Ready: s.Ready})
		}
	}
	// A run that ended but must not pass is written with its figures and
	// fails the command, as on the local platform.
	switch {
	case err != nil && ctx.Err() != nil:
		return out, &platform.RunFailure{Interrupted: true}
	case err == nil && res.Summary.Requests > 0 && res.Summary.Completed == 0:
		return out, &platform.RunFailure{NoneCompleted: true, Requests: res.Summary.Requests}
	}
	return out, err
}

// ProbePath times the request path on a one-pod world of its own
// (runner.ProbePath).
func (k Kubernetes) ProbePath(ctx context.Context, n int) (direct, proxied []time.Duration, err error) {
	return runner.ProbePath(ctx, k.Config, n, os.Stderr)
}

// platformRoutes are the run's routes as the local platform's timeseries
// writer reads them.
func platformRoutes(routes []runner.RouteStatus) []platform.RouteStatus {
	var out []platform.RouteStatus
	for _, rt := range routes {
		ps := platform.RouteStatus{Function: rt.Function}
		for _, rev := range rt.Revisions {
			ps.Revisions = append(ps.Revisions, platform.RevisionStatus{Name: rev.Name, Key: rev.Key})
		}
		for _, sp := range rt.Splits {
			ps.Splits = append(ps.Splits, platform.SplitChange{At: sp.At, Percent: sp.Percent})
		}
		out = append(out, ps)
	}
	return out
}
