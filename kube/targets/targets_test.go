package targets

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/scalebench/scalebench/scenarios"
)

func load(t *testing.T, body string) *scenarios.Scenario {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

const tuned = `name: tuned
duration: 1m
functions:
  - name: Api_1
    containerConcurrency: 10
    memoryMB: 256
    startup:
      appInit: fixed:600ms
traffic: constant:rate=5
policies:
  - name: knative
    settings:
      stable-window: 30s
      scale-to-zero-grace-period: 10s
      tick-interval: 1s
  - name: hpa
    settings:
      metric: concurrency
      target: "7"
      max-replicas: "20"
      sync-period: 5s
  - name: openfaas-ce
    settings:
      max: "5"
      threshold-rps: "10"
  - name: kpa
    settings:
      backlog-aware-panic: "false"
`

// objects decodes the YAML stream by kind, strictly, so a misspelt field
// in a typed object would fail.
func objects(t *testing.T, s *Set) map[string][]map[string]any {
	t.Helper()
	y, err := s.YAML()
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string][]map[string]any{}
	for _, doc := range bytes.Split(y, []byte("\n---\n")) {
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		kind, _ := m["kind"].(string)
		byKind[kind] = append(byKind[kind], m)
		var typed any
		switch kind {
		case "Deployment":
			typed = &appsv1.Deployment{}
		case "Service":
			if m["apiVersion"] == "v1" {
				typed = &corev1.Service{}
			}
		case "HorizontalPodAutoscaler":
			typed = &autoscalingv2.HorizontalPodAutoscaler{}
		case "ConfigMap":
			typed = &corev1.ConfigMap{}
		}
		if typed != nil {
			if err := yaml.UnmarshalStrict(doc, typed); err != nil {
				t.Errorf("%s does not decode strictly: %v", kind, err)
			}
		}
	}
	return byKind
}

func dig(m any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, _ := m.(map[string]any)
			m = mm[k]
		case int:
			l, _ := m.([]any)
			if k >= len(l) {
				return nil
			}
			m = l[k]
		}
	}
	return m
}

func TestRenderTunedScenario(t *testing.T) {
	sc := load(t, tuned)
	s, err := Render(sc, 0, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, s)

	cases := []struct {
		name      string
		got, want any
	}{
		{"object name from the function name", dig(objs["Deployment"][0], "metadata", "name"), "api-1-hpa"},
		{"knative class", dig(objs["Service"][0], "spec", "template", "metadata", "annotations", "autoscaling.knative.dev/class"), "kpa.autoscaling.knative.dev"},
		{"knative window", dig(objs["Service"][0], "spec", "template", "metadata", "annotations", "autoscaling.knative.dev/window"), "30s"},
		{"knative containerConcurrency", dig(objs["Service"][0], "spec", "template", "spec", "containerConcurrency"), float64(10)},
		{"knative grace period is cluster-wide", dig(objs["ConfigMap"][0], "data", "scale-to-zero-grace-period"), "10s"},
		{"fn init from the app-init phase", dig(objs["Service"][0], "spec", "template", "spec", "containers", 0, "args", 3), "600ms"},
		{"hpa pods metric", dig(objs["HorizontalPodAutoscaler"][0], "spec", "metrics", 0, "pods", "metric", "name"), ConcurrencyMetric},
		{"hpa target", dig(objs["HorizontalPodAutoscaler"][0], "spec", "metrics", 0, "pods", "target", "averageValue"), "7"},
		{"hpa max", dig(objs["HorizontalPodAutoscaler"][0], "spec", "maxReplicas"), float64(20)},
		{"hpa default scale-down window", dig(objs["HorizontalPodAutoscaler"][0], "spec", "behavior", "scaleDown", "stabilizationWindowSeconds"), float64(300)},
		{"scalebench class", dig(objs["Deployment"][1], "metadata", "annotations", "autoscaling.knative.dev/class"), "kpa"},
		{"scalebench addition", dig(objs["Deployment"][1], "metadata", "annotations", "autoscaling.scalebench.dev/backlog-aware-panic"), "false"},
		{"queue-proxy concurrency", dig(objs["Deployment"][1], "spec", "template", "spec", "containers", 0, "args", 8), "10"},
		{"openfaas max label", s.OpenFaaS["labels"].(map[string]string)["com.openfaas.scale.max"], "5"},
		{"openfaas max_inflight", s.OpenFaaS["envVars"].(map[string]string)["max_inflight"], "10"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v (%T), want %v", c.name, c.got, c.got, c.want)
		}
	}
	notes := map[string]string{
		Knative:  "tick-interval=1s has no Knative equivalent",
		HPA:      "sync-period=5s is a kube-controller-manager flag",
		OpenFaaS: "threshold-rps=10 belongs to the gateway's",
	}
	for target, want := range notes {
		if !strings.Contains(strings.Join(s.Notes[target], "\n"), want) {
			t.Errorf("notes for %s do not say %q: %v", target, want, s.Notes[target])
		}
	}
	if _, err := s.OpenFaaSJSON(); err != nil {
		t.Fatal(err)
	}
}

