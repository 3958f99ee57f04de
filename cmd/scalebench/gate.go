package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/gate"
)

func newGateCmd() *cobra.Command {
	var baseline, current, maxRegress string
	var opt gate.Options
	cmd := &cobra.Command{
		Use:   "gate --baseline OLD.json --current NEW.json",
		Short: "Fail when a summary.json regressed beyond the allowed bounds",
		Long: `gate compares two summary.json files — a single run from sim, load or run,
or a bench's multi-run summary — and exits 0 when every bounded metric is
within bounds, 1 with a table of what regressed, 2 for unusable input.

--max-regress takes metric=bound pairs: a percentage (10%) allows that much
growth over the baseline, a plain number that much absolute growth.

Simulated runs are deterministic, so their numbers are compared directly.
Measured runs (kind load or run) are noisy: a latency metric there counts as
regressed only when it exceeds its bound AND a one-sided Mann–Whitney U test
on the two latency histograms (normal approximation with tie correction)
finds the current distribution stochastically larger at alpha = 0.01.

Runs are paired by scenario, policy and backend. A pair that differs in kind
(sim against load or run), scenario, policy, seed or duration compares nothing
and is refused (exit 2) unless --allow-mismatch is given; a run that was
aborted (interrupted, or its load generator fell behind) is refused unless
--allow-aborted is given. Allowed, they are gated with a warning on stderr and
a note in the table. A summary holding a value no run can have (a negative
pod_seconds, a ratio above 1, more completed requests than requests) is
refused always.`,
		Example: `  scalebench gate --baseline main/summary.json --current pr/summary.json
  scalebench gate --baseline main/summary.json --current pr/summary.json \
      --max-regress 'cold_latency_ms.p95=10%,cold_start_ratio=10%'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if baseline == "" || current == "" {
				return badinput.Wrap(errors.New("gate: --baseline and --current are required"))
			}
			bounds, err := gate.ParseBounds(maxRegress)
			if err != nil {
				return err
			}
			base, err := gate.Load(baseline)
			if err != nil {
				return badinput.Errorf("gate: %w", err)
			}
			cur, err := gate.Load(current)
			if err != nil {
				return badinput.Errorf("gate: %w", err)
			}
			warnings, err := gate.Match(base, cur, opt)
			if err != nil {
				return badinput.Errorf("gate: %s against %s: %w", current, baseline, err)
			}
			for _, w := range warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "gate: warning:", w)
			}
			rows, failed := gate.Check(base, cur, bounds)
			if err := gate.WriteTable(cmd.OutOrStdout(), rows); err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("gate: %d regression(s) beyond bounds", failed)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "gate: within bounds")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&baseline, "baseline", "", "baseline summary.json")
	f.StringVar(&current, "current", "", "current summary.json")
	f.StringVar(&maxRegress, "max-regress", gate.DefaultBounds, "allowed growth per metric: metric=10% or metric=absolute")
	f.BoolVar(&opt.AllowMismatch, "allow-mismatch", false, "gate paired runs that differ in kind, scenario, policy, seed or duration (with a warning)")
	f.BoolVar(&opt.AllowAborted, "allow-aborted", false, "gate runs that were aborted or interrupted (with a warning)")
	return cmd
}
