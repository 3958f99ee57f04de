package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/gate"
	"github.com/scalebench/scalebench/results"
)

func newGateCmd() *cobra.Command {
	var baseline, current, maxRegress string
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
finds the current distribution stochastically larger at alpha = 0.01.`,
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
			base, err := results.ReadSummaries(baseline)
			if err != nil {
				return badinput.Errorf("gate: %w", err)
			}
			cur, err := results.ReadSummaries(current)
			if err != nil {
				return badinput.Errorf("gate: %w", err)
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
	return cmd
}
