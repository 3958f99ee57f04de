package runner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/scalebench/scalebench/kube/cluster"
	"github.com/scalebench/scalebench/kube/netns"
	"github.com/scalebench/scalebench/kube/node"
	"github.com/scalebench/scalebench/platform"
	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/scenarios"
)

// PodCIDR is the own node's pod range, inside netns.LocalRange; AdapterIP,
// at its top, is where the metrics adapter serves (the API server reaches
// it through an EndpointSlice, which refuses loopback addresses).
const (
	PodCIDR   = "198.18.0.0/17"
	AdapterIP = "198.18.255.254"
)

// ErrOutsideNamespace is Run's error when the own control plane is asked
// for outside the network namespace it needs.
var ErrOutsideNamespace = errors.New("the own control plane runs inside a network namespace where " + netns.LocalRange + " is local (the API server refuses loopback pod IPs); enter it first (kube/netns), or give an existing cluster")

// world is the cluster a run uses and what it started for it.
type world struct {
	client     kubernetes.Interface
	rest       *rest.Config
	kubeconfig string // a file with admin credentials, for the adapter
	own        bool
	cluster    *cluster.Cluster
	node       *node.Node
	dir        string
	podLog     *os.File
}

// up brings up the run's world: the own control plane and node, or the
// given cluster.
func up(ctx context.Context, cfg Config, commands map[string]*pods.Command, cmFlags []string, progress io.Writer) (*world, error) {
	if cfg.Cluster != nil {
		cs, err := kubernetes.NewForConfig(cfg.Cluster)
		if err != nil {
			return nil, err
		}
		return &world{client: cs, rest: cfg.Cluster, kubeconfig: cfg.Kubeconfig}, nil
	}
	if !netns.Inside() {
		return nil, ErrOutsideNamespace
	}
	if progress == nil {
		progress = io.Discard
	}
	dir, err := os.MkdirTemp("", "scalebench-kubernetes-")
	if err != nil {
		return nil, err
	}
	w := &world{own: true, dir: dir}
	start := time.Now()
	fmt.Fprintf(progress, "kubernetes: starting the control plane (state in %s)...\n", dir)
	c, err := cluster.Start(ctx, cluster.Config{Dir: dir, BinDir: cfg.ControlPlaneBin, ControllerManagerFlags: cmFlags, Progress: progress})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	w.cluster, w.rest, w.kubeconfig = c, c.RESTConfig(), c.Kubeconfig()
	if w.client, err = kubernetes.NewForConfig(w.rest); err != nil {
		w.down(false)
		return nil, err
	}
	quietKlog(filepath.Join(dir, "logs", "klog.log"))
	if w.podLog, err = os.Create(filepath.Join(dir, "pods.log")); err != nil {
		w.down(false)
		return nil, err
	}
	w.node, err = node.Start(context.Background(), node.Config{Client: w.client, BinDir: cfg.BinDir, PodCIDR: PodCIDR,
		Commands: commands, Output: w.podLog, Log: cfg.Log})
	if err != nil {
		w.down(false)
		return nil, err
	}
	fmt.Fprintf(progress, "kubernetes: control plane and node up in %.1fs\n", time.Since(start).Seconds())
	return w, nil
}

var klogOnce sync.Once

// quietKlog sends client-go's and virtual-kubelet's klog lines to a file
// beside the control plane's logs rather than onto the terminal.
func quietKlog(path string) {
	klogOnce.Do(func() {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return
		}
		// Errors too: klog copies them to stderr below its
		// stderrthreshold, and the event broadcasters' retries while the
		// control plane stops are errors.
		fs := flag.NewFlagSet("klog", flag.ContinueOnError)
		klog.InitFlags(fs)
		for k, v := range map[string]string{"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL",
			"legacy_stderr_threshold_behavior": "false"} {
			fs.Set(k, v)
		}
		klog.SetOutput(f)
	})
}

// down stops what up started, newest first; keep leaves the state
// directory (its logs) in place.
func (w *world) down(keep bool) error {
	if !w.own {
		return nil
	}
	var errs []error
	if w.node != nil {
		errs = append(errs, w.node.Stop())
	}
	if w.cluster != nil {
		errs = append(errs, w.cluster.Stop())
	}
	if w.podLog != nil {
		w.podLog.Close()
	}
	if err := errors.Join(errs...); err != nil || keep {
		return err
	}
	return os.RemoveAll(w.dir)
}

// Commands maps the images of fns with a user's command to that command,
// for the node (node.Config.Commands).
func Commands(fns []Function) map[string]*pods.Command {
	out := map[string]*pods.Command{}
	for _, f := range fns {
		if f.Command != nil {
			out[f.Image] = podCommand(f.Command)
		}
	}
	return out
}

func podCommand(c *scenarios.Command) *pods.Command { return platform.PodCommand(c) }
