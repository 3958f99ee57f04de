package controller

import (
	"testing"

	"github.com/scalebench/scalebench/autoscaler"
)

// FuzzParseAnnotations: annotations are user input. Whatever they say, the
// parser does not panic, and a spec it accepts builds its policy.
func FuzzParseAnnotations(f *testing.F) {
	f.Add("kpa", "autoscaling.knative.dev/target", "10")
	f.Add("kpa.autoscaling.knative.dev", "autoscaling.knative.dev/window", "6s")
	f.Add("keepalive", "autoscaling.scalebench.dev/keep-alive", "1m")
	f.Add("hpa", "autoscaling.knative.dev/min-scale", "1")
	f.Add("knative", "autoscaling.knative.dev/minScale", "-1")
	f.Fuzz(func(t *testing.T, class, key, value string) {
		spec, optedIn, err := ParseAnnotations(map[string]string{ClassAnnotation: class, key: value})
		if !optedIn || err != nil {
			return
		}
		if _, err := autoscaler.New(spec.Policy, spec.Settings); err != nil {
			t.Fatalf("accepted %q=%q under class %q, but the policy does not build: %v", key, value, class, err)
		}
	})
}
