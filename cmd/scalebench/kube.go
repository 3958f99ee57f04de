package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/bench"
	"k8s.io/client-go/kubernetes"

	"github.com/scalebench/scalebench/kube/cluster"
	"github.com/scalebench/scalebench/kube/node"
	"github.com/scalebench/scalebench/platform"
	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/scenarios"
)

// exitStatus is a command's exit status that has been reported already:
// the run in the network namespace printed its own errors.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// enterNamespace runs the command again in the kubernetes backend's
// network namespace when it needs one (bench.Enter); the child's exit
// status then ends this process.
func enterNamespace(backend, kubeconfig string) error {
	status, entered, err := bench.Enter(backend, kubeconfig)
	switch {
	case err != nil:
		return err
	case entered:
		return exitStatus(status)
	}
	return nil
}

// newClusterCmd builds `scalebench cluster up|down`.
func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster up|down",
		Short: "Start or stop a local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)",
		Long: `cluster up starts a Kubernetes ` + cluster.KubernetesVersion + ` control plane on loopback ports: Debian's
etcd, and kube-apiserver, kube-controller-manager and kube-scheduler built by
make controlplane. Certificates are generated at start. It writes an admin
kubeconfig into the state directory and returns, leaving the control plane
running; cluster down stops it. Other commands (node, controller) find that
kubeconfig by themselves unless --kubeconfig or KUBECONFIG names another
cluster.`,
		Example: `  make controlplane
  scalebench cluster up
  scalebench node &
  kubectl --kubeconfig ~/.cache/scalebench/cluster/kubeconfig get nodes
  scalebench cluster down`,
	}
	cmd.AddCommand(newClusterUpCmd(), newClusterDownCmd())
	return cmd
}

func newClusterUpCmd() *cobra.Command {
	var dir, binDir string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "up [--dir DIR] [--bin-dir DIR]",
		Short: "Start a control plane in the background and write its kubeconfig",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c, err := cluster.Start(ctx, cluster.Config{Dir: dir, BinDir: binDir, Detach: true,
				StartTimeout: timeout, Progress: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "control plane up at %s\nexport KUBECONFIG=%s\n", c.Server(), c.Kubeconfig())
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", cluster.DefaultDir(), "state directory: certificates, etcd data, kubeconfig, logs")
	cmd.Flags().StringVar(&binDir, "bin-dir", "", "directory with kube-apiserver, kube-controller-manager and kube-scheduler (default bin/controlplane)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Minute, "longest wait for the control plane to be healthy")
	return cmd
}

func newClusterDownCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "down [--dir DIR]",
		Short: "Stop the control plane cluster up started",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cluster.Down(dir, 15*time.Second); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "control plane stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", cluster.DefaultDir(), "state directory given to cluster up")
	return cmd
}

// newNodeCmd builds `scalebench node`.
func newNodeCmd() *cobra.Command {
	var fl struct {
		kubeconfig, name, podCIDR, binDir string
		podOutput                         string
		imageCommands                     []string
	}
	cmd := &cobra.Command{
		Use:   "node [--kubeconfig FILE] [--name NAME] [--pod-cidr CIDR]",
		Short: "Run a Kubernetes node whose pods are scalebench functions run as processes",
		Long: `node registers a Node and runs every Pod scheduled to it as real processes:
the binary its image names (scalebench.dev/fn is bin/fn), or the command
--image-command maps the image to, behind a queue-proxy on the pod's own IP,
with real readiness. See docs/readme-kubernetes.md for
the image mapping, the start-up annotations and the pod ports.

Pod IPs come from --pod-cidr, which must be local on this machine. The
default, on loopback, works anywhere, but the API server refuses loopback
addresses in EndpointSlices, so Services get no endpoints; the end-to-end
tests run the node in a network namespace where 198.18.0.0/16 is local.
It runs until interrupted, then drains and stops its pods.`,
		Example: `  scalebench node
  scalebench node --kubeconfig ~/.kube/config --name fn-node-1
  scalebench node --image-command 'registry.example/me/server=./server --init=100ms'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			commands, err := imageCommands(fl.imageCommands)
			if err != nil {
				return badinput.Wrap(err)
			}
			rc, where, err := cluster.LoadConfig(fl.kubeconfig)
			if err != nil {
				return badinput.Wrap(err)
			}
			cs, err := kubernetes.NewForConfig(rc)
			if err != nil {
				return badinput.Wrap(fmt.Errorf("%s: %w", where, err))
			}
			out := os.Stderr
			if fl.podOutput != "" {
				f, err := os.OpenFile(fl.podOutput, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					return badinput.Wrap(fmt.Errorf("--pod-output: %w", err))
				}
				defer f.Close()
				out = f
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			n, err := node.Start(ctx, node.Config{Name: fl.name, Client: cs, BinDir: fl.binDir, PodCIDR: fl.podCIDR,
				Commands: commands, Output: out, Log: os.Stderr})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "node %s registered with %s; pods get IPs from %s\n", n.Name(), rc.Host, fl.podCIDR)
			<-ctx.Done()
			fmt.Fprintf(cmd.ErrOrStderr(), "node %s: stopping its pods\n", n.Name())
			return n.Stop()
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default $KUBECONFIG, else the one scalebench cluster up wrote)")
	f.StringVar(&fl.name, "name", "scalebench", "the Node's name")
	f.StringVar(&fl.podCIDR, "pod-cidr", node.DefaultPodCIDR, "range pod IPs are taken from; must be local on this machine")
	f.StringVar(&fl.binDir, "bin-dir", "", "directory of the binaries images name (default: this executable's directory)")
	f.StringVar(&fl.podOutput, "pod-output", "", "file the pods' stdout and stderr are appended to (default stderr)")
	f.StringArrayVar(&fl.imageCommands, "image-command", nil, "IMAGE=COMMAND: pods of IMAGE (any tag) run your COMMAND on 127.0.0.1:$PORT behind the queue-proxy, TCP readiness (repeatable)")
	return cmd
}

// imageCommands parses --image-command IMAGE=COMMAND flags into the node's
// image mapping.
func imageCommands(flags []string) (map[string]*pods.Command, error) {
	out := map[string]*pods.Command{}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for _, f := range flags {
		image, line, ok := strings.Cut(f, "=")
		if !ok || image == "" || strings.TrimSpace(line) == "" {
			return nil, fmt.Errorf("--image-command %q: want IMAGE=COMMAND, such as registry.example/me/server=./server --flag", f)
		}
		c, err := scenarios.ParseCommand(line, wd)
		if err != nil {
			return nil, fmt.Errorf("--image-command %q: %w", f, err)
		}
		c.PortEnv = "PORT"
		out[image] = platform.PodCommand(c)
	}
	return out, nil
}
