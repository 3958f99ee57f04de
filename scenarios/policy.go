package scenarios

import "github.com/scalebench/scalebench/autoscaler"

// checkPolicy builds the policy once so that an unknown name or a bad
// setting is reported at the scenario line that wrote it, not minutes into
// a bench.
func checkPolicy(p Policy) error {
	_, err := autoscaler.New(p.Name, p.Settings)
	return err
}
