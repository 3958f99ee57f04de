package controller

import (
	"os"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/kubernetes/scheme"
)

// TestRoleListsExactlyWhatTheControllerCalls keeps deploy/controller's Role
// least-privilege: the rules are the calls this package (and the activator
// beside it) makes, no more and no fewer.
func TestRoleListsExactlyWhatTheControllerCalls(t *testing.T) {
	want := []string{
		"apps/deployments list", "apps/deployments watch", "apps/deployments/scale update",
		"/pods list", "/pods watch", "/events create", "/events patch",
		"discovery.k8s.io/endpointslices list", "discovery.k8s.io/endpointslices watch",
		"/configmaps list", "/configmaps watch",
		"coordination.k8s.io/leases create",
		"coordination.k8s.io/leases get scalebench-controller", "coordination.k8s.io/leases update scalebench-controller",
	}
	data, err := os.ReadFile("../../deploy/controller/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, doc := range strings.Split(string(data), "\n---\n") {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("deploy/controller/rbac.yaml: %v", err)
		}
		role, ok := obj.(*rbacv1.Role)
		if !ok {
			continue
		}
		for _, rule := range role.Rules {
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					for _, v := range rule.Verbs {
						if len(rule.ResourceNames) == 0 {
							got = append(got, g+"/"+res+" "+v)
						}
						for _, n := range rule.ResourceNames {
							got = append(got, g+"/"+res+" "+v+" "+n)
						}
					}
				}
			}
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Role grants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
