package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/bench"
	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/simulator"
	"github.com/scalebench/scalebench/traffic"
)

type simFlags struct {
	scenario, policy, out string
	set                   []string
	seed                  int64
	requests              bool
	timeseries            string
	workers               int
	// Scenario-less form.
	pattern, service, startup string
	duration, readiness       time.Duration
	concurrency               int
	queueDepth                int
	timeout                   time.Duration
	maxPods                   int
	force                     bool
}

func newSimCmd() *cobra.Command {
	var fl simFlags
	cmd := &cobra.Command{
		Use:   "sim (--scenario FILE | --pattern SPEC --duration D) --policy NAME --out DIR",
		Short: "Simulate a scenario under an autoscaler and write summary.json and timeseries.csv",
		Long: `sim replays traffic through a simulated Knative-style platform (or the HPA's,
OpenFaaS's or a keep-alive platform's request path, chosen by the policy) in
virtual time, and writes DIR/summary.json, DIR/timeseries.csv and, with
--requests, DIR/requests.csv. The same scenario and seed give identical files
(except summary.json's sim_wall_seconds and sim_requests_per_second), whatever
--workers.

timeseries.csv has one row per function per second (--timeseries functions,
the default), one row per second summed over the functions (fleet; a fleet's
day is then 86,400 rows rather than one per function per second), or is not
written (none). A scenario of several functions simulates them in parallel
on --workers goroutines.

Without --scenario, --pattern and --duration describe one function whose
service time, containerConcurrency and start-up come from the flags.`,
		Example: `  scalebench sim --scenario scenarios/library/spike.yaml --policy kpa --out out/spike-kpa
  scalebench sim --pattern constant:rate=100 --duration 10m --policy knative --set stable-window=30s --out out/q
  scalebench sim --pattern poisson:rate=2 --duration 1h --policy keepalive --service exp:mean=50ms --startup fixed:1s --out out/ka
  scalebench sim --scenario scenarios/fleet/fleet-day.yaml --policy knative --timeseries fleet --out out/fleet-day`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSim(cmd, &fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.scenario, "scenario", "", "scenario YAML file")
	f.StringVar(&fl.policy, "policy", "", "autoscaler: "+strings.Join(autoscaler.Names(), ", ")+" (default: the scenario's only policy, or kpa without a scenario)")
	f.StringArrayVar(&fl.set, "set", nil, "policy setting key=value (repeatable; over the scenario's settings)")
	f.Int64Var(&fl.seed, "seed", 0, "random seed (default: the scenario's)")
	f.StringVar(&fl.out, "out", "", "output directory (written atomically)")
	f.BoolVar(&fl.requests, "requests", false, "also write requests.csv, one row per request")
	f.StringVar(&fl.timeseries, "timeseries", string(bench.PerFunction), "timeseries.csv: functions (a row per function per second), fleet (a row per second, summed) or none")
	f.IntVar(&fl.workers, "workers", runtime.NumCPU(), "simulate a scenario's functions on this many goroutines (the output does not depend on it)")
	f.StringVar(&fl.pattern, "pattern", "", "traffic pattern when there is no scenario, e.g. constant:rate=100")
	f.DurationVar(&fl.duration, "duration", 0, "traffic length (overrides the scenario's)")
	f.StringVar(&fl.service, "service", scenarios.DefaultService, "service time distribution (no scenario)")
	f.StringVar(&fl.startup, "startup", "default", `pod start-up time before the readiness probe (no scenario); "default" = the scenario defaults' phases`)
	f.DurationVar(&fl.readiness, "readiness-period", scenarios.DefaultReadinessPeriod, "readiness probe period (no scenario)")
	f.IntVar(&fl.concurrency, "concurrency", 0, "containerConcurrency, 0 = unlimited (no scenario)")
	f.IntVar(&fl.queueDepth, "queue-depth", 0, "activator queue depth, 0 = platform default (no scenario)")
	f.DurationVar(&fl.timeout, "timeout", 0, "request timeout while waiting, 0 = platform default (no scenario)")
	addForce(cmd, &fl.force)
	f.IntVar(&fl.maxPods, "max-pods", simulator.DefaultMaxPods, "the platform's capacity: most pods of all functions at once (summary.json reports it when it binds)")
	return cmd
}

func runSim(cmd *cobra.Command, fl *simFlags) error {
	if fl.out == "" {
		return badinput.Wrap(errors.New("sim: --out DIR is required"))
	}
	rows := bench.TimeseriesRows(fl.timeseries)
	if rows != bench.PerFunction && rows != bench.Fleet && rows != bench.NoTimeseries {
		return badinput.Wrap(fmt.Errorf("sim: --timeseries %q, want %s, %s or %s", fl.timeseries, bench.PerFunction, bench.Fleet, bench.NoTimeseries))
	}
	if fl.workers < 1 {
		return badinput.Wrap(fmt.Errorf("sim: --workers %d, want at least 1", fl.workers))
	}
	if fl.maxPods < 1 || fl.maxPods > simulator.DefaultMaxPods {
		return badinput.Errorf("sim: --max-pods %d: want 1 to %d", fl.maxPods, simulator.DefaultMaxPods)
	}
	sc, err := simScenario(cmd, fl)
	if err != nil {
		return badinput.Wrap(err)
	}
	pol, err := bench.ChoosePolicy(sc, fl.policy, fl.set)
	if err != nil {
		return badinput.Wrap(fmt.Errorf("sim: %w", err))
	}
	r := bench.Run{Scenario: sc, Policy: pol, TimeseriesRows: rows}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		r.Progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, dir, err := bench.RunToDir(ctx, bench.Simulator{MaxPods: fl.maxPods, Workers: fl.workers}, r, fl.out, fl.requests, outOptions(cmd, fl.force)...)
	if err != nil {
		return err
	}
	s := res.Summary
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %d requests, %d dropped, %d cold starts (%.4f), p99 %.1f ms, %.1f pod-seconds, %d pod starts, max %d pods; %.0f simulated requests/s → %s\n",
		s.Policy, s.Requests, s.Dropped, s.ColdStarts, s.ColdStartRatio, s.Latency.P99, s.PodSeconds, s.PodStarts, s.MaxPods, s.SimRequestsPerSecond, dir)
	return nil
}

