package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"

	"github.com/scalebench/scalebench/kube/activator"
	"github.com/scalebench/scalebench/kube/controller"
)

// newControllerCmd is `scalebench controller`: the autoscaler on a
// Kubernetes cluster.
func newControllerCmd() *cobra.Command {
	var (
		kubeconfig, namespace, addr, metricsPort string
		leaseName, leaseNamespace, identity      string
		leaseDuration, renewDeadline, retry      time.Duration
		workers                                  int
		activatorAddr                            string
		activatorInPod, activatorRoutes          bool
		pokeURLs                                 []string
	)
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Autoscale opted-in Deployments on Kubernetes with scalebench's policies",
		Long: `controller autoscales the Deployments that carry the annotation
autoscaling.knative.dev/class (kpa, knative, keepalive, openfaas-ce,
openfaas-pro, or Knative's kpa.autoscaling.knative.dev), with the policy's
knobs as autoscaling.knative.dev/* annotations (target, window, min-scale,
max-scale, initial-scale, ...) and autoscaling.scalebench.dev/* for the rest.
Every other Deployment is left alone.

It scrapes each ready pod's queue-proxy (POD_IP:--metrics-port/metrics)
every second, runs the same policy code as the simulator and
the local platform, and sets replicas through the scale subresource. The
activator pokes it at POST /poke for scale from zero. Replicas elect a leader
on a Lease; /healthz and /metrics are served on --addr. RBAC: deploy/controller.

With --activator-addr the activator serves /NAMESPACE/NAME/ for each
revision's Service, and splits /NAMESPACE/FUNCTION/ across a function's
revisions by the ConfigMap FUNCTION labelled ` + activator.RouteLabel + ` (its
data.` + activator.RouteKey + ` lists the revisions and the split schedule; see
docs/readme-kubernetes.md).`,
		Example: `  scalebench controller --kubeconfig cluster/admin.kubeconfig --namespace fns
  scalebench controller --namespace fns --addr 127.0.0.1:9095 --lease-duration 4s`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workers < 1 {
				return badinput.Wrap(errors.New("--workers: want at least 1"))
			}
			if leaseDuration <= renewDeadline || renewDeadline <= retry || retry <= 0 {
				return badinput.Wrap(fmt.Errorf("want --lease-duration > --renew-deadline > --retry-period > 0, got %v, %v, %v", leaseDuration, renewDeadline, retry))
			}
			cfg, err := controller.LoadConfig(kubeconfig)
			if err != nil {
				return badinput.Wrap(err)
			}
			client, err := controller.NewClient(cfg, "controller")
			if err != nil {
				return err
			}
			if identity == "" {
				host, _ := os.Hostname()
				identity = fmt.Sprintf("%s-%d", host, os.Getpid())
			}
			if leaseNamespace == "" {
				leaseNamespace = namespace
			}
			if leaseNamespace == "" {
				leaseNamespace = "default"
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)).With("component", "controller", "identity", identity)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			sc := controller.ServeConfig{
				Controller: controller.Config{Client: client, Namespace: namespace, Log: log, MetricsPort: metricsPort, Workers: workers},
				Addr:       addr,
				OnListen:   func(a string) { fmt.Fprintf(cmd.OutOrStdout(), "controller listening on http://%s\n", a) },
			}
			if leaseName != "" {
				sc.Election = controller.LeaderElection{Namespace: leaseNamespace, Name: leaseName, Identity: identity,
					LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retry}
			}
			if activatorAddr != "" {
				if namespace == "" {
					return badinput.Wrap(errors.New("--activator-addr needs --namespace: an activator serves one namespace"))
				}
				ln, err := listenActivator(activatorAddr, activatorInPod)
				if err != nil {
					return badinput.Wrap(err)
				}
				if len(pokeURLs) == 0 {
					pokeURLs = []string{"http://" + addr}
				}
				act, err := activator.New(activator.Config{Client: client, Namespace: namespace, Controllers: pokeURLs,
					WatchRoutes: activatorRoutes, Log: log.With("component", "activator")})
				if err != nil {
					ln.Close()
					return badinput.Wrap(err)
				}
				stopAct := serveActivator(ctx, act, ln)
				defer stopAct()
				fmt.Fprintf(cmd.OutOrStdout(), "activator listening on http://%s/%s/NAME/\n", ln.Addr(), namespace)
			}
			err = controller.Serve(ctx, sc)
			if errors.As(err, new(controller.AddrError)) {
				return badinput.Wrap(err)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else in-cluster)")
	f.StringVar(&namespace, "namespace", "", "watch only this namespace (a Role suffices); empty = all namespaces")
	f.StringVar(&addr, "addr", "127.0.0.1:9095", "listen address of /healthz, /metrics and /poke (loopback only)")
	f.StringVar(&metricsPort, "metrics-port", controller.DefaultMetricsPort, "pod port the queue-proxy serves /metrics on: a number or a container port name")
	f.StringVar(&leaseName, "lease", "scalebench-controller", "Lease to elect a leader on; empty disables leader election")
	f.StringVar(&leaseNamespace, "lease-namespace", "", "namespace of the Lease (default --namespace, else default)")
	f.StringVar(&identity, "identity", "", "this replica's name in the Lease (default hostname-pid)")
	f.DurationVar(&leaseDuration, "lease-duration", 15*time.Second, "how long a Lease holds without renewal (a killed leader is replaced after about this)")
	f.DurationVar(&renewDeadline, "renew-deadline", 10*time.Second, "how long the leader retries renewing before it gives up")
	f.DurationVar(&retry, "retry-period", 2*time.Second, "how often candidates try the Lease")
	f.IntVar(&workers, "workers", 2, "sync workers")
	f.StringVar(&activatorAddr, "activator-addr", "", "also run the activator (scale from zero) on this loopback address; empty = none")
	f.BoolVar(&activatorInPod, "activator-in-pod", false, "the controller runs in a pod of its own (kind): --activator-addr may then be any address of the pod, such as :8012, for the activator's Service")
	f.BoolVar(&activatorRoutes, "activator-routes", true, "the activator splits /NAMESPACE/FUNCTION/ across revisions by the route ConfigMaps (label "+activator.RouteLabel+") of --namespace; needs list and watch on configmaps")
	f.StringArrayVar(&pokeURLs, "poke-url", nil, "controller replica the activator pokes, http://HOST:PORT (repeatable; default this replica's --addr)")
	return cmd
}

// listenActivator listens for the activator: on loopback only, unless the
// controller runs in a pod of its own, whose addresses are the pod's.
func listenActivator(addr string, inPod bool) (net.Listener, error) {
	if !inPod {
		return listenLoopback(addr, "--activator-addr")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("--activator-addr: want host:port such as :8012, got %q", addr)
	}
	return net.Listen("tcp", addr)
}

// listenLoopback listens on a loopback host:port only.
func listenLoopback(addr, flag string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s: want a loopback host:port such as 127.0.0.1:8012, got %q", flag, addr)
	}
	return net.Listen("tcp", addr)
}

// serveActivator runs the activator and its listener until ctx ends or the
// returned function is called, which waits for both to stop.
func serveActivator(ctx context.Context, act *activator.Activator, ln net.Listener) func() {
	ctx, cancel := context.WithCancel(ctx)
	hs := &http.Server{Handler: act, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); hs.Serve(ln) }()
	go func() { defer wg.Done(); act.Run(ctx) }()
	return func() {
		cancel()
		sctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		hs.Shutdown(sctx)
		wg.Wait()
	}
}
