//go:build e2e

package targets

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/scalebench/scalebench/kube/e2e"
	"github.com/scalebench/scalebench/scenarios"
)

func TestMain(m *testing.M) { e2e.Main(m) }

// knativeModule is where Knative Serving's release ships its CRDs: the Go
// module the conformance tests import.
const knativeModule = "knative.dev/serving@v0.50.0"

// knativeCRDs fetches Knative Serving's real CRDs through the Go module
// proxy (go mod download), as the release's serving-crds.yaml holds them.
func knativeCRDs(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", knativeModule).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", knativeModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: no directory in %s", knativeModule, out)
	}
	var crds []*unstructured.Unstructured
	for _, f := range []string{"service.yaml", "configuration.yaml", "revision.yaml", "route.yaml"} {
		b, err := os.ReadFile(filepath.Join(mod.Dir, "config", "core", "300-resources", f))
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &u.Object); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		crds = append(crds, u)
	}
	return crds
}

// TestManifestsPassServerSideDryRun applies every object kind-bench would
// create to the real API server with server-side dry-run and strict field
// validation, Knative's real CRDs installed: a misspelt field, a wrong type
// or a schema violation fails here as it would on a kind cluster.
func TestManifestsPassServerSideDryRun(t *testing.T) {
	env := e2e.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, crd := range knativeCRDs(t) {
		if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("install CRD %s: %v", crd.GetName(), err)
		}
	}
	e2e.Eventually(t, time.Minute, "Knative's CRDs established", func() error {
		_, err := discovery.NewDiscoveryClientForConfigOrDie(env.Config).ServerResourcesForGroupVersion("serving.knative.dev/v1")
		return err
	})
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(env.Config)))

	ns := env.Namespace(t)
	opt := DefaultOptions()
	opt.Namespace = ns
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
	create := func(obj map[string]any) error {
		u := &unstructured.Unstructured{Object: obj}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return err
		}
		r := dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			_, err = r.Namespace(u.GetNamespace()).Create(ctx, u, dryRun)
		} else {
			_, err = r.Create(ctx, u, dryRun)
		}
		return err
	}

	files, _ := filepath.Glob("../../scenarios/library/*.yaml")
	scs := []*scenarios.Scenario{load(t, tuned)}
	for _, f := range files {
		sc, err := scenarios.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		scs = append(scs, sc)
	}
	opts := make([]Options, len(scs))
	for i := range opts {
		opts[i] = opt
	}
	// A function with revisions, rolled out each of its scenario's ways.
	for _, sc := range scs[:len(scs)] {
		for i := range sc.Rollouts {
			o := opt
			o.Rollout, o.MatchPods = &sc.Rollouts[i], 3
			scs, opts = append(scs, sc), append(opts, o)
		}
	}
	// A user's image, with an HTTP and with a TCP readiness probe.
	for _, fn := range []Function{{Image: "registry.example.com/me/fn:v2", Port: 9000, ReadinessPath: "/healthz"}, {Image: "dev.local/fn"}} {
		u := opt
		u.Function = fn
		scs, opts = append(scs, load(t, tuned)), append(opts, u)
	}
	checked := 0
	for i, sc := range scs {
		s, err := Render(sc, 0, opts[i])
		if err != nil {
			t.Fatalf("scenario %d: %v", i, err)
		}
		objs := s.Objects
		for _, st := range s.Stages {
			objs = append(objs, st.Objects...)
		}
		for _, o := range objs {
			b, err := json.Marshal(o.Value)
			if err != nil {
				t.Fatal(err)
			}
			var obj map[string]any
			json.Unmarshal(b, &obj)
			if obj["kind"] == "Namespace" {
				continue // the test's own namespace stands in for it
			}
			if obj["kind"] == "ConfigMap" {
				// config-autoscaler lives in knative-serving, which this
				// cluster has no reason to hold: check it in ns instead.
				obj["metadata"].(map[string]any)["namespace"] = ns
			}
			if err := create(obj); err != nil {
				t.Errorf("scenario %d, %s %s: server-side dry-run: %v", i, obj["kind"], o.Target, err)
			}
			checked++
		}
	}
	// The Kubernetes backend's per-revision Deployments and Services.
	for _, f := range files {
		sc, err := scenarios.Load(f)
		if err != nil || len(sc.Functions[0].Revisions) == 0 {
			continue
		}
		set, err := Revisions(sc, 0, RevisionOptions{Namespace: ns, Policy: "knative"})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range set.Revisions {
			for _, v := range []any{r.Deployment, r.Service} {
				b, _ := json.Marshal(v)
				var obj map[string]any
				json.Unmarshal(b, &obj)
				if err := create(obj); err != nil {
					t.Errorf("%s, revision %s, %s: server-side dry-run: %v", f, r.Name, obj["kind"], err)
				}
				checked++
			}
		}
	}
	// The project's own parts as install-scalebench.sh applies them, in the
	// namespace it gives them.
	for _, f := range []string{"deploy/controller/rbac.yaml", "deploy/metrics-adapter/rbac.yaml", "deploy/kind/scalebench.yaml"} {
		raw, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		body := strings.NewReplacer("namespace: scalebench-bench\n", "namespace: "+ns+"\n", "namespace: scalebench\n", "namespace: "+ns+"\n").Replace(string(raw))
		for _, doc := range strings.Split(body, "\n---\n") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj == nil {
				if err != nil {
					t.Errorf("%s: %v", f, err)
				}
				continue
			}
			if err := create(obj); err != nil {
				t.Errorf("%s, %s %v: server-side dry-run: %v", f, obj["kind"], dig(obj, "metadata", "name"), err)
			}
			checked++
		}
	}
	t.Logf("%d objects passed server-side dry-run", checked)

	// The check has teeth: the same Knative Service with a wrong type and
	// with a field Knative's schema does not have is refused.
	s, _ := Render(load(t, tuned), 0, opt)
	for name, mutate := range map[string]func(map[string]any){
		"containerConcurrency as a string": func(spec map[string]any) { spec["containerConcurrency"] = "ten" },
		"unknown field":                    func(spec map[string]any) { spec["containerConcurency"] = 10 },
	} {
		for _, o := range s.Objects {
			if o.Target != Knative {
				continue
			}
			b, _ := json.Marshal(o.Value)
			var obj map[string]any
			json.Unmarshal(b, &obj)
			if obj["kind"] != "Service" {
				continue
			}
			mutate(obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any))
			if err := create(obj); err == nil {
				t.Errorf("%s: the API server accepted a broken Knative Service", name)
			}
		}
	}
}
