package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

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
on a Lease; /healthz and /metrics are served on --addr. RBAC: deploy/controller.`,
		Example: `  scalebench controller --kubeconfig cluster/admin.kubeconfig --namespace fns
  scalebench controller --namespace fns --addr 127.0.0.1:9095 --lease-duration 4s`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workers < 1 {
				return badInput(errors.New("--workers: want at least 1"))
			}
			if leaseDuration <= renewDeadline || renewDeadline <= retry || retry <= 0 {
				return badInput(fmt.Errorf("want --lease-duration > --renew-deadline > --retry-period > 0, got %v, %v, %v", leaseDuration, renewDeadline, retry))
			}
			cfg, err := controller.LoadConfig(kubeconfig)
			if err != nil {
				return badInput(err)
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
			err = controller.Serve(ctx, sc)
			if errors.As(err, new(controller.AddrError)) {
				return badInput(err)
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
	return cmd
}
