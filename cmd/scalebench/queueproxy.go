package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"

	"github.com/scalebench/scalebench/platform/queueproxy"
)

// newQueueProxyCmd is the queue-proxy as a process of its own, for
// container images (kind): the same queue-proxy the local platform and the
// process node run in-process.
func newQueueProxyCmd() *cobra.Command {
	var cfg queueproxy.SidecarConfig
	var watchdogEnv bool
	cmd := &cobra.Command{
		Use:   "queue-proxy [flags] [-- FUNCTION-COMMAND...]",
		Short: "Run one pod's queue-proxy in front of its function (for container images)",
		Long: `queue-proxy runs the per-pod proxy of scalebench's request path as a process
of its own, as a container on a cluster does: it enforces containerConcurrency
with a bounded queue, marks the requests that waited for the pod to start as
cold starts (X-Cold-Start), answers the readiness probe on /healthz once the
function accepts connections, and exports the pod's metrics on
--metrics-listen /metrics for the controller and the metrics adapter.

With a command after --, it also starts the function and exits when the
function does (a pod with one container, as an OpenFaaS function has).
SIGTERM fails readiness, drains in-flight requests, then stops the function.

Both addresses default to loopback; in a container give the pod's port on
all interfaces (--listen :8080).`,
		Example: `  scalebench queue-proxy --listen :8080 --metrics-listen :9091 --upstream 127.0.0.1:8081 --container-concurrency 10 -- /fn --addr 127.0.0.1:8081`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() > 0 || (cmd.ArgsLenAtDash() < 0 && len(args) > 0) {
				return badinput.Wrap(errors.New("queue-proxy: the function's command goes after --"))
			}
			if cfg.ContainerConcurrency < 0 || cfg.QueueDepth < 0 {
				return badinput.Wrap(errors.New("queue-proxy: --container-concurrency and --queue-depth must be >= 0"))
			}
			cfg.Command = args
			if watchdogEnv {
				if len(args) > 0 {
					return badinput.Wrap(errors.New("queue-proxy: --of-watchdog-env reads the command from $fprocess; give no command after --"))
				}
				var err error
				if cfg.Command, cfg.ContainerConcurrency, err = queueproxy.WatchdogEnv(os.Getenv); err != nil {
					return badinput.Wrap(err)
				}
			}
			if cfg.Pod == "" {
				cfg.Pod, _ = os.Hostname()
			}
			cfg.Log = os.Stderr
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return queueproxy.RunSidecar(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Pod, "pod", os.Getenv("POD_NAME"), "pod name for the metrics' pod label (default $POD_NAME, else the host name)")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8012", "address requests arrive on")
	f.StringVar(&cfg.MetricsListen, "metrics-listen", "127.0.0.1:9091", "address of /metrics")
	f.StringVar(&cfg.Upstream, "upstream", "127.0.0.1:8080", "the function's host:port")
	f.IntVar(&cfg.ContainerConcurrency, "container-concurrency", 0, "most requests the function serves at once; 0 = unlimited")
	f.IntVar(&cfg.QueueDepth, "queue-depth", 100, "most requests waiting for a slot before 503")
	f.BoolVar(&watchdogEnv, "of-watchdog-env", false, "read the function's command from $fprocess and containerConcurrency from $max_inflight, as OpenFaaS's of-watchdog does")
	f.DurationVar(&cfg.Grace, "grace", 30*time.Second, "termination grace period: drain, then the function's SIGTERM-to-SIGKILL")
	return cmd
}
