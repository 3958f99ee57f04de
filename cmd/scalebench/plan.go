package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/plan"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

type planFlags struct {
	scenario, slo, policy, out, cost string
	seed                             int64
	budget, workers                  int
	force                            bool
	rollout                          bool
}

// errInfeasible is the exit-1 outcome: the plan ran, no setting met the SLO.
var errInfeasible = errors.New("plan: no setting meets the SLO")

// newPlanCmd builds the command with fresh flags, so tests can run it
// more than once.
func newPlanCmd() *cobra.Command {
	var fl planFlags
	cmd := &cobra.Command{
		Use:   "plan --scenario FILE [--slo 'p99<=300ms,cold_start_ratio<=0.01'] [--policy kpa] [--out DIR]",
		Short: "Find the cheapest autoscaler settings that meet an SLO, by simulation",
		Long: `plan searches an autoscaler's settings (per-pod target, stable window, panic
threshold, min-scale and scale-to-zero pod retention; keep-alive and min for
keepalive) by simulating the scenario, and prints the cheapest settings that
meet the SLO, the expected pod-hours per day and peak pods, the margin to each
SLO, how cost changes at 2, 5 and 10 times the traffic, and the settings as
Knative annotations. The SLO comes from --slo, else the scenario's slos.

Exit status: 0 with a plan, 1 when no setting met the SLO (the closest are
printed), 2 for bad input. With --out, DIR/plan.json holds every candidate
evaluated and DIR/plan.md the report.

With --rollout, plan instead simulates the scenario's rollout step as an
instant switch and with each of several rollout-durations (30s to 10m), each
alone and with the new revision given an initial scale (1, doubling, half
and all of the old revision's pods, with and without min-scale to hold it),
and recommends the cheapest that meets the SLO, with the Knative annotations
that make it; it also names the shortest rollout-duration and the smallest
initial scale that meet it (DIR/rollout-plan.json and rollout-plan.md).`,
		Example: `  scalebench plan --scenario scenarios/library/onoff.yaml
  scalebench plan --scenario scenarios/library/rollout-bluegreen.yaml --policy knative --rollout --slo 'cold_starts<=10,p99<=1s'
  scalebench plan --scenario scenarios/library/steady.yaml --slo 'p99<=300ms,cold_start_ratio<=0.01' --out out/plan-steady`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runPlan(ctx, cmd, &fl, cmd.OutOrStdout(), os.Stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.scenario, "scenario", "", "scenario YAML file (required)")
	f.StringVar(&fl.slo, "slo", "", "objectives, comma-separated, e.g. 'p99<=300ms,cold_start_ratio<=0.01' (default: the scenario's slos)")
	f.StringVar(&fl.policy, "policy", "kpa", "autoscaler to plan: "+strings.Join(plan.Policies(), ", "))
	f.StringVar(&fl.out, "out", "", "output directory for plan.json and plan.md (written atomically)")
	addForce(cmd, &fl.force)
	f.StringVar(&fl.cost, "cost", string(plan.PodSeconds), "what to minimise: pod-seconds or gb-seconds (memory-weighted)")
	f.Int64Var(&fl.seed, "seed", 0, "random seed (default: the scenario's)")
	f.IntVar(&fl.budget, "budget", plan.DefaultBudget, "most simulations for the whole plan, traffic scales included")
	f.IntVar(&fl.workers, "workers", runtime.NumCPU(), "simulate on this many goroutines, shared by candidates and their functions (the plan does not depend on it)")
	f.BoolVar(&fl.rollout, "rollout", false, "recommend how to make the scenario's rollout (a rollout-duration, an initial scale for the new revision, or both) instead of autoscaler settings")
	// Set here too, so the command run on its own (tests) maps flag
	// mistakes to exit status 2 as under the root.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badinput.Wrap(err) })
	return cmd
}

func runPlan(ctx context.Context, cmd *cobra.Command, fl *planFlags, stdout io.Writer, stderr *os.File) error {
	sc, opt, err := planInput(cmd, fl)
	if err != nil {
		return badinput.Wrap(err)
	}
	// Create the directory before the search so an unwritable --out fails
	// in a second, not after minutes of simulation.
	var od *results.OutDir
	if fl.out != "" {
		if od, err = results.CreateOutDir(fl.out, outOptions(cmd, fl.force)...); err != nil {
			return err
		}
		defer od.Abort()
	}
	var bar *planProgress
	if stderr != nil && term.IsTerminal(int(stderr.Fd())) {
		bar = &planProgress{w: stderr, begin: time.Now()}
		opt.Progress = bar.show
	}
	if fl.rollout {
		return runRolloutPlan(ctx, sc, opt, od, bar, stdout)
	}
	p, err := plan.Run(ctx, sc, opt)
	bar.clear()
	if err != nil {
		return err
	}
	if err := plan.WriteText(stdout, p); err != nil {
		return err
	}
	if od != nil {
		if err := plan.WriteDir(od.Path(""), p); err != nil {
			return err
		}
		if err := od.Commit(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nPlan written to %s\n", od.Final())
	}
	if !p.Feasible {
		return errInfeasible
	}
	return nil
}

// runRolloutPlan is plan --rollout: the library call, its text and files.
func runRolloutPlan(ctx context.Context, sc *scenarios.Scenario, opt plan.Options, od *results.OutDir, bar *planProgress, stdout io.Writer) error {
	opt.Workers = 2
	p, err := plan.PlanRollout(ctx, sc, opt)
	bar.clear()
	if err != nil {
		return err
	}
	if err := plan.WriteRolloutText(stdout, p); err != nil {
		return err
	}
	if od != nil {
		if err := plan.WriteRolloutDir(od.Path(""), p); err != nil {
			return err
		}
		if err := od.Commit(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nPlan written to %s\n", od.Final())
	}
	if p.Choice == nil {
		return errInfeasible
	}
	return nil
}

// planInput checks every flag before anything runs, so bad input costs no
// simulation and leaves no directory.
func planInput(cmd *cobra.Command, fl *planFlags) (*scenarios.Scenario, plan.Options, error) {
	opt := plan.Options{Policy: fl.policy, Budget: fl.budget, Cost: plan.CostUnit(fl.cost), Workers: fl.workers}
	if fl.scenario == "" {
		return nil, opt, errors.New("plan: --scenario FILE is required")
	}
	if fl.workers < 1 {
		return nil, opt, fmt.Errorf("plan: --workers %d, want at least 1", fl.workers)
	}
	if fl.budget < 1 {
		return nil, opt, fmt.Errorf("plan: --budget %d, want at least 1 simulation", fl.budget)
	}
	if opt.Cost != plan.PodSeconds && opt.Cost != plan.GBSeconds {
		return nil, opt, fmt.Errorf("plan: --cost %q, want %s or %s", fl.cost, plan.PodSeconds, plan.GBSeconds)
	}
	known := false
	for _, p := range plan.Policies() {
		known = known || p == fl.policy
	}
	if !known {
		return nil, opt, fmt.Errorf("plan: --policy %q, want one of %s", fl.policy, strings.Join(plan.Policies(), ", "))
	}
	sc, err := scenarios.Load(fl.scenario)
	if err != nil {
		return nil, opt, err
	}
	if cmd.Flags().Changed("seed") {
		sc.Seed = fl.seed
	}
	opt.SLOs = sc.SLOs
	if cmd.Flags().Changed("slo") {
		if opt.SLOs, err = results.ParseSLOs(fl.slo); err != nil {
			return nil, opt, fmt.Errorf("plan: --slo: %w", err)
		}
	}
	if len(opt.SLOs) == 0 {
		return nil, opt, fmt.Errorf("plan: %s lists no slos; give --slo, e.g. --slo 'p99<=300ms,cold_start_ratio<=0.01'", fl.scenario)
	}
	return sc, opt, nil
}

// planProgress rewrites one status line on a terminal.
type planProgress struct {
	mu    sync.Mutex
	w     io.Writer
	begin time.Time
	last  time.Time
}

func (p *planProgress) show(done, budget int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || done == budget {
		p.last = now
		fmt.Fprintf(p.w, "\r\033[Kplan: %d of at most %d simulations (%s)", done, budget, time.Since(p.begin).Round(time.Second))
	}
}

func (p *planProgress) clear() {
	if p != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
