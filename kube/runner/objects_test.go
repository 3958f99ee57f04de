package runner

import (
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/kube/controller"
	"github.com/scalebench/scalebench/kube/node"
	"github.com/scalebench/scalebench/scenarios"
)

func scenario(fns ...scenarios.Function) *scenarios.Scenario {
	return &scenarios.Scenario{Name: "t", Functions: fns}
}

func TestObjects(t *testing.T) {
	api := scenarios.Function{Name: "API_v1", ContainerConcurrency: 10, MemoryMB: 256, Service: dist.Fixed{D: 100 * time.Millisecond},
		Startup: scenarios.Startup{ContainerStart: dist.Fixed{D: 200 * time.Millisecond}, AppInit: dist.Fixed{D: 300 * time.Millisecond}}}
	mine := api
	mine.Name = "mine"
	mine.Command = &scenarios.Command{Argv: []string{"/srv/server", "--x"}, PortEnv: "PORT", ReadinessPath: "/healthz"}
	bg := scenarios.Function{Name: "web", Revisions: []scenarios.Revision{
		{Function: scenarios.Function{Name: "blue", ContainerConcurrency: 2, Service: dist.Fixed{D: 50 * time.Millisecond}}},
		{Function: scenarios.Function{Name: "green", ContainerConcurrency: 4, Service: dist.Fixed{D: 20 * time.Millisecond}}, DeployAt: 10 * time.Second},
	}, Split: []scenarios.SplitStep{{Percent: []int{100, 0}, Rollout: -1}, {At: 20 * time.Second, Percent: []int{0, 100}, Rollout: -1}}}
	for _, tc := range []struct {
		name    string
		sc      *scenarios.Scenario
		pol     scenarios.Policy
		command *scenarios.Command
		err     string
		check   func(t *testing.T, fns []Function)
	}{
		{name: "fn under kpa", sc: scenario(api), pol: scenarios.Policy{Name: "kpa", Settings: map[string]string{"stable-window": "6s", "initial-scale": "2"}},
			check: func(t *testing.T, fns []Function) {
				f := fns[0]
				d := f.Deployment
				c := d.Spec.Template.Spec.Containers[0]
				if f.Object != "api-v1" || d.Name != "api-v1" || f.Service.Name != "api-v1" {
					t.Errorf("names %q %q %q, want api-v1", f.Object, d.Name, f.Service.Name)
				}
				if c.Image != FnImage || strings.Join(c.Args, " ") != "--work=100ms --init=1s" {
					t.Errorf("container %s %v, want cmd/fn with the service mean as its work and the extra flags after", c.Image, c.Args)
				}
				ann := d.Spec.Template.Annotations
				if ann[node.AnnotationStartupPrefix+"container-start"] != "fixed:200ms" || ann[node.AnnotationStartupPrefix+"app-init"] != "fixed:300ms" ||
					ann[node.AnnotationContainerConcurrency] != "10" {
					t.Errorf("pod annotations %v", ann)
				}
				if _, ok := ann[node.AnnotationStartupPrefix+"schedule"]; ok {
					t.Errorf("a phase the scenario leaves out is annotated: %v", ann)
				}
				spec, ok, err := controller.ParseAnnotations(d.Annotations)
				if !ok || err != nil || spec.Policy != "kpa" || spec.Settings["stable-window"] != "6s" || spec.Settings["container-concurrency"] != "10" {
					t.Errorf("the controller reads %+v, %v, %v from %v", spec, ok, err, d.Annotations)
				}
				if *d.Spec.Replicas != 2 || f.Initial != 2 || f.HPA != nil || f.ContainerConcurrency != 10 {
					t.Errorf("replicas %d, initial %d, hpa %v, cc %d", *d.Spec.Replicas, f.Initial, f.HPA, f.ContainerConcurrency)
				}
				if q := c.Resources.Requests.Memory(); q.String() != "256Mi" {
					t.Errorf("memory request %s", q)
				}
			}},
		{name: "user's command", sc: scenario(mine), pol: scenarios.Policy{Name: "knative"},
			check: func(t *testing.T, fns []Function) {
				f := fns[0]
				c := f.Deployment.Spec.Template.Spec.Containers[0]
				if c.Image != CommandImagePrefix+"mine" || f.Image != c.Image || c.Args != nil {
					t.Errorf("container %s %v, want the command's image and no fn flags", c.Image, c.Args)
				}
				cmds := Commands(fns)
				if pc := cmds[f.Image]; pc == nil || strings.Join(pc.Argv, " ") != "/srv/server --x" || pc.ReadinessPath != "/healthz" {
					t.Errorf("node mapping %v", cmds)
				}
			}},
		{name: "keepalive serves one at a time", sc: scenario(api), pol: scenarios.Policy{Name: "keepalive"},
			check: func(t *testing.T, fns []Function) {
				if got := fns[0].Deployment.Spec.Template.Annotations[node.AnnotationContainerConcurrency]; got != "1" || fns[0].ContainerConcurrency != 1 {
					t.Errorf("container concurrency %q, want 1", got)
				}
			}},
		{name: "the real HPA", sc: scenario(api), pol: scenarios.Policy{Name: "hpa", Settings: map[string]string{"metric": "concurrency", "target": "2", "min-replicas": "2", "max-replicas": "7"}},
			check: func(t *testing.T, fns []Function) {
				h := fns[0].HPA
				if h == nil {
					t.Fatal("no HPA")
				}
				m := h.Spec.Metrics[0]
				if m.Type != autoscalingv2.PodsMetricSourceType || m.Pods.Metric.Name != "concurrency" || m.Pods.Target.AverageValue.String() != "2" {
					t.Errorf("metric %+v", m)
				}
				if *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 7 || *fns[0].Deployment.Spec.Replicas != 2 || h.Spec.ScaleTargetRef.Name != "api-v1" {
					t.Errorf("spec %+v", h.Spec)
				}
				if h.Spec.Behavior == nil || *h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds != 300 {
					t.Errorf("behavior %+v, want the default 5 min scale-down stabilization", h.Spec.Behavior)
				}
				if _, ok := fns[0].Deployment.Annotations[controller.ClassAnnotation]; ok {
					t.Error("the HPA's Deployment opts in to scalebench's controller")
				}
			}},
		{name: "hpa on cpu", sc: scenario(api), pol: scenarios.Policy{Name: "hpa"}, err: "metric=cpu needs metrics-server"},
		{name: "hpa at zero", sc: scenario(api), pol: scenarios.Policy{Name: "hpa", Settings: map[string]string{"metric": "rps", "min-replicas": "0", "scale-to-zero-alpha": "true"}}, err: "min-replicas=0"},
		{name: "bad setting", sc: scenario(api), pol: scenarios.Policy{Name: "kpa", Settings: map[string]string{"nope": "1"}}, err: "nope"},
		{name: "revisions under kpa", sc: scenario(bg), pol: scenarios.Policy{Name: "kpa"},
			check: func(t *testing.T, fns []Function) {
				f := fns[0]
				if f.Deployment != nil || f.Revisions == nil || len(f.Revisions.Revisions) != 2 || f.ContainerConcurrency != 4 {
					t.Fatalf("function %+v, want two revisions and the larger containerConcurrency", f)
				}
				for i, want := range []string{"--work=50ms --init=1s", "--work=20ms --init=1s"} {
					rev := f.Revisions.Revisions[i]
					d := rev.Deployment
					l := d.Spec.Template.Labels
					if l[RunLabel] != "true" || l[FunctionLabel] != "web" || l[RevisionLabel] != rev.Service.Name {
						t.Errorf("revision %s pod labels %v, want the run's, the function's and its own", rev.Name, l)
					}
					if args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "); args != want {
						t.Errorf("revision %s args %q, want %q", rev.Name, args, want)
					}
					if _, ok, err := controller.ParseAnnotations(d.Annotations); !ok || err != nil {
						t.Errorf("revision %s: the controller does not take %v: %v", rev.Name, d.Annotations, err)
					}
				}
				if f.Revisions.Revisions[1].DeployAt != 10*time.Second {
					t.Errorf("green deployed at %v, want 10s", f.Revisions.Revisions[1].DeployAt)
				}
			}},
		{name: "revisions under hpa", sc: scenario(bg), pol: scenarios.Policy{Name: "hpa"}, err: "hpa is kube-controller-manager's own HPA"},
		{name: "revisions pre-scaled to match", sc: scenario(bg), pol: scenarios.Policy{Name: "kpa", Rollout: &scenarios.Rollout{Name: "prescaled", MatchInitialScale: true}}, err: "pre-scales to match"},
		{name: "revisions with a user's command", sc: scenario(bg), pol: scenarios.Policy{Name: "kpa"}, command: mine.Command, err: "user's command"},
		{name: "names collide", sc: scenario(scenarios.Function{Name: "a_b"}, scenarios.Function{Name: "a-b"}), pol: scenarios.Policy{Name: "kpa"}, err: "same Kubernetes name"},
		{name: "no functions", sc: scenario(), pol: scenarios.Policy{Name: "kpa"}, err: "no functions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fns, err := Objects(tc.sc, tc.pol, "ns", []string{"--init=1s"}, tc.command)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, fns)
		})
	}
}

func TestControllerManagerFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		pol  scenarios.Policy
		want string
	}{
		{name: "kpa needs none", pol: scenarios.Policy{Name: "kpa"}, want: ""},
		{name: "hpa defaults", pol: scenarios.Policy{Name: "hpa", Settings: map[string]string{"metric": "concurrency"}},
			want: "--horizontal-pod-autoscaler-sync-period=15s --horizontal-pod-autoscaler-tolerance=0.1"},
		{name: "hpa legacy", pol: scenarios.Policy{Name: "hpa", Settings: map[string]string{"metric": "concurrency", "sync-period": "5s", "behavior": "false", "scale-down-stabilization": "1m"}},
			want: "--horizontal-pod-autoscaler-downscale-stabilization=1m --horizontal-pod-autoscaler-sync-period=5s --horizontal-pod-autoscaler-tolerance=0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ControllerManagerFlags(tc.pol)
			if err != nil || strings.Join(got, " ") != tc.want {
				t.Fatalf("flags %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}
