package controller

import (
	"strings"
	"testing"
)

func TestParseAnnotations(t *testing.T) {
	cases := []struct {
		name     string
		ann      map[string]string
		optedIn  bool
		policy   string
		settings map[string]string
		errHas   string
	}{
		{"no class", map[string]string{"autoscaling.knative.dev/target": "10"}, false, "", nil, ""},
		{"someone else's class", map[string]string{ClassAnnotation: "hpa.autoscaling.knative.dev"}, false, "", nil, ""},
		{"scalebench kpa", map[string]string{ClassAnnotation: "kpa"}, true, "kpa", map[string]string{}, ""},
		{"knative's class is the knative policy", map[string]string{ClassAnnotation: KnativeKPAClass}, true, "knative", map[string]string{}, ""},
		{"knative knobs and spellings", map[string]string{
			ClassAnnotation:                            "kpa",
			"autoscaling.knative.dev/target":           "10",
			"autoscaling.knative.dev/window":           "6s",
			"autoscaling.knative.dev/minScale":         "1",
			"autoscaling.knative.dev/max-scale":        "5",
			"autoscaling.scalebench.dev/tick-interval": "1s",
			"app.kubernetes.io/name":                   "ignored",
		}, true, "kpa", map[string]string{"target": "10", "stable-window": "6s", "min-scale": "1", "max-scale": "5", "tick-interval": "1s"}, ""},
		{"container concurrency", map[string]string{ClassAnnotation: "knative", "autoscaling.scalebench.dev/container-concurrency": "4"},
			true, "knative", map[string]string{"container-concurrency": "4"}, ""},
		{"unknown knob", map[string]string{ClassAnnotation: "kpa", "autoscaling.knative.dev/tagret": "10"}, true, "", nil, `no setting "tagret"`},
		{"bad value", map[string]string{ClassAnnotation: "kpa", "autoscaling.knative.dev/window": "2s"}, true, "", nil, "stable-window"},
		{"min above max", map[string]string{ClassAnnotation: "kpa", "autoscaling.knative.dev/min-scale": "5", "autoscaling.knative.dev/max-scale": "2"}, true, "", nil, "min-scale"},
		{"hpa means the real one", map[string]string{ClassAnnotation: "hpa"}, true, "", nil, "HorizontalPodAutoscaler"},
		{"a peer's knobs", map[string]string{ClassAnnotation: "keepalive", "autoscaling.scalebench.dev/keep-alive": "1m"}, true, "keepalive", map[string]string{"keep-alive": "1m"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec, optedIn, err := ParseAnnotations(tc.ann)
			if optedIn != tc.optedIn {
				t.Fatalf("optedIn %v, want %v", optedIn, tc.optedIn)
			}
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error %v, want one containing %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if spec.Policy != tc.policy || len(spec.Settings) != len(tc.settings) {
				t.Fatalf("spec %+v, want policy %s settings %v", spec, tc.policy, tc.settings)
			}
			for k, v := range tc.settings {
				if spec.Settings[k] != v {
					t.Fatalf("setting %s = %q, want %q", k, spec.Settings[k], v)
				}
			}
		})
	}
}

func TestSpecKeyIsOrderFree(t *testing.T) {
	a := Spec{Policy: "kpa", Settings: map[string]string{"a": "1", "b": "2"}}
	b := Spec{Policy: "kpa", Settings: map[string]string{"b": "2", "a": "1"}}
	c := Spec{Policy: "kpa", Settings: map[string]string{"a": "1", "b": "3"}}
	if a.Key() != b.Key() || a.Key() == c.Key() {
		t.Fatalf("keys %q %q %q", a.Key(), b.Key(), c.Key())
	}
}
