package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/bench"
)

func newBenchCmd() *cobra.Command {
	var (
		suite, out, backend string
		kubeconfig, kindNS  string
		real                int
		realScenarios       string
		realPolicies        string
		workers             int
		realDuration        time.Duration
		force               bool
	)
	cmd := &cobra.Command{
		Use:   "bench --suite DIR|FILE --out DIR",
		Short: "Run a scenario suite under every policy and write a comparison report",
		Long: `bench runs every scenario of a suite (each *.yaml in --suite) in the
simulator under every policy the scenario names, and --real of them for real
on --backend, then writes report.html, report.md and summary.json into --out.
The output directory appears only when the whole report is written.`,
		Example: `  scalebench bench --suite scenarios/library --out out/bench            # what make bench runs
  scalebench bench --suite scenarios/library --real 0 --out out/sim      # simulation only, seconds
  scalebench bench --suite my-scenarios --real 1 --real-scenarios spike --real-policies kpa,knative --out out/mine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if suite == "" || out == "" {
				return badinput.Wrap(errors.New("bench: --suite and --out are required"))
			}
			if workers < 1 {
				return badinput.Wrap(fmt.Errorf("bench: --workers %d, want at least 1", workers))
			}
			if real < 0 {
				return badinput.Wrap(fmt.Errorf("bench: --real %d, want 0 or more", real))
			}
			opt := bench.SuiteOptions{
				Suite: suite, Out: out, Workers: workers, Real: real,
				RealScenarios: splitList(realScenarios), RealPolicies: splitList(realPolicies), RealDuration: realDuration,
				Progress: cmd.ErrOrStderr(), Command: strings.Join(os.Args, " "),
				OutOptions: outOptions(cmd, force),
			}
			if real > 0 {
				if err := enterNamespace(backend, kubeconfig); err != nil {
					return err
				}
				b, err := bench.NewReal(backend, bench.Config{FnBinary: fnBesideExecutable(), Kubeconfig: kubeconfig, Namespace: kindNS})
				if err != nil {
					return badinput.Wrap(fmt.Errorf("bench: %w", err))
				}
				opt.Backend = b
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			res, err := bench.RunSuite(ctx, opt)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", filepath.Join(res.Dir, "report.html"))
			fmt.Fprintf(cmd.OutOrStdout(), "        %s, %s (%s)\n", filepath.Join(res.Dir, "report.md"),
				filepath.Join(res.Dir, "summary.json"), res.Elapsed.Round(time.Second))
			if res.Failed > 0 {
				return fmt.Errorf("bench: %d run(s) failed; see the report", res.Failed)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&suite, "suite", "", "directory of scenario files (*.yaml), or one scenario file")
	f.StringVar(&out, "out", "", "directory to write the report into (replaced atomically)")
	addForce(cmd, &force)
	f.StringVar(&backend, "backend", "local", "backend for the real runs: "+strings.Join(bench.RealBackends(), ", "))
	f.IntVar(&real, "real", 2, "how many scenarios also run for real on --backend")
	f.StringVar(&kubeconfig, "kubeconfig", "", "cluster backends: kubeconfig file (default $KUBECONFIG; kind: then ~/.kube/config; kubernetes: else the project's own control plane, brought up per run)")
	f.StringVar(&kindNS, "kind-namespace", "", "kind backend: namespace of the targets kind manifests deployed (default scalebench-bench)")
	f.StringVar(&realScenarios, "real-scenarios", "onoff,spike", "which scenarios run for real, in order of preference")
	f.StringVar(&realPolicies, "real-policies", "kpa,keepalive", "policies the real runs use (real time is the bench's budget)")
	f.DurationVar(&realDuration, "real-duration", 130*time.Second, "real runs stop after this much of the scenario (real time is the budget; the default covers the library's spike and onoff's second burst)")
	f.IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "simulations run in parallel")
	return cmd
}

// fnBesideExecutable is where make build puts cmd/fn: beside scalebench.
func fnBesideExecutable() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(exe), "fn")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
