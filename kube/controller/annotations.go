package controller

import (
	"fmt"
	"sort"
	"strings"

	"github.com/scalebench/scalebench/autoscaler"
)

// Annotations a Deployment opts in with. The class and the knobs are
// Knative's names, so a user pastes what they know from a Knative Service.
const (
	// ClassAnnotation names the autoscaler. A scalebench policy name (kpa,
	// knative, keepalive, openfaas-ce, openfaas-pro) or Knative's own
	// "kpa.autoscaling.knative.dev" (the knative policy) opts in; any other
	// class belongs to someone else, and the Deployment is left alone.
	ClassAnnotation = "autoscaling.knative.dev/class"
	// KnativePrefix carries the KPA knobs: autoscaling.knative.dev/target,
	// /window, /min-scale, /max-scale, /initial-scale, /metric, ... Keys
	// are the policy's setting names (scalebench policies <name>), with
	// Knative's spellings (window, minScale, maxScale, initialScale)
	// accepted.
	KnativePrefix = "autoscaling.knative.dev/"
	// ScalebenchPrefix carries the settings Knative has no annotation for,
	// by the same setting names: autoscaling.scalebench.dev/container-
	// concurrency (Knative's spec.containerConcurrency, from which the KPA
	// derives its target), the kpa extensions (/idle-histogram, ...),
	// /tick-interval, and the
	// peers' settings.
	ScalebenchPrefix = "autoscaling.scalebench.dev/"
)

// KnativeKPAClass is Knative's class value for its Pod Autoscaler.
const KnativeKPAClass = "kpa.autoscaling.knative.dev"

// knativeAliases maps Knative's annotation spellings that differ from the
// policy's setting names.
var knativeAliases = map[string]string{
	"window":                      "stable-window",
	"minScale":                    "min-scale",
	"maxScale":                    "max-scale",
	"initialScale":                "initial-scale",
	"targetUtilizationPercentage": "target-utilization-percentage",
	"panicWindowPercentage":       "panic-window-percentage",
	"panicThresholdPercentage":    "panic-threshold-percentage",
}

// Spec is what a Deployment's annotations ask of the controller.
type Spec struct {
	Policy   string
	Settings map[string]string
}

// Key is a canonical string of the spec: a Deployment whose key changes
// gets a fresh policy.
func (s Spec) Key() string {
	keys := make([]string, 0, len(s.Settings))
	for k := range s.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(s.Policy)
	for _, k := range keys {
		fmt.Fprintf(&b, ";%s=%s", k, s.Settings[k])
	}
	return b.String()
}

// ParseAnnotations reads a Deployment's annotations. optedIn is false when
// the class is absent or not one of ours; err says which annotation is
// wrong for one that is ours.
func ParseAnnotations(ann map[string]string) (spec Spec, optedIn bool, err error) {
	class, ok := ann[ClassAnnotation]
	if !ok {
		return Spec{}, false, nil
	}
	class = strings.TrimSpace(class)
	switch {
	case class == KnativeKPAClass:
		spec.Policy = "knative"
	case class == "hpa":
		// In a Kubernetes run hpa means the real HPA: the class is ours,
		// so the user hears why nothing happens.
		return Spec{}, true, fmt.Errorf("%s: hpa is kube-controller-manager's own HPA on Kubernetes; create an autoscaling/v2 HorizontalPodAutoscaler on the metrics adapter's concurrency metric instead", ClassAnnotation)
	default:
		known := false
		for _, n := range autoscaler.Names() {
			if n == class {
				known = true
			}
		}
		if !known {
			return Spec{}, false, nil
		}
		spec.Policy = class
	}
	settings, err := autoscaler.Settings(spec.Policy)
	if err != nil {
		return Spec{}, true, err
	}
	has := make(map[string]bool, len(settings))
	for _, s := range settings {
		has[s.Key] = true
	}
	spec.Settings = map[string]string{}
	var problems []string
	for _, k := range sortedKeys(ann) {
		v := strings.TrimSpace(ann[k])
		var key string
		switch {
		case k == ClassAnnotation:
			continue
		case strings.HasPrefix(k, KnativePrefix):
			key = strings.TrimPrefix(k, KnativePrefix)
			if a, ok := knativeAliases[key]; ok {
				key = a
			}
		case strings.HasPrefix(k, ScalebenchPrefix):
			key = strings.TrimPrefix(k, ScalebenchPrefix)
		default:
			continue
		}
		if !has[key] {
			problems = append(problems, fmt.Sprintf("%s: policy %s has no setting %q", k, spec.Policy, key))
			continue
		}
		spec.Settings[key] = v
	}
	if len(problems) > 0 {
		return Spec{}, true, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	// Build once so a bad value is reported now, not at the first tick.
	if _, err := autoscaler.New(spec.Policy, spec.Settings); err != nil {
		return Spec{}, true, err
	}
	return spec, true, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hasSetting reports whether the policy has the setting key.
func hasSetting(policy, key string) bool {
	settings, err := autoscaler.Settings(policy)
	if err != nil {
		return false
	}
	for _, s := range settings {
		if s.Key == key {
			return true
		}
	}
	return false
}
