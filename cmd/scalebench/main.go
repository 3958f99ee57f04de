// Command scalebench chooses, tunes and guards the autoscaling of serverless
// functions: it replays metrics through autoscaling policies, simulates
// traffic, drives real endpoints and writes comparison reports.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// root is the scalebench command; each subcommand file adds itself in init.
var root = &cobra.Command{
	Use:   "scalebench",
	Short: "Choose, tune and guard the autoscaling of serverless functions",
	Long: `scalebench compares serverless autoscalers — its own KPA-style autoscaler,
Knative, the Kubernetes HPA, OpenFaaS CE and Pro, and Lambda-style keep-alive —
on the same traffic, in a discrete-event simulator and on real platforms, and
reports cold starts, latency and cost.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

// exitError carries the process exit status for an error: 2 for bad input
// (a malformed file or flag), 1 for a failed check, anything else as given.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// badInput marks err as the user's mistake: exit status 2.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: 2, err: err}
}

func main() {
	root.AddCommand(newQueueProxyCmd(), newKindCmd())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	err := root.Execute()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "scalebench:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(1)
}
