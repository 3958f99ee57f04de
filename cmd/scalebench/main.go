// Command scalebench chooses, tunes and guards the autoscaling of serverless
// functions: it replays metrics through autoscaling policies, simulates
// traffic, drives real endpoints and writes comparison reports.
//
// Every subcommand is built by its constructor with fresh flags and
// assembled here; the logic lives in library packages (bench, gate, plan,
// calibrate, simulator, loadgen, platform).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/results"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "scalebench",
		Short: "Choose, tune and guard the autoscaling of serverless functions",
		Long: `scalebench compares serverless autoscalers — its own KPA-style autoscaler,
Knative, the Kubernetes HPA, OpenFaaS CE and Pro, and Lambda-style keep-alive —
on the same traffic, in a discrete-event simulator and on real platforms, and
reports cold starts, latency and cost.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// A mistyped flag is the user's mistake: exit status 2.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badinput.Wrap(err) })
	root.AddCommand(
		newPoliciesCmd(), newDecideCmd(), newSimCmd(), newLoadCmd(), newPlatformCmd(),
		newRunCmd(), newBenchCmd(), newPlanCmd(), newGateCmd(), newCalibrateCmd(),
		newQueueProxyCmd(), newKindCmd(),
		newClusterCmd(), newNodeCmd(), newControllerCmd(), newMetricsAdapterCmd(),
	)
	return root
}

// exitCode is the process exit status for err: 2 for bad input, 1 for any
// other failure (a regression, an infeasible plan, a failed run).
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case badinput.Is(err):
		return 2
	}
	return 1
}

// addForce gives a command that writes --out its --force flag.
func addForce(cmd *cobra.Command, force *bool) {
	cmd.Flags().BoolVar(force, "force", false, "replace --out even if it is not a scalebench output (a file, or a directory holding other files); nothing beside it is touched")
}

// outOptions is how a command's --out is replaced: only a previous
// scalebench output unless --force, with what was cleaned up said on
// stderr. A refusal is bad input (exit 2).
func outOptions(cmd *cobra.Command, force bool) []results.OutOption {
	return []results.OutOption{results.Force(force), results.LogTo(cmd.ErrOrStderr())}
}

// noArgs is cobra.NoArgs as bad input: a stray argument exits 2.
func noArgs(cmd *cobra.Command, args []string) error {
	return badinput.Wrap(cobra.NoArgs(cmd, args))
}

func main() {
	err := newRootCmd().Execute()
	if err == nil {
		return
	}
	var st exitStatus
	if errors.As(err, &st) {
		os.Exit(int(st))
	}
	fmt.Fprintln(os.Stderr, "scalebench:", err)
	os.Exit(exitCode(err))
}
