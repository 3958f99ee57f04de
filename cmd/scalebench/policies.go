package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/badinput"
)

func newPoliciesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "policies [NAME]",
		Short: "List the autoscaling policies, or one policy's settings and defaults",
		Example: `  scalebench policies
  scalebench policies knative`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			defer w.Flush()
			if len(args) == 0 {
				for _, n := range autoscaler.Names() {
					fmt.Fprintf(w, "%s\t%s\n", n, autoscaler.Summary(n))
				}
				return nil
			}
			settings, err := autoscaler.Settings(args[0])
			if err != nil {
				return badinput.Wrap(err)
			}
			fmt.Fprintf(w, "%s: %s\n\nSETTING\tDEFAULT\tMEANING\n", args[0], autoscaler.Summary(args[0]))
			for _, s := range settings {
				fmt.Fprintf(w, "%s\t%s\t%s\n", s.Key, s.Default, s.Usage)
			}
			return nil
		},
	}
}
