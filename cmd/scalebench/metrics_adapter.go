package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"
	"k8s.io/client-go/kubernetes"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/cmd/options"

	"github.com/scalebench/scalebench/kube/adapter"
)

// newMetricsAdapterCmd is `scalebench metrics-adapter`: custom.metrics.k8s.io
// from the queue-proxies, for the real HPA.
func newMetricsAdapterCmd() *cobra.Command {
	var (
		namespace   string
		metricsPort int
		window      time.Duration
	)
	base := &basecmd.AdapterBase{Name: "scalebench-metrics-adapter"}
	cmd := &cobra.Command{
		Use:   "metrics-adapter",
		Short: "Serve per-pod concurrency and RPS as custom.metrics.k8s.io for the Kubernetes HPA",
		Long: `metrics-adapter is an aggregated API server for custom.metrics.k8s.io that
serves two Pods metrics, concurrency and rps, averaged over --window from each
ready pod's queue-proxy (POD_IP:--metrics-port/metrics, scraped every second).
Register it with the APIService in deploy/metrics-adapter; then an
autoscaling/v2 HorizontalPodAutoscaler with

  metrics:
  - type: Pods
    pods:
      metric: {name: concurrency}
      target: {type: AverageValue, averageValue: "10"}

scales a Deployment on concurrency, decided by kube-controller-manager's own
HPA controller. The serving, authentication and authorization flags are
those of every Kubernetes aggregated API server.`,
		Example: `  scalebench metrics-adapter --lister-kubeconfig admin.kubeconfig \
    --authentication-kubeconfig admin.kubeconfig --authorization-kubeconfig admin.kubeconfig \
    --secure-port 6443 --cert-dir /tmp/adapter-certs`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if metricsPort < 1 || metricsPort > 65535 {
				return badinput.Wrap(fmt.Errorf("--metrics-port: want 1 to 65535, got %d", metricsPort))
			}
			if window < time.Second || window > 10*time.Minute {
				return badinput.Wrap(fmt.Errorf("--window: want 1s to 10m, got %v", window))
			}
			if errs := base.CustomMetricsAdapterServerOptions.Validate(); len(errs) > 0 {
				return badinput.Wrap(errors.Join(errs...))
			}
			cfg, err := base.ClientConfig()
			if err != nil {
				return badinput.Wrap(fmt.Errorf("--lister-kubeconfig: %w", err))
			}
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			p, err := adapter.New(adapter.Config{Client: client, Namespace: namespace, MetricsPort: metricsPort, Window: window,
				Registerer: prometheus.NewRegistry()})
			if err != nil {
				return err
			}
			base.WithCustomMetrics(p)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			done := make(chan struct{})
			go func() { defer close(done); p.Run(ctx) }()
			fmt.Fprintf(cmd.OutOrStdout(), "metrics adapter serving custom.metrics.k8s.io on https://%s\n",
				net.JoinHostPort(base.CustomMetricsAdapterServerOptions.SecureServing.BindAddress.String(), fmt.Sprint(base.CustomMetricsAdapterServerOptions.SecureServing.BindPort)))
			err = base.Run(ctx)
			stop()
			<-done
			return err
		},
	}
	// Defaults before the flags are made: loopback, an unprivileged port.
	base.CustomMetricsAdapterServerOptions = options.NewCustomMetricsAdapterServerOptions()
	base.CustomMetricsAdapterServerOptions.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	base.CustomMetricsAdapterServerOptions.SecureServing.BindPort = 6443
	// Self-signed serving certificates in memory unless --cert-dir or
	// --tls-cert-file is given, rather than files in the working directory.
	base.CustomMetricsAdapterServerOptions.SecureServing.ServerCert.CertDirectory = ""
	base.FlagSet = cmd.Flags()
	base.InstallFlags()
	f := cmd.Flags()
	f.StringVar(&namespace, "namespace", "", "scrape only this namespace's pods; empty = all namespaces")
	f.IntVar(&metricsPort, "metrics-port", 9091, "port of the queue-proxy's /metrics on each pod IP")
	f.DurationVar(&window, "window", 15*time.Second, "averaging window of the metrics (metrics-server's resolution)")
	return cmd
}
