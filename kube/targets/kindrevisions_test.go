package targets

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/scalebench/scalebench/kube/activator"
	"github.com/scalebench/scalebench/scenarios"
)

func libraryScenario(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Load("../../scenarios/library/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func rolloutNamed(t *testing.T, sc *scenarios.Scenario, name string) *scenarios.Rollout {
	t.Helper()
	for i := range sc.Rollouts {
		if sc.Rollouts[i].Name == name {
			return &sc.Rollouts[i]
		}
	}
	t.Fatalf("%s has no rollout %s", sc.Name, name)
	return nil
}

// knativeGen is one Knative Service generation of a stage, as JSON sees it.
type knativeGen struct {
	Metadata struct {
		Annotations map[string]string
	}
	Spec struct {
		Template struct {
			Metadata struct {
				Name        string
				Annotations map[string]string
			}
		}
		Traffic []struct {
			RevisionName   string
			LatestRevision bool
			Percent        int
			Tag            string
		}
	}
}

func gens(t *testing.T, s *Set) ([]Stage, []knativeGen) {
	t.Helper()
	var st []Stage
	var out []knativeGen
	for _, stage := range s.Stages {
		if stage.Target != Knative {
			continue
		}
		b, _ := json.Marshal(stage.Objects[0].Value)
		var g knativeGen
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		st, out = append(st, stage), append(out, g)
	}
	return st, out
}

// traffic is a generation's spec.traffic as "name=percent" entries.
func traffic(g knativeGen) string {
	var parts []string
	for _, tr := range g.Spec.Traffic {
		who := tr.RevisionName
		if tr.LatestRevision {
			who = "latest"
		}
		if tr.Tag != "" {
			who = tr.Tag + ":" + who
		}
		parts = append(parts, who+"="+itoa(tr.Percent))
	}
	return strings.Join(parts, " ")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestKnativeRevisionsAndTraffic(t *testing.T) {
	cases := []struct {
		scenario, rollout string
		// per Knative generation: when, the template's revision, traffic,
		// rollout-duration
		want []string
	}{
		{"rollout-gradual", "", []string{
			"0s api-v1 latest=100 ",
			"4m0s api-v2 latest=100 300s",
		}},
		{"rollout-gradual", "gradual-1m", []string{
			"0s api-v1 latest=100 ",
			"4m0s api-v2 latest=100 60s",
		}},
		{"rollout-canary", "canary", []string{
			"0s api-v1 latest=100 ",
			"3m0s api-v2 api-v1=90 api-v2=10 canary:api-v2=0 ",
			"5m0s api-v2 api-v1=50 api-v2=50 canary:api-v2=0 ",
			"7m0s api-v2 latest=100 canary:api-v2=0 ",
		}},
		{"rollout-canary", "instant", []string{
			"0s api-v1 latest=100 ",
			"3m0s api-v2 latest=100 canary:api-v2=0 ",
		}},
	}
	for _, c := range cases {
		t.Run(c.scenario+"/"+c.rollout, func(t *testing.T) {
			sc := libraryScenario(t, c.scenario)
			opt := DefaultOptions()
			if c.rollout != "" {
				opt.Rollout = rolloutNamed(t, sc, c.rollout)
			}
			s, err := Render(sc, 0, opt)
			if err != nil {
				t.Fatal(err)
			}
			stages, gs := gens(t, s)
			var got []string
			for i, g := range gs {
				got = append(got, stages[i].At.String()+" "+g.Spec.Template.Metadata.Name+" "+traffic(g)+" "+g.Metadata.Annotations["serving.knative.dev/rollout-duration"])
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("generations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// Two revisions created at once are two generations of the Service, the
// first with its own Revision in force until the second's split.
func TestKnativeRevisionsAtTheSameTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(path, []byte(`name: two
duration: 1m
functions:
  - name: api
    revisions:
      - name: v1
      - name: v2
    split:
      - {at: 0s, percent: {v1: 70, v2: 30}}
traffic: constant:rate=1
policies: [knative]
`), 0o644)
	sc, err := scenarios.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Render(sc, 0, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	stages, gs := gens(t, s)
	if len(gs) != 2 || traffic(gs[0]) != "latest=100" || traffic(gs[1]) != "api-v1=70 api-v2=30" || stages[0].Revision != "api-v1" || stages[1].At != 0 {
		t.Fatalf("stages %+v", stages)
	}
}

// Rollout variants reach Kubernetes as the annotations Knative and the
// controller read, on the rolled-out revision only.
func TestRolloutVariantAnnotations(t *testing.T) {
	sc := libraryScenario(t, "rollout-canary")
	opt := DefaultOptions()
	opt.Rollout = rolloutNamed(t, sc, "prescaled")
	if _, err := Render(sc, 0, opt); err == nil || !strings.Contains(err.Error(), "--match-pods") {
		t.Fatalf("a match variant without the pod count: err %v", err)
	}
	opt.MatchPods = 4
	s, err := Render(sc, 0, opt)
	if err != nil {
		t.Fatal(err)
	}
	_, gs := gens(t, s)
	v1, v2 := gs[0].Spec.Template.Metadata.Annotations, gs[1].Spec.Template.Metadata.Annotations
	if v2["autoscaling.knative.dev/initial-scale"] != "4" || v2["autoscaling.knative.dev/min-scale"] != "4" || v1["autoscaling.knative.dev/min-scale"] != "0" {
		t.Fatalf("Knative v1 %v, v2 %v", v1, v2)
	}
	var deps []*appsv1.Deployment
	var route *corev1.ConfigMap
	for _, st := range s.Stages {
		for _, o := range st.Objects {
			switch v := o.Value.(type) {
			case *appsv1.Deployment:
				deps = append(deps, v)
			case *corev1.ConfigMap:
				route = v
			}
		}
	}
	if len(deps) != 2 || *deps[1].Spec.Replicas != 4 || deps[1].Annotations["autoscaling.knative.dev/min-scale"] != "4" || deps[0].Annotations["autoscaling.knative.dev/min-scale"] != "" {
		t.Fatalf("controller's Deployments %v / %v", deps[0].Annotations, deps[1].Annotations)
	}
	if deps[1].Spec.Template.Labels[FunctionLabel] != "api" {
		t.Fatalf("pod labels %v", deps[1].Spec.Template.Labels)
	}
	// The route ConfigMap parses as the activator reads it, with v2's
	// pre-scaled initial scale as its readiness.
	r, err := activator.ParseRoute("cm", []byte(route.Data[activator.RouteKey]))
	if err != nil {
		t.Fatal(err)
	}
	if route.Name != "api-scalebench" || strings.Join(r.Revisions, ",") != "api-v1-scalebench,api-v2-scalebench" || r.InitialScale[1] != 4 || r.Steps[1].At != 3*time.Minute {
		t.Fatalf("route %s: %+v", route.Name, r)
	}
}

func TestRevisionsRefuseTargetsWithoutASplit(t *testing.T) {
	s, err := Render(libraryScenario(t, "rollout-bluegreen"), 0, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{HPA, OpenFaaS} {
		if why := s.Refused[target]; !strings.Contains(why, "policy "+target) || strings.Contains(why, "\n") {
			t.Errorf("%s: refused %q, want one line naming the policy", target, why)
		}
	}
	if s.OpenFaaS != nil {
		t.Error("an OpenFaaS request for a function with revisions")
	}
	for _, o := range append(s.Objects, s.Stages[0].Objects...) {
		if o.Target == HPA || o.Target == OpenFaaS {
			t.Errorf("an object of %s", o.Target)
		}
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := s.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	tsv, err := os.ReadFile(filepath.Join(dir, "stages.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(tsv)), "\n")
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != 5 {
			t.Fatalf("stages.tsv line %q", l)
		}
		if _, err := os.Stat(filepath.Join(dir, f[3])); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "openfaas.json")); err == nil {
		t.Error("openfaas.json written for a function with revisions")
	}
}
