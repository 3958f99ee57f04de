package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/scenarios"
)

func init() {
	root.AddCommand(&cobra.Command{
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
				return badInput(err)
			}
			fmt.Fprintf(w, "%s: %s\n\nSETTING\tDEFAULT\tMEANING\n", args[0], autoscaler.Summary(args[0]))
			for _, s := range settings {
				fmt.Fprintf(w, "%s\t%s\t%s\n", s.Key, s.Default, s.Usage)
			}
			return nil
		},
	})
}

// choosePolicy picks the policy a single-run command (sim, run, calibrate)
// uses: the named one, with the scenario's settings for it when the
// scenario lists it; with no name, the scenario's only policy, or kpa when
// it lists none. --set pairs go over the settings, and the result is
// validated so a bad name or setting fails before any output exists.
func choosePolicy(sc *scenarios.Scenario, name string, sets []string) (scenarios.Policy, error) {
	var pol scenarios.Policy
	switch {
	case name != "":
		pol = scenarios.Policy{Name: name}
		for _, p := range sc.Policies {
			if p.Label == name || p.Label == "" && p.Name == name {
				pol = p
				break
			}
		}
	case len(sc.Policies) == 1:
		pol = sc.Policies[0]
	case len(sc.Policies) > 1:
		names := make([]string, len(sc.Policies))
		for i, p := range sc.Policies {
			names[i] = p.Label
			if names[i] == "" {
				names[i] = p.Name
			}
		}
		return pol, fmt.Errorf("the scenario compares %s; pick one with --policy", strings.Join(names, ", "))
	default:
		pol = scenarios.Policy{Name: "kpa"}
	}
	set, err := autoscaler.ParseSettings(sets)
	if err != nil {
		return pol, fmt.Errorf("--set: %w", err)
	}
	merged := make(map[string]string, len(pol.Settings)+len(set))
	for k, v := range pol.Settings {
		merged[k] = v
	}
	for k, v := range set {
		merged[k] = v
	}
	pol.Settings = merged
	if _, err := autoscaler.New(pol.Name, pol.Settings); err != nil {
		return pol, err
	}
	return pol, nil
}
