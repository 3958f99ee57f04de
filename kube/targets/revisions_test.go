package targets

import (
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/scalebench/scalebench/scenarios"
)

func TestRevisionsOneDeploymentEach(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/library/rollout-canary.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Revisions(sc, 0, RevisionOptions{Namespace: "fns", Policy: "knative"})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Revisions) != 2 {
		t.Fatalf("%d revisions", len(set.Revisions))
	}
	v1, v2 := set.Revisions[0], set.Revisions[1]
	cases := []struct {
		name      string
		got, want any
	}{
		{"route name", set.Function, "api"},
		{"v1 objects", v1.Deployment.Name + " " + v1.Service.Name, "api-v1 api-v1"},
		{"v2 objects", v2.Deployment.Name, "api-v2"},
		{"v1 at its initial scale", *v1.Deployment.Spec.Replicas, int32(5)},
		{"v1 initial scale for the route", v1.InitialScale, 5},
		{"v2 Knative's default initial scale", v2.InitialScale, 1},
		{"class", v2.Deployment.Annotations["autoscaling.knative.dev/class"], "knative"},
		{"revision settings over the policy's", v1.Deployment.Annotations["autoscaling.knative.dev/initial-scale"], "5"},
		{"v1 keeps none of v2's", v2.Deployment.Annotations["autoscaling.knative.dev/initial-scale"], ""},
		{"controller's containerConcurrency", v1.Deployment.Annotations["autoscaling.scalebench.dev/container-concurrency"], "10"},
		{"node's containerConcurrency", v1.Deployment.Spec.Template.Annotations["scalebench.dev/container-concurrency"], "10"},
		{"v2's own app-init for the node", v2.Deployment.Spec.Template.Annotations["startup.scalebench.dev/app-init"], v2AppInit(sc)},
		{"the node's fn image", v1.Deployment.Spec.Template.Spec.Containers[0].Image, "scalebench.dev/fn"},
		{"Service to the pods' http port", v2.Service.Spec.Ports[0].TargetPort.String(), "http"},
		{"selector", v2.Service.Spec.Selector["app"], "api-v2"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// The objects decode strictly as what they claim to be.
	for _, r := range set.Revisions {
		b, _ := yaml.Marshal(r.Deployment)
		if err := yaml.UnmarshalStrict(b, &appsv1.Deployment{}); err != nil {
			t.Error(err)
		}
	}
	rt := set.Route(time.Unix(0, 0), 1)
	if rt.Name != "api" || strings.Join(rt.Revisions, ",") != "api-v1,api-v2" || len(rt.Steps) != len(sc.Functions[0].Split) || rt.InitialScale[0] != 5 {
		t.Fatalf("route %+v", rt)
	}
}

func v2AppInit(sc *scenarios.Scenario) string {
	return sc.Functions[0].Revisions[1].Startup.AppInit.String()
}

func TestRevisionsRejects(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/library/rollout-canary.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		sc   *scenarios.Scenario
		opt  RevisionOptions
		want string
	}{
		{"no revisions", &scenarios.Scenario{Name: "x", Functions: []scenarios.Function{{Name: "f"}}}, RevisionOptions{}, "no revisions"},
		{"the HPA", sc, RevisionOptions{Policy: "hpa"}, "kube-controller-manager"},
		{"unknown policy", sc, RevisionOptions{Policy: "nope"}, "nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Revisions(c.sc, 0, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming %q", err, c.want)
			}
		})
	}
}

// A rollout variant reaches the Kubernetes backend's Deployments as the
// annotations the controller reads, on the rolled-out revision only, and
// the route follows the variant's steps.
func TestRevisionsRolloutVariant(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/library/rollout-canary.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var prescaled, canary *scenarios.Rollout
	for i, r := range sc.Rollouts {
		switch r.Name {
		case "prescaled":
			prescaled = &sc.Rollouts[i]
		case "canary":
			canary = &sc.Rollouts[i]
		}
	}
	if _, err := Revisions(sc, 0, RevisionOptions{Policy: "knative", Rollout: prescaled}); err == nil {
		t.Fatal("a match variant without MatchPods")
	}
	set, err := Revisions(sc, 0, RevisionOptions{Policy: "knative", Rollout: prescaled, MatchPods: 5})
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := set.Revisions[0].Deployment, set.Revisions[1].Deployment
	if v2.Annotations["autoscaling.knative.dev/min-scale"] != "5" || *v2.Spec.Replicas != 5 || set.Revisions[1].InitialScale != 5 || v1.Annotations["autoscaling.knative.dev/min-scale"] != "" {
		t.Fatalf("v1 %v, v2 %v (replicas %d)", v1.Annotations, v2.Annotations, *v2.Spec.Replicas)
	}
	set, err = Revisions(sc, 0, RevisionOptions{Policy: "knative", Rollout: canary})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Steps) != 4 || set.Steps[1].Percent[1] != 10 || set.Steps[2].Percent[1] != 50 {
		t.Fatalf("canary steps %+v", set.Steps)
	}
}
