package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/bench"
	"github.com/scalebench/scalebench/platform"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

type runFlags struct {
	fnFlags
	scenario, backend, out, pattern string
	duration                        time.Duration
	seed                            int64
	requests, force                 bool
	functionCmd, functionReadiness  string
	kubeconfig                      string
}

func newRunCmd() *cobra.Command {
	var fl runFlags
	cmd := &cobra.Command{
		Use:   "run (--scenario FILE | --pattern SPEC --duration D) --backend local --policy NAME --out DIR",
		Short: "Run a scenario on a real platform and write summary.json and timeseries.csv",
		Long: `run starts the local platform (real cmd/fn processes, queue-proxies, an
activator and the autoscaler in the loop), sends the scenario's traffic with
the load generator, stops everything and writes DIR/summary.json (the
simulator's keys plus measured pod starts, pod-seconds and max pods) and
DIR/timeseries.csv (one row per autoscaler tick), and with --requests
DIR/requests.csv. DIR is written atomically.

--backend kubernetes runs the same on Kubernetes: by default it brings up the
project's own control plane and a scalebench node (pods as processes) in a
network namespace of its own (root), creates a Deployment per function,
autoscales it with scalebench's controller (kpa, knative, ...) or the real
HorizontalPodAutoscaler on the metrics adapter's concurrency (hpa), and tears
it all down afterwards; --kubeconfig or KUBECONFIG runs on that cluster.

Each pod waits a draw of the scenario function's schedule, image-pull and
container-start phases before fn starts, and gets a draw of its app-init
phase as fn's init time; the service mean is fn's default work. Without
--scenario, --pattern and --duration describe one function whose init and
work come from the flags.`,
		Example: `  scalebench run --scenario scenarios/library/spike.yaml --backend local --policy kpa --out out/spike-local
  scalebench run --scenario scenarios/library/spike.yaml --backend kubernetes --policy knative --duration 2m --out out/spike-k8s
  scalebench run --pattern constant:rate=50 --duration 30s --init 200ms --work 20ms --policy kpa --out out/c50`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRun(cmd, &fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.scenario, "scenario", "", "scenario YAML file")
	f.StringVar(&fl.backend, "backend", "local", "platform to run on: "+strings.Join(bench.RealBackends(), ", "))
	f.StringVar(&fl.kubeconfig, "kubeconfig", "", "kubernetes backend: an existing cluster's kubeconfig (default $KUBECONFIG; neither: the project's own control plane, brought up for the run)")
	f.StringVar(&fl.out, "out", "", "output directory (written atomically)")
	addForce(cmd, &fl.force)
	f.StringVar(&fl.pattern, "pattern", "", "traffic pattern when there is no scenario, e.g. constant:rate=100")
	f.DurationVar(&fl.duration, "duration", 0, "traffic length (overrides the scenario's)")
	f.Int64Var(&fl.seed, "seed", 0, "random seed (default: the scenario's)")
	f.BoolVar(&fl.requests, "requests", false, "also write requests.csv, one row per request")
	f.StringVar(&fl.functionCmd, "function-cmd", "", "run your own function instead of cmd/fn: a command that serves HTTP on 127.0.0.1:$PORT, e.g. './myserver --flag'")
	f.StringVar(&fl.functionReadiness, "function-readiness", "tcp", "--function-cmd's readiness probe: tcp, or http:/PATH")
	fl.register(cmd, true)
	return cmd
}

func runRun(cmd *cobra.Command, fl *runFlags) error {
	if fl.out == "" {
		return badinput.Wrap(errors.New("run: --out DIR is required"))
	}
	if !slices.Contains(bench.RealBackends(), fl.backend) {
		return badinput.Errorf("run: --backend %q: want %s", fl.backend, strings.Join(bench.RealBackends(), " or "))
	}
	sc, pol, err := runScenario(cmd, fl)
	if err != nil {
		return badinput.Wrap(err)
	}
	cmdFn, err := functionCommand(fl.functionCmd, fl.functionReadiness)
	if err != nil {
		return badinput.Wrap(fmt.Errorf("run: %w", err))
	}
	bin, err := fl.fnBinary()
	if err != nil && needsFn(sc, cmdFn) {
		return badinput.Wrap(fmt.Errorf("run: %w", err))
	}
	if err := enterNamespace(fl.backend, fl.kubeconfig); err != nil {
		return err
	}
	cfg := bench.Config{FnBinary: bin, Command: cmdFn, Kubeconfig: fl.kubeconfig}
	if fl.pattern != "" {
		fn, _ := fl.function()
		cfg.FnArgs = fn.Args
	}
	b, err := bench.NewReal(fl.backend, cfg)
	if err != nil {
		return badinput.Wrap(fmt.Errorf("run: %w", err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, dir, err := bench.RunToDir(ctx, b, bench.Run{Scenario: sc, Policy: pol, Progress: cmd.ErrOrStderr(), Log: cmd.ErrOrStderr()}, fl.out, fl.requests, outOptions(cmd, fl.force)...)
	// A run that ended but must not pass (interrupted, nothing completed,
	// crash-looping pods) has its summary written and exits 1.
	var failed *platform.RunFailure
	if err != nil && (res == nil || !errors.As(err, &failed)) {
		return fmt.Errorf("run: %w", err)
	}
	s := res.Summary
	fmt.Fprintf(cmd.OutOrStdout(), "%s on %s: %d requests, %d completed, %d cold starts (%.4f), p50 %.1f ms, p99 %.1f ms, %d pod starts, %.1f pod-seconds, max %d pods → %s\n",
		s.Policy, b.Name(), s.Requests, s.Completed, s.ColdStarts, s.ColdStartRatio, s.Latency.P50, s.Latency.P99, s.PodStarts, s.PodSeconds, s.MaxPods, dir)
	if failed != nil {
		return fmt.Errorf("run: %w", failed)
	}
	return nil
}

// functionCommand parses --function-cmd and --function-readiness; nil when
// no command is given.
func functionCommand(line, readiness string) (*scenarios.Command, error) {
	if line == "" {
		return nil, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	c, err := scenarios.ParseCommand(line, wd)
	if err != nil {
		return nil, fmt.Errorf("--function-cmd %q: %w", line, err)
	}
	if c.ReadinessPath, err = scenarios.ParseReadiness(readiness); err != nil {
		return nil, fmt.Errorf("--function-readiness: %w", err)
	}
	if _, err := exec.LookPath(c.Argv[0]); err != nil {
		return nil, fmt.Errorf("--function-cmd %q: %v", line, errors.Unwrap(err))
	}
	c.PortEnv = "PORT"
	return c, nil
}

// needsFn reports whether some function of sc runs cmd/fn.
func needsFn(sc *scenarios.Scenario, c *scenarios.Command) bool {
	if c != nil {
		return false
	}
	for _, f := range sc.Functions {
		if f.Command == nil {
			return true
		}
	}
	return false
}

// runScenario loads --scenario or builds a one-function scenario from the
// flags, and picks the policy.
func runScenario(cmd *cobra.Command, fl *runFlags) (*scenarios.Scenario, scenarios.Policy, error) {
	var (
		sc  *scenarios.Scenario
		pol scenarios.Policy
		err error
	)
	switch {
	case fl.scenario != "" && fl.pattern != "":
		return nil, pol, errors.New("run: give --scenario or --pattern, not both")
	case fl.scenario != "":
		for _, name := range []string{"name", "init", "init-mode", "work", "spin", "alloc", "concurrency", "queue-depth", "timeout"} {
			if cmd.Flags().Changed(name) {
				return nil, pol, fmt.Errorf("run: --%s describes the function of --pattern; with --scenario set it in the scenario file", name)
			}
		}
		if sc, err = scenarios.Load(fl.scenario); err != nil {
			return nil, pol, err
		}
	case fl.pattern != "":
		if fl.duration <= 0 {
			return nil, pol, errors.New("run: --pattern needs --duration, e.g. --duration 30s")
		}
		pat, err := traffic.Parse(fl.pattern)
		if err != nil {
			return nil, pol, fmt.Errorf("run: --pattern: %w", err)
		}
		if _, err := fl.function(); err != nil {
			return nil, pol, fmt.Errorf("run: %w", err)
		}
		sc = &scenarios.Scenario{Name: "pattern " + pat.String(), Duration: fl.duration, Seed: scenarios.DefaultSeed, Traffic: pat,
			Activator: scenarios.Activator{QueueDepth: fl.queueDepth, Timeout: fl.timeout}}
	default:
		return nil, pol, errors.New("run: want --scenario FILE or --pattern SPEC --duration D")
	}
	if cmd.Flags().Changed("seed") {
		sc.Seed = fl.seed
	}
	if fl.duration > 0 {
		sc.Duration = fl.duration
	}
	if pol, err = bench.ChoosePolicy(sc, fl.policy, fl.set); err != nil {
		return nil, pol, fmt.Errorf("run: %w", err)
	}
	if fl.pattern != "" {
		// Init and work come from fn flags (RunOptions.FnArgs), not from
		// distributions.
		sc.Functions = []scenarios.Function{{Name: fl.name, ContainerConcurrency: fl.concurrency, MemoryMB: scenarios.DefaultMemoryMB}}
	}
	return sc, pol, scenarios.CheckLimits(sc)
}
