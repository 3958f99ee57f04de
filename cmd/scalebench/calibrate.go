package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/bench"
	"github.com/scalebench/scalebench/calibrate"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

func newCalibrateCmd() *cobra.Command {
	var fl struct {
		scenario, policy, out, binary, backend string
		kubeconfig                             string
		set                                    []string
		duration                               time.Duration
		probe                                  int
		force                                  bool
	}
	cmd := &cobra.Command{
		Use:   "calibrate --scenario FILE [--policy kpa] [--duration D] [--out DIR]",
		Short: "Run a scenario on a real platform and in the simulator with the platform's measured parameters, and compare",
		Long: `calibrate runs the scenario on a real platform (--backend, the local
platform by default), measures each pod's
start-up (scale-up decision to readiness) and the request path's overhead
(a direct-vs-proxied probe with zero work), simulates the same scenario with
the measured start-ups in place of the scenario's phases (the simulator's
n-th new pod gets the real run's n-th, further pods a draw from their
distribution) and the measured request path added to every service time,
and prints cold starts, p95 latency and pod-seconds: real, simulated and
the difference in percent (target: within 15%). --out DIR receives
calibration.json, the two worlds' time series and their request logs
(local-requests.csv, sim-requests.csv), written atomically.`,
		Example: `  scalebench calibrate --scenario scenarios/library/spike.yaml --policy kpa --duration 90s --out out/cal-spike
  scalebench calibrate --scenario scenarios/library/onoff.yaml --policy kpa --duration 2m --backend kubernetes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fl.scenario == "" {
				return badinput.Wrap(errors.New("calibrate: --scenario FILE is required"))
			}
			if fl.duration < 0 || fl.probe < 0 {
				return badinput.Wrap(errors.New("calibrate: --duration and --probe-requests must not be negative"))
			}
			sc, err := scenarios.Load(fl.scenario)
			if err != nil {
				return badinput.Wrap(fmt.Errorf("calibrate: %w", err))
			}
			if fl.duration > 0 {
				sc.Duration = fl.duration
			}
			if err := scenarios.CheckLimits(sc); err != nil {
				return badinput.Wrap(fmt.Errorf("calibrate: %w", err))
			}
			pol, err := bench.ChoosePolicy(sc, fl.policy, fl.set)
			if err != nil {
				return badinput.Wrap(fmt.Errorf("calibrate: %w", err))
			}
			if !slices.Contains(bench.RealBackends(), fl.backend) {
				return badinput.Errorf("calibrate: --backend %q: want %s", fl.backend, strings.Join(bench.RealBackends(), " or "))
			}
			ff := fnFlags{binary: fl.binary}
			bin, err := ff.fnBinary()
			if err != nil {
				return badinput.Wrap(fmt.Errorf("calibrate: %w", err))
			}
			if err := enterNamespace(fl.backend, fl.kubeconfig); err != nil {
				return err
			}
			real, err := bench.NewReal(fl.backend, bench.Config{FnBinary: bin, Kubeconfig: fl.kubeconfig})
			if err != nil {
				return badinput.Wrap(fmt.Errorf("calibrate: %w", err))
			}
			var od *results.OutDir
			if fl.out != "" {
				if od, err = results.CreateOutDir(fl.out, outOptions(cmd, fl.force)...); err != nil {
					return err
				}
				defer od.Abort()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			copts := calibrate.Options{ProbeRequests: fl.probe, Progress: cmd.ErrOrStderr(), Log: cmd.ErrOrStderr()}
			var logs []*os.File
			if od != nil {
				lr, sr, err := calibrate.CreateRequestLogs(od.Path(""))
				if err != nil {
					return err
				}
				logs = []*os.File{lr, sr}
				defer func() {
					for _, f := range logs {
						f.Close()
					}
				}()
				copts.LocalRequests, copts.SimRequests = lr, sr
			}
			res, err := calibrate.Run(ctx, real, sc, pol, copts)
			if err != nil {
				return fmt.Errorf("calibrate: %w", err)
			}
			for _, f := range logs {
				if err := f.Close(); err != nil {
					return fmt.Errorf("calibrate: %w", err)
				}
			}
			logs = nil
			out := cmd.OutOrStdout()
			if err := res.WriteText(out); err != nil {
				return err
			}
			if od != nil {
				if err := res.WriteDir(od.Path("")); err != nil {
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
	addForce(cmd, &fl.force)
	f.StringVar(&fl.backend, "backend", "local", "real platform to compare the simulator with: "+strings.Join(bench.RealBackends(), ", "))
	f.StringVar(&fl.kubeconfig, "kubeconfig", "", "kubernetes backend: an existing cluster's kubeconfig (default $KUBECONFIG; neither: the project's own control plane)")
	f.StringVar(&fl.binary, "fn-binary", "", "cmd/fn executable (default: fn beside this binary, else bin/fn)")
	f.IntVar(&fl.probe, "probe-requests", 400, "requests each way in the overhead probe")
	return cmd
}
