package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/platform"
)

// fnFlags describe the one function of the scenario-less forms of
// platform and run.
type fnFlags struct {
	binary      string
	name        string
	init        time.Duration
	initMode    string
	work, spin  time.Duration
	alloc       int64
	concurrency int
	queueDepth  int
	timeout     time.Duration
	policy      string
	set         []string
}

func (fl *fnFlags) register(cmd *cobra.Command, withFunction bool) {
	f := cmd.Flags()
	f.StringVar(&fl.binary, "fn-binary", "", "cmd/fn executable (default: fn beside this binary, else bin/fn)")
	f.StringVar(&fl.policy, "policy", "", "autoscaler: "+strings.Join(autoscaler.Names(), ", ")+" (default kpa)")
	f.StringArrayVar(&fl.set, "set", nil, "policy setting key=value (repeatable)")
	if !withFunction {
		return
	}
	f.StringVar(&fl.name, "name", "fn", "function (revision) name")
	f.DurationVar(&fl.init, "init", 0, "function init time before a pod is ready")
	f.StringVar(&fl.initMode, "init-mode", "sleep", "how init time is spent: sleep or spin")
	f.DurationVar(&fl.work, "work", 0, "default per-request sleep (a request's ?work= overrides)")
	f.DurationVar(&fl.spin, "spin", 0, "default per-request CPU spin (?spin= overrides)")
	f.Int64Var(&fl.alloc, "alloc", 0, "default bytes allocated per request (?alloc= overrides)")
	f.IntVar(&fl.concurrency, "concurrency", 0, "containerConcurrency, 0 = unlimited")
	f.IntVar(&fl.queueDepth, "queue-depth", 0, fmt.Sprintf("activator queue depth, 0 = platform default (%d)", autoscaler.DefaultQueueDepth))
	f.DurationVar(&fl.timeout, "timeout", 0, "longest wait for capacity in the activator, 0 = platform default ("+autoscaler.DefaultTimeout.String()+")")
}

// function builds the platform function from the flags.
func (fl *fnFlags) function() (platform.Function, error) {
	switch {
	case fl.initMode != "sleep" && fl.initMode != "spin":
		return platform.Function{}, fmt.Errorf("--init-mode: want sleep or spin, got %q", fl.initMode)
	case fl.init < 0 || fl.work < 0 || fl.spin < 0 || fl.timeout < 0:
		return platform.Function{}, errors.New("--init, --work, --spin and --timeout: want non-negative durations")
	case fl.alloc < 0 || fl.concurrency < 0 || fl.queueDepth < 0:
		return platform.Function{}, errors.New("--alloc, --concurrency and --queue-depth: want non-negative numbers")
	}
	set, err := autoscaler.ParseSettings(fl.set)
	if err != nil {
		return platform.Function{}, fmt.Errorf("--set: %w", err)
	}
	return platform.Function{
		Name: fl.name,
		Args: []string{"--init=" + fl.init.String(), "--init-mode=" + fl.initMode, "--work=" + fl.work.String(),
			"--spin=" + fl.spin.String(), fmt.Sprintf("--alloc=%d", fl.alloc)},
		ContainerConcurrency: fl.concurrency, Policy: fl.policyName(), Settings: set,
		QueueDepth: fl.queueDepth, QueueTimeout: fl.timeout,
	}, nil
}

func (fl *fnFlags) policyName() string {
	if fl.policy == "" {
		return "kpa"
	}
	return fl.policy
}

// fnBinary finds cmd/fn: the flag, else fn beside the running executable
// (make build puts both in bin/), else bin/fn.
func (fl *fnFlags) fnBinary() (string, error) {
	candidates := []string{fl.binary}
	if fl.binary == "" {
		if exe, err := os.Executable(); err == nil {
			candidates = []string{filepath.Join(filepath.Dir(exe), "fn"), filepath.Join("bin", "fn")}
		} else {
			candidates = []string{filepath.Join("bin", "fn")}
		}
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return filepath.Abs(c)
		}
	}
	return "", fmt.Errorf("fn binary: want an executable at %s (run make build, or pass --fn-binary)", strings.Join(candidates, " or "))
}

func newPlatformCmd() *cobra.Command {
	var fl fnFlags
	var addr string
	cmd := &cobra.Command{
		Use:   "platform [--addr 127.0.0.1:8080] [--policy NAME] [--set k=v] [fn flags]",
		Short: "Run the local serverless platform alone until Ctrl-C",
		Long: `platform starts the embedded local platform with one function: an activator
listening on --addr (loopback only), pods of cmd/fn started and stopped by
the named autoscaler, a queue-proxy per pod, and Prometheus metrics at
/metrics. Send requests to the printed URL (?work=250ms, ?spin=, ?alloc= set
the per-request work). Ctrl-C drains and stops every pod.`,
		Example: `  scalebench platform --init 500ms --work 50ms --concurrency 10
  scalebench platform --policy knative --set stable-window=30s --set scale-to-zero-grace-period=10s
  curl -i 'http://127.0.0.1:8080/?work=250ms'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fn, err := fl.function()
			if err != nil {
				return badinput.Wrap(fmt.Errorf("platform: %w", err))
			}
			bin, err := fl.fnBinary()
			if err != nil {
				return badinput.Wrap(fmt.Errorf("platform: %w", err))
			}
			p, err := platform.Start(platform.Config{Addr: addr, FnBinary: bin, Functions: []platform.Function{fn},
				Log: cmd.ErrOrStderr(), PodOutput: cmd.ErrOrStderr()})
			if err != nil {
				return badinput.Wrap(fmt.Errorf("platform: %w", err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "platform: %s (policy %s) at %s — metrics at %s/metrics; Ctrl-C to stop\n", fn.Name, fn.Policy, p.URL(), p.URL())
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			stop()
			fmt.Fprintln(cmd.ErrOrStderr(), "platform: draining and stopping pods...")
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			return p.Close(cctx)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "activator listen address (loopback only)")
	fl.register(cmd, true)
	return cmd
}
