package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/autoscaler/replay"
	"github.com/scalebench/scalebench/badinput"
)

func newDecideCmd() *cobra.Command {
	var (
		policy string
		sets   []string
		input  string
	)
	cmd := &cobra.Command{
		Use:   "decide --policy NAME [--set key=value ...] --input series.csv",
		Short: "Replay a per-second metric series through a policy and print its decisions",
		Long: `decide answers "what would this autoscaler have done with my production
metrics?". It reads a per-second series — CSV with the header t,concurrency,ready
(t in whole seconds, concurrency = revision-wide in-flight requests averaged over
that second, ready = ready pods) and optional rps, max_concurrency and cpu
columns — and drives the policy through it open loop: ready pods come from the
series, not from the policy's own decisions.

It writes CSV to stdout, one row per tick (t = 0, 2, 4, ... for the KPA; every
policy ticks at its own interval), each after that second's stat is recorded,
plus a row when a stat pokes the policy between ticks (scale from zero):

  t,recommended,desired,panic,stable,panic_concurrency,ebc

recommended is the windowed decision before min/max and scale-to-zero handling
(empty while the policy has no data), desired what the policy would set, panic
0/1, stable and panic_concurrency the two window averages, ebc the excess burst
capacity (negative: the activator stays in the request path).

A malformed series is reported as file:line and exits with status 2, with
nothing written to stdout.`,
		Example: `  scalebench decide --policy knative --input prod-metrics.csv
  scalebench decide --policy kpa --set stable-window=30s --set target=50 --input - < metrics.csv
  scalebench decide --policy hpa --set metric=concurrency,target=50 --input metrics.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if input == "" {
				return badinput.Wrap(fmt.Errorf("--input is required (a CSV file, or - for stdin)"))
			}
			settings, err := autoscaler.ParseSettings(sets)
			if err != nil {
				return badinput.Wrap(fmt.Errorf("--set: %w", err))
			}
			p, err := autoscaler.New(policy, settings)
			if err != nil {
				return badinput.Wrap(err)
			}
			var r io.Reader = os.Stdin
			name := "stdin"
			if input != "-" {
				f, err := os.Open(input)
				if err != nil {
					return badinput.Wrap(err)
				}
				defer f.Close()
				r, name = f, input
			}
			series, err := replay.ParseSeries(name, r)
			if err != nil {
				return badinput.Wrap(err)
			}
			// Decide everything before printing, so a failure leaves no
			// partial output.
			var out bytes.Buffer
			if err := replay.Run(cmd.Context(), p, series, &out); err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out.Bytes())
			return err
		},
	}
	cmd.Flags().StringVar(&policy, "policy", "kpa", "policy name (see scalebench policies)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "policy setting key=value (repeatable, or comma-separated)")
	cmd.Flags().StringVar(&input, "input", "", "per-second series CSV (- for stdin)")
	return cmd
}
