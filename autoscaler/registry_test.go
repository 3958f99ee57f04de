package autoscaler

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRequestPaths(t *testing.T) {
	cases := []struct {
		name string
		want RequestPath
	}{
		{"kpa", PathActivator},
		{"knative", PathActivator},
		{"hpa", PathDirect},
		{"openfaas-ce", PathGateway},
		{"openfaas-pro", PathGateway},
		{"keepalive", PathLambda},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PathOf(tc.name)
			if !ok || got != tc.want {
				t.Errorf("PathOf(%q) = %v, %v; want %v, true", tc.name, got, ok, tc.want)
			}
		})
	}
	if _, ok := PathOf("no-such-policy"); ok {
		t.Error("an unregistered name has a path")
	}
}

// fixedPolicy is a caller's own policy: always n pods.
type fixedPolicy struct{ n int }

func (fixedPolicy) Name() string                 { return "registry-test-fixed" }
func (fixedPolicy) Interval() time.Duration      { return time.Second }
func (fixedPolicy) Record(time.Time, Stat) bool  { return false }
func (fixedPolicy) Poke(time.Time, float64) bool { return false }
func (p fixedPolicy) Tick(time.Time, Pods) Decision {
	return Decision{Valid: true, Desired: p.n}
}

func TestRegister(t *testing.T) {
	const name = "registry-test-fixed"
	newFixed := func(set map[string]string) (Policy, error) {
		if len(set) > 0 {
			return nil, errors.New("takes no settings")
		}
		return fixedPolicy{n: 3}, nil
	}
	if err := Register(name, "three pods, always", PathDirect, newFixed); err != nil {
		t.Fatal(err)
	}
	if path, ok := PathOf(name); !ok || path != PathDirect {
		t.Errorf("PathOf = %v, %v; want the declared %v", path, ok, PathDirect)
	}
	p, err := New(name, nil)
	if err != nil || p.Tick(time.Time{}, Pods{}).Desired != 3 {
		t.Fatalf("New: %v, %v", p, err)
	}
	if _, err := New(name, map[string]string{"x": "1"}); err == nil || !strings.Contains(err.Error(), "policy "+name) {
		t.Errorf("bad settings: error %v, want one naming the policy", err)
	}
	if Summary(name) != "three pods, always" {
		t.Errorf("Summary = %q", Summary(name))
	}
	found := false
	for _, n := range Names() {
		found = found || n == name
	}
	if !found {
		t.Errorf("Names() %v lacks %s", Names(), name)
	}
	refused := []struct {
		name, pol string
		path      RequestPath
		mk        func(map[string]string) (Policy, error)
	}{
		{"taken name", name, PathDirect, newFixed},
		{"built-in name", "kpa", PathActivator, newFixed},
		{"empty name", " ", PathDirect, newFixed},
		{"no constructor", "registry-test-nil", PathDirect, nil},
		{"unknown path", "registry-test-path", PathLambda + 1, newFixed},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if err := Register(tc.pol, "", tc.path, tc.mk); err == nil {
				t.Errorf("Register(%q) accepted", tc.pol)
			}
		})
	}
}
