package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/calibrate"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/simulator"
)

func init() {
	var fl struct {
		scenario, policy, out, binary string
		set                           []string
		duration                      time.Duration
		probe                         int
	}
	cmd := &cobra.Command{
		Use:   "calibrate --scenario FILE [--policy kpa] [--duration D] [--out DIR]",
		Short: "Run a scenario on the local platform and in the simulator with the platform's measured parameters, and compare",
		Long: `calibrate runs the scenario on the local platform, measures each pod's
start-up (scale-up decision to readiness) and the request path's overhead
(a direct-vs-proxied probe with zero work), simulates the same scenario with
the measured start-up in place of the scenario's phases and the measured
request path added to every service time, and prints cold starts, p95
latency and pod-seconds: local, simulated and the difference in percent
(target: within 15%). --out DIR receives calibration.json, written
atomically.`,
		Example: `  scalebench calibrate --scenario scenarios/library/spike.yaml --duration 90s --out out/cal-spike`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fl.scenario == "" {
				return badInput(errors.New("calibrate: --scenario FILE is required"))
			}
			if fl.duration < 0 || fl.probe < 0 {
				return badInput(errors.New("calibrate: --duration and --probe-requests must not be negative"))
			}
			sc, err := scenarios.Load(fl.scenario)
			if err != nil {
				return badInput(fmt.Errorf("calibrate: %w", err))
			}
			if fl.duration > 0 {
				sc.Duration = fl.duration
			}
			if err := scenarios.CheckLimits(sc); err != nil {
				return badInput(fmt.Errorf("calibrate: %w", err))
			}
			pol, err := choosePolicy(sc, fl.policy, fl.set)
			if err != nil {
				return badInput(fmt.Errorf("calibrate: %w", err))
			}
			ff := fnFlags{binary: fl.binary}
			bin, err := ff.fnBinary()
			if err != nil {
				return badInput(fmt.Errorf("calibrate: %w", err))
			}
			var od *results.OutDir
			if fl.out != "" {
				if od, err = results.CreateOutDir(fl.out); err != nil {
					return err
				}
				defer od.Abort()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := calibrate.Run(ctx, sc, pol, calibrate.Options{FnBinary: bin, ProbeRequests: fl.probe,
				Progress: cmd.ErrOrStderr(), Log: cmd.ErrOrStderr()})
			if err != nil {
				var ie *simulator.InputError
				if errors.As(err, &ie) {
					return badInput(fmt.Errorf("calibrate: %w", err))
				}
				return fmt.Errorf("calibrate: %w", err)
			}
			out := cmd.OutOrStdout()
			m := res.Measured
			fmt.Fprintf(out, "\n%s under %s, %s of traffic\n", res.Scenario, res.Policy, sc.Duration)
			fmt.Fprintf(out, "pod start-up (decision → ready), %d pods: p10 %.1f ms, p50 %.1f ms, p90 %.1f ms, max %.1f ms (before exec p50 %.1f ms; fn process start + init + readiness p50 %.1f ms)\n",
				m.Startup.N, m.Startup.P10, m.Startup.P50, m.Startup.P90, m.Startup.Max, m.Delay.P50, m.Process.P50)
			fmt.Fprintf(out, "request path, zero work: direct p50 %.3f ms p99 %.3f ms; via activator+queue-proxy p50 %.3f ms p99 %.3f ms; added p50 %.3f ms p99 %.3f ms\n\n",
				m.Direct.P50, m.Direct.P99, m.Proxied.P50, m.Proxied.P99, m.Overhead.P50, m.Overhead.P99)
			if err := res.WriteTable(out); err != nil {
				return err
			}
			if od != nil {
				if err := results.WriteJSON(od.Path("calibration.json"), res); err != nil {
					return err
				}
				if err := res.WriteSeries(od.Path("")); err != nil {
					return err
				}
				if err := od.Commit(); err != nil {
					return err
				}
				fmt.Fprintf(out, "→ %s\n", od.Final())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.scenario, "scenario", "", "scenario YAML file")
	f.StringVar(&fl.policy, "policy", "", "autoscaler (default: the scenario's only policy, else kpa)")
	f.StringArrayVar(&fl.set, "set", nil, "policy setting key=value (repeatable)")
	f.DurationVar(&fl.duration, "duration", 0, "traffic length (overrides the scenario's, to keep a real run short)")
	f.StringVar(&fl.out, "out", "", "output directory for calibration.json and the two worlds' time series (written atomically)")
	f.StringVar(&fl.binary, "fn-binary", "", "cmd/fn executable (default: fn beside this binary, else bin/fn)")
	f.IntVar(&fl.probe, "probe-requests", 400, "requests each way in the overhead probe")
	root.AddCommand(cmd)
}
