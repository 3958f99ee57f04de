package autoscaler

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// entry registers one policy: its one-line summary and a constructor that
// returns the policy's params (bound to a fresh default config) and a build
// function that validates the config and makes the policy.
type entry struct {
	summary string
	make    func() ([]param, func() (Policy, error))
}

var registry = map[string]entry{}

func register(name, summary string, make func() ([]param, func() (Policy, error))) {
	registry[name] = entry{summary: summary, make: make}
}

// Names lists the registered policies in a stable order.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		return order(out[i]) < order(out[j]) || order(out[i]) == order(out[j]) && out[i] < out[j]
	})
	return out
}

// order puts the project's own policy first, then the peers as the README
// lists them.
func order(name string) int {
	for i, n := range []string{"kpa", "knative", "hpa", "openfaas-ce", "openfaas-pro", "keepalive"} {
		if n == name {
			return i
		}
	}
	return 100
}

// Summary is a policy's one-line description.
func Summary(name string) string { return registry[name].summary }

// New makes the named policy with settings applied over its defaults.
func New(name string, settings map[string]string) (Policy, error) {
	e, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown policy %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	params, build := e.make()
	if err := applySettings(name, params, settings); err != nil {
		return nil, err
	}
	p, err := build()
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	return p, nil
}

// Settings lists the named policy's knobs with their defaults.
func Settings(name string) ([]Setting, error) {
	e, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown policy %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	params, _ := e.make()
	return describe(params), nil
}

// Revision is what the platform knows about a revision that a policy may
// need: Knative's KPA derives its target from containerConcurrency, as the
// revision spec gives it.
type Revision struct {
	ContainerConcurrency int
}

// NewForRevision is New for a concrete revision: a policy with a
// container-concurrency setting gets the revision's limit unless the
// settings already name one. Every world makes its policies through it, so
// the same scenario configures a policy the same way everywhere.
func NewForRevision(name string, settings map[string]string, rev Revision) (Policy, error) {
	if _, set := settings["container-concurrency"]; set || rev.ContainerConcurrency <= 0 {
		return New(name, settings)
	}
	known, err := Settings(name)
	if err != nil {
		return nil, err
	}
	for _, s := range known {
		if s.Key == "container-concurrency" {
			withCC := make(map[string]string, len(settings)+1)
			for k, v := range settings {
				withCC[k] = v
			}
			withCC["container-concurrency"] = strconv.Itoa(rev.ContainerConcurrency)
			return New(name, withCC)
		}
	}
	return New(name, settings)
}