// simScenario loads --scenario or builds a one-function scenario from the
// pattern flags, then applies --seed and --duration.
func simScenario(cmd *cobra.Command, fl *simFlags) (*scenarios.Scenario, error) {
	var sc *scenarios.Scenario
	switch {
	case fl.scenario != "" && fl.pattern != "":
		return nil, errors.New("sim: give --scenario or --pattern, not both")
	case fl.scenario != "":
		for _, name := range []string{"service", "startup", "readiness-period", "concurrency", "queue-depth", "timeout"} {
			if cmd.Flags().Changed(name) {
				return nil, fmt.Errorf("sim: --%s describes the function of --pattern; with --scenario set it in the scenario file", name)
			}
		}
		s, err := scenarios.Load(fl.scenario)
		if err != nil {
			return nil, err
		}
		sc = s
	case fl.pattern != "":
		if fl.duration <= 0 {
			return nil, errors.New("sim: --pattern needs --duration, e.g. --duration 10m")
		}
		s, err := patternScenario(fl)
		if err != nil {
			return nil, err
		}
		sc = s
	default:
		return nil, errors.New("sim: want --scenario FILE or --pattern SPEC --duration D")
	}
	if cmd.Flags().Changed("seed") {
		sc.Seed = fl.seed
	}
	if fl.duration > 0 {
		sc.Duration = fl.duration
	}
	return sc, scenarios.CheckLimits(sc)
}

func patternScenario(fl *simFlags) (*scenarios.Scenario, error) {
	pat, err := traffic.Parse(fl.pattern)
	if err != nil {
		return nil, fmt.Errorf("sim: --pattern: %w", err)
	}
	svc, err := dist.Parse(fl.service)
	if err != nil {
		return nil, fmt.Errorf("sim: --service: %w", err)
	}
	if fl.concurrency < 0 {
		return nil, fmt.Errorf("sim: --concurrency %d, want >= 0", fl.concurrency)
	}
	fn, err := scenarios.DefaultFunction("fn")
	if err != nil {
		return nil, err
	}
	fn.Service, fn.ContainerConcurrency, fn.Startup.ReadinessPeriod = svc, fl.concurrency, fl.readiness
	if fl.startup != "default" {
		d, err := dist.Parse(fl.startup)
		if err != nil {
			return nil, fmt.Errorf("sim: --startup: %w", err)
		}
		fn.Startup = scenarios.Startup{ReadinessPeriod: fl.readiness, AppInit: d}
	}
	return &scenarios.Scenario{
		Name:      "pattern " + pat.String(),
		Duration:  fl.duration,
		Seed:      scenarios.DefaultSeed,
		Traffic:   pat,
		Functions: []scenarios.Function{fn},
		Activator: scenarios.Activator{QueueDepth: fl.queueDepth, Timeout: fl.timeout},
	}, nil
}