// Render validates what it is given even when no parser did (a scenario
// built in code).
func TestRenderRejects(t *testing.T) {
	cases := []struct {
		name     string
		policies []scenarios.Policy
		fn       int
		want     string
	}{
		{"bad hpa metric", []scenarios.Policy{{Name: "hpa", Settings: map[string]string{"metric": "memory"}}}, 0, "metric"},
		{"bad knative value", []scenarios.Policy{{Name: "knative", Settings: map[string]string{"container-concurrency": "ten"}}}, 0, "container-concurrency"},
		{"unknown kpa setting", []scenarios.Policy{{Name: "kpa", Settings: map[string]string{"windw": "1m"}}}, 0, "windw"},
		{"no such function", nil, 3, "no function 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := &scenarios.Scenario{Name: "x", Functions: []scenarios.Function{{Name: "f"}}, Policies: c.policies}
			_, err := Render(sc, c.fn, DefaultOptions())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %q", err, c.want)
			}
		})
	}
}

// Every library scenario renders.
func TestRenderLibrary(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/library/*.yaml")
	if len(files) == 0 {
		t.Fatal("no library scenarios")
	}
	for _, f := range files {
		sc, err := scenarios.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Render(sc, 0, DefaultOptions())
		if len(sc.Functions[0].Revisions) > 0 {
			// Knative and scalebench's controller, staged
			// (kindrevisions_test.go).
			if err != nil || len(s.Stages) == 0 {
				t.Errorf("%s: a function with revisions: %v", f, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		objects(t, s)
		if _, err := json.Marshal(s.OpenFaaS); err != nil {
			t.Error(err)
		}
	}
}

// The OpenFaaS payload uses only the fields of the gateway's
// FunctionDeployment (faas-provider's types.FunctionDeployment).
func TestOpenFaaSPayloadFields(t *testing.T) {
	known := map[string]bool{"service": true, "image": true, "namespace": true, "envProcess": true, "envVars": true,
		"constraints": true, "secrets": true, "labels": true, "annotations": true, "limits": true, "requests": true,
		"readOnlyRootFilesystem": true}
	s, err := Render(load(t, tuned), 0, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.OpenFaaSJSON()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k := range m {
		if !known[k] {
			t.Errorf("field %q is not one the gateway reads", k)
		}
	}
	for _, k := range []string{"service", "image", "envProcess"} {
		if m[k] == "" || m[k] == nil {
			t.Errorf("field %q is empty", k)
		}
	}
}

// A user's image runs in every target as that platform expects a user
// container: its own entrypoint, its port in $PORT, its readiness probe.
func TestRenderUserImage(t *testing.T) {
	opt := DefaultOptions()
	opt.Function = Function{Image: "registry.example.com/me/fn:v2", Port: 9000, ReadinessPath: "/healthz"}
	s, err := Render(load(t, tuned), 0, opt)
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, s)
	ksvc := dig(objs["Service"][0], "spec", "template", "spec", "containers", 0)
	hpaPod := dig(objs["Deployment"][0], "spec", "template", "spec")
	sbPod := dig(objs["Deployment"][1], "spec", "template", "spec")
	cases := []struct {
		name      string
		got, want any
	}{
		{"knative image", dig(ksvc, "image"), "registry.example.com/me/fn:v2"},
		{"knative containerPort sets $PORT", dig(ksvc, "ports", 0, "containerPort"), float64(9000)},
		{"knative runs the image's entrypoint", dig(ksvc, "args"), nil},
		{"knative sets no PORT (reserved)", dig(ksvc, "env"), nil},
		{"knative readiness path", dig(ksvc, "readinessProbe", "httpGet", "path"), "/healthz"},
		{"knative probe port left to Knative", dig(ksvc, "readinessProbe", "httpGet", "port"), nil},
		{"openfaas image", s.OpenFaaS["image"], "registry.example.com/me/fn:v2"},
		{"openfaas runs the image's entrypoint", s.OpenFaaS["envProcess"], nil},
		{"openfaas PORT is its 8080", s.OpenFaaS["envVars"].(map[string]string)["PORT"], "8080"},
		{"openfaas health path", s.OpenFaaS["annotations"].(map[string]string)["com.openfaas.health.http.path"], "/healthz"},
		{"hpa: the function first", dig(hpaPod, "containers", 0, "image"), "registry.example.com/me/fn:v2"},
		{"hpa: PORT", dig(hpaPod, "containers", 0, "env", 0, "value"), "9000"},
		{"hpa: function's own probe", dig(hpaPod, "containers", 0, "readinessProbe", "httpGet", "port"), float64(9000)},
		{"hpa: cpu request on the function", dig(hpaPod, "containers", 0, "resources", "requests", "cpu"), nil},
		{"hpa: queue-proxy sidecar", dig(hpaPod, "containers", 1, "image"), "scalebench.dev/scalebench:dev"},
		{"hpa: queue-proxy upstream", dig(hpaPod, "containers", 1, "args", 6), "127.0.0.1:9000"},
		{"hpa: Service to the queue-proxy", dig(objs["Service"][1], "spec", "ports", 0, "targetPort"), float64(QueueProxyPort)},
		{"scalebench: queue-proxy concurrency", dig(sbPod, "containers", 1, "args", 8), "10"},
		{"scalebench: queue-proxy port named http", dig(sbPod, "containers", 1, "ports", 0, "name"), "http"},
		{"scalebench: memory on the function", dig(sbPod, "containers", 0, "resources", "requests", "memory"), "256Mi"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v (%T), want %v", c.name, c.got, c.got, c.want)
		}
	}
	if !strings.Contains(strings.Join(s.Notes[OpenFaaS], "\n"), "one fixed on 9000 cannot run") {
		t.Errorf("openfaas notes do not say port 9000 needs $PORT: %v", s.Notes[OpenFaaS])
	}

	// A TCP probe: Knative's default (no probe), a tcpSocket elsewhere.
	opt.Function = Function{Image: "dev.local/fn"}
	s, err = Render(load(t, tuned), 0, opt)
	if err != nil {
		t.Fatal(err)
	}
	objs = objects(t, s)
	if p := dig(objs["Service"][0], "spec", "template", "spec", "containers", 0, "readinessProbe"); p != nil {
		t.Errorf("knative tcp readiness: got probe %v, want Knative's default", p)
	}
	if p := dig(objs["Deployment"][1], "spec", "template", "spec", "containers", 0, "readinessProbe", "tcpSocket", "port"); p != float64(8080) {
		t.Errorf("scalebench tcp readiness on 8080: got %v", p)
	}
	if _, ok := s.OpenFaaS["annotations"].(map[string]string)["com.openfaas.health.http.path"]; ok {
		t.Error("openfaas: a health path for a tcp probe")
	}
}

func TestUserImageRejects(t *testing.T) {
	cases := []struct {
		name string
		fn   Function
		want string
	}{
		{"queue-proxy port", Function{Image: "x", Port: 8012}, "reserved"},
		{"metrics port", Function{Image: "x", Port: 9091}, "reserved"},
		{"port out of range", Function{Image: "x", Port: 70000}, "1 to 65535"},
		{"relative readiness path", Function{Image: "x", ReadinessPath: "healthz"}, "want a path"},
		{"image with a space", Function{Image: "my fn"}, "image reference"},
		{"port without an image", Function{Port: 9000}, "give the image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := DefaultOptions()
			opt.Function = c.fn
			_, err := Render(load(t, tuned), 0, opt)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line naming %q", err, c.want)
			}
		})
	}
}
