package scenarios

import (
	"go.yaml.in/yaml/v3"

	"github.com/scalebench/scalebench/autoscaler"
)

// checkPolicy builds the policy once so that an unknown name or a bad
// setting is reported at the scenario line that wrote it, not minutes into
// a bench.
func checkPolicy(p Policy) error {
	_, err := autoscaler.New(p.Name, p.Settings)
	return err
}

// badSetting finds the first key of a policy's settings mapping that is
// wrong on its own (unknown, or a value the policy refuses), so the error
// can name its line; nil when only the combination is wrong.
func badSetting(policy string, settings *yaml.Node) (*yaml.Node, string, error) {
	if settings == nil || settings.Kind != yaml.MappingNode {
		return nil, "", nil
	}
	for i := 0; i+1 < len(settings.Content); i += 2 {
		k, v := settings.Content[i], settings.Content[i+1]
		if _, err := autoscaler.New(policy, map[string]string{k.Value: v.Value}); err != nil {
			return k, k.Value, err
		}
	}
	return nil, "", nil
}
