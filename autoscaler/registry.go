package autoscaler

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// RequestPath is the platform request path a policy belongs to: what
// happens to a request that finds no pod with a free slot. The platforms
// differ here as much as in their autoscalers, so a policy declares its
// path when it is registered and every world routes by that declaration,
// never by the policy's name.
type RequestPath uint8

const (
	// PathActivator is Knative's: while the activator is in the path, or
	// no pod is ready, it buffers the request (bounded queue, revision
	// timeout); otherwise the request queues at the pods' queue-proxies.
	PathActivator RequestPath = iota
	// PathGateway is OpenFaaS's: with no ready replica the gateway holds
	// the request and polls for one every 100 ms; otherwise it queues at
	// the pods. The gateway's upstream timeout is 60 s.
	PathGateway
	// PathDirect has no activator, as a Deployment behind a Service scaled
	// by the Kubernetes HPA: with no ready pod the Service has no endpoints
	// and the request is refused; otherwise it queues at the pods.
	PathDirect
	// PathLambda is AWS Lambda's: a request that finds no idle instance is
	// bound to a new instance and waits for exactly that one, an idle
	// request goes to the most recently used idle instance, and each
	// instance is retired keep-alive after its last request. The platform,
	// not Tick, sizes the revision, so a policy on this path implements
	// InstancePolicy to give the platform its keep-alive and limits.
	PathLambda
)

func (p RequestPath) String() string {
	if p > PathLambda {
		return "RequestPath(" + strconv.Itoa(int(p)) + ")"
	}
	return [...]string{"activator", "gateway", "direct", "lambda"}[p]
}

// entry registers one policy: its one-line summary, its request path and
// a constructor. Built-in policies give make, which returns the policy's
// params (bound to a fresh default config) and a build function that
// validates the config and makes the policy; a policy added with Register
// gives newPolicy, which takes the settings as they are.
type entry struct {
	summary   string
	path      RequestPath
	make      func() ([]param, func() (Policy, error))
	newPolicy func(settings map[string]string) (Policy, error)
}

var (
	// registryMu guards registry: runs make policies from many goroutines
	// while a program may still Register its own.
	registryMu sync.RWMutex
	registry   = map[string]entry{}
)

func register(name string, path RequestPath, summary string, make func() ([]param, func() (Policy, error))) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = entry{summary: summary, path: path, make: make}
}

// Register adds a caller's own policy under name, on the request path of
// the platform it models; newPolicy makes one revision's instance from
// its settings (--set pairs or a scenario's policy settings) and reports
// bad ones as errors. Once registered, the policy is run, listed and
// routed like a built-in one. Register refuses an empty name, a name
// already taken and an unknown path.
func Register(name, summary string, path RequestPath, newPolicy func(settings map[string]string) (Policy, error)) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("autoscaler: register: empty policy name")
	case newPolicy == nil:
		return fmt.Errorf("autoscaler: register %s: no constructor", name)
	case path > PathLambda:
		return fmt.Errorf("autoscaler: register %s: unknown request path %v", name, path)
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, taken := registry[name]; taken {
		return fmt.Errorf("autoscaler: register %s: a policy of that name exists", name)
	}
	registry[name] = entry{summary: summary, path: path, newPolicy: newPolicy}
	return nil
}

func lookup(name string) (entry, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	e, ok := registry[name]
	return e, ok
}

// PathOf is the request path the named policy declared; ok is false for a
// name that is not registered.
func PathOf(name string) (path RequestPath, ok bool) {
	e, ok := lookup(name)
	return e.path, ok
}

// Names lists the registered policies in a stable order.
func Names() []string {
	registryMu.RLock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	registryMu.RUnlock()
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
func Summary(name string) string {
	e, _ := lookup(name)
	return e.summary
}

// New makes the named policy with settings applied over its defaults.
func New(name string, settings map[string]string) (Policy, error) {
	e, ok := lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown policy %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if e.newPolicy != nil {
		p, err := e.newPolicy(settings)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", name, err)
		}
		return p, nil
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
	e, ok := lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown policy %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if e.make == nil {
		// A registered policy's constructor reads its own settings.
		return nil, nil
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
