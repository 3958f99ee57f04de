package bench

import (
	"testing"

	"github.com/scalebench/scalebench/scenarios"
)

func TestChoosePolicy(t *testing.T) {
	two := &scenarios.Scenario{Policies: []scenarios.Policy{
		{Name: "kpa", Label: "kpa", Settings: map[string]string{"stable-window": "30s"}},
		{Name: "knative", Label: "knative-10s", Settings: map[string]string{"stable-window": "10s"}},
	}}
	one := &scenarios.Scenario{Policies: two.Policies[1:]}
	none := &scenarios.Scenario{}
	cases := []struct {
		name     string
		sc       *scenarios.Scenario
		policy   string
		sets     []string
		wantName string
		window   string // the stable-window setting chosen
		bad      bool
	}{
		{"by label keeps the scenario's settings", two, "knative-10s", nil, "knative", "10s", false},
		{"by name", two, "kpa", nil, "kpa", "30s", false},
		{"--set goes over the scenario", two, "kpa", []string{"stable-window=45s"}, "kpa", "45s", false},
		{"the only policy", one, "", nil, "knative", "10s", false},
		{"no policy at all is kpa", none, "", nil, "kpa", "", false},
		{"a policy the scenario lacks", none, "hpa", nil, "hpa", "", false},
		{"several and no choice", two, "", nil, "", "", true},
		{"unknown policy", none, "no-such", nil, "", "", true},
		{"bad setting", none, "kpa", []string{"stable-window=soon"}, "", "", true},
		{"malformed --set", none, "kpa", []string{"stable-window"}, "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ChoosePolicy(c.sc, c.policy, c.sets)
			if c.bad {
				if err == nil {
					t.Fatalf("chose %+v, want an error", p)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != c.wantName || p.Settings["stable-window"] != c.window {
				t.Errorf("chose %s with stable-window %q, want %s with %q", p.Name, p.Settings["stable-window"], c.wantName, c.window)
			}
		})
	}
}
