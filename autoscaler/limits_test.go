package autoscaler

import (
	"strings"
	"testing"
)

// TestSettingsBounded: every setting that sizes work is refused beyond
// MaxPods, and no float setting takes NaN or an infinity.
func TestSettingsBounded(t *testing.T) {
	cases := []struct {
		name, policy string
		set          map[string]string
		want, never  string
	}{
		{name: "knative target NaN", policy: "knative", set: map[string]string{"target": "NaN"}, want: "finite number"},
		{name: "kpa target Inf", policy: "kpa", set: map[string]string{"target": "Inf"}, want: "finite number"},
		{name: "kpa target -Inf", policy: "kpa", set: map[string]string{"target": "-Inf"}, want: "finite number"},
		{name: "knative burst capacity NaN", policy: "knative", set: map[string]string{"target-burst-capacity": "nan"}, want: "finite number"},
		{name: "knative min-scale 1e8", policy: "knative", set: map[string]string{"min-scale": "100000000"}, want: "at most 100000"},
		{name: "kpa max-scale 1e8", policy: "kpa", set: map[string]string{"max-scale": "100000000"}, want: "at most 100000"},
		{name: "knative initial-scale 1e8", policy: "knative", set: map[string]string{"initial-scale": "100000000"}, want: "initial-scale must be 1 to 100000"},
		{name: "knative activation-scale 1e8", policy: "knative", set: map[string]string{"activation-scale": "100000000"}, want: "activation-scale must be 1 to 100000"},
		{name: "keepalive min=max=1e8", policy: "keepalive", set: map[string]string{"min": "100000000", "max": "100000000"}, want: "at most 100000"},
		{name: "openfaas-pro min=max=1e8", policy: "openfaas-pro", set: map[string]string{"min": "100000000", "max": "100000000"}, want: "at most 100000"},
		{name: "openfaas-ce max 1e8 without the cap", policy: "openfaas-ce", set: map[string]string{"max": "100000000", "ce-limit": "0"}, want: "at most 100000"},
		{name: "hpa max-replicas 1e8", policy: "hpa", set: map[string]string{"max-replicas": "100000000"}, want: "at most 100000"},
		{name: "hpa target NaN", policy: "hpa", set: map[string]string{"metric": "concurrency", "target": "NaN"}, want: "finite number"},
		// max below min is the whole story: no second line about the cap.
		{name: "openfaas-ce max -5", policy: "openfaas-ce", set: map[string]string{"max": "-5"}, want: "max must be at least min", never: "CE cap"},
		{name: "openfaas-ce min above the cap", policy: "openfaas-ce", set: map[string]string{"min": "6", "max": "10"}, want: "min 6 is above the CE cap of 5 replicas"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.policy, tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.never != "" && strings.Contains(err.Error(), tc.never) {
				t.Errorf("error %q mentions %q", err, tc.never)
			}
		})
	}
	for _, name := range []string{"kpa", "knative", "keepalive", "openfaas-pro", "openfaas-ce", "hpa"} {
		if _, err := New(name, nil); err != nil {
			t.Errorf("%s defaults refused: %v", name, err)
		}
	}
}
