package bench

import (
	"fmt"
	"strings"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/scenarios"
)

// ChoosePolicy picks the policy a single run (sim, run, calibrate) uses:
// the named one, with the scenario's settings for it when the scenario
// lists it; with no name, the scenario's only policy, or kpa when it lists
// none. sets (key=value, as --set takes them) go over the settings, and the
// result is validated so a bad name or setting fails before any output
// exists.
func ChoosePolicy(sc *scenarios.Scenario, name string, sets []string) (scenarios.Policy, error) {
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
