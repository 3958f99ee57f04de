package runner

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/kube/controller"
	"github.com/scalebench/scalebench/kube/node"
	"github.com/scalebench/scalebench/kube/targets"
	"github.com/scalebench/scalebench/scenarios"
)

// Labels on every object and pod of a run.
const (
	// FunctionLabel is the scenario function's object name.
	FunctionLabel = "scalebench.dev/function"
	// RunLabel marks the objects a run created.
	RunLabel = "scalebench.dev/run"
)

// FnImage is the image of cmd/fn on a scalebench node.
const FnImage = node.ImageRegistry + "fn"

// CommandImagePrefix names the image a function with a user's command gets
// when the scenario names none: CommandImagePrefix + the function's object
// name. The run's node maps it to the command (node.Config.Commands).
const CommandImagePrefix = node.ImageRegistry + "command/"

// HTTPPort is the pod port the queue-proxy serves the function on.
const HTTPPort = node.DefaultPort

// Function is one scenario function as Kubernetes objects.
type Function struct {
	// Name is the scenario's name; Object the objects' name.
	Name, Object string
	Deployment   *appsv1.Deployment
	Service      *corev1.Service
	// HPA is set for policy hpa.
	HPA *autoscalingv2.HorizontalPodAutoscaler
	// Image and Command, for a function with a user's command, are the
	// image the Deployment names and the command the node must map it to.
	Image   string
	Command *scenarios.Command
	// Initial is how many ready pods the run waits for before traffic.
	Initial int
	// ContainerConcurrency is the pods' limit, which the function's
	// activator balances by (0: unlimited).
	ContainerConcurrency int
	// Revisions, for a function with revisions, are its revisions'
	// Deployments and Services (targets.Revisions) and the split the
	// function's activator routes by; Deployment and Service are then nil.
	Revisions *targets.RevisionSet
}

// revisionFunction renders function i of sc, which has revisions, as one
// Deployment and Service per revision (targets.Revisions), each pod
// labelled as the run's and running fn with its revision's service time.
func revisionFunction(sc *scenarios.Scenario, i int, name string, pol scenarios.Policy, ns string, fnArgs []string, command *scenarios.Command) (Function, error) {
	f := sc.Functions[i]
	if pol.Name == "hpa" {
		return Function{}, fmt.Errorf("%s: function %q has revisions, which run under scalebench's controller; hpa is kube-controller-manager's own HPA and does not split traffic: choose kpa, knative or another scalebench policy", sc.Name, f.Name)
	}
	if command != nil || f.Command != nil {
		return Function{}, fmt.Errorf("%s: function %q has revisions and a user's command; the kubernetes backend runs revisions on cmd/fn only", sc.Name, f.Name)
	}
	for _, rev := range f.Revisions {
		if rev.TagTraffic != nil {
			return Function{}, fmt.Errorf("%s: function %q, revision %q: tagTraffic is not sent on the kubernetes backend (its activator serves the tag as /NAMESPACE/%s/)", sc.Name, f.Name, rev.Name, name+"-"+targets.ObjectName(rev.Name))
		}
	}
	if ro := pol.Rollout; ro != nil && (ro.MatchInitialScale || ro.MatchMinScale) {
		// The old revision's size at the switch is known only then (the
		// local platform reads it from its pods); this backend creates a
		// revision's objects with their scales fixed.
		return Function{}, fmt.Errorf("%s: function %q: rollout %s pre-scales to match the old revision, which the kubernetes backend does not run yet; give initialScale a pod count", sc.Name, f.Name, ro.Name)
	}
	set, err := targets.Revisions(sc, i, targets.RevisionOptions{Namespace: ns, Policy: pol.Name, Image: FnImage, Rollout: pol.Rollout})
	if err != nil {
		return Function{}, fmt.Errorf("%s: %w", sc.Name, err)
	}
	fn := Function{Name: f.Name, Object: set.Function, Revisions: set}
	for j := range set.Revisions {
		rt := &set.Revisions[j]
		rev := f.Revisions[j]
		if j == 0 || rev.ContainerConcurrency > fn.ContainerConcurrency {
			// One activator balances all of the function's revisions.
			fn.ContainerConcurrency = rev.ContainerConcurrency
		}
		for _, o := range []*metav1.ObjectMeta{&rt.Deployment.ObjectMeta, &rt.Service.ObjectMeta, &rt.Deployment.Spec.Template.ObjectMeta} {
			o.Labels[RunLabel] = "true"
			o.Labels[FunctionLabel] = set.Function
		}
		c := &rt.Deployment.Spec.Template.Spec.Containers[0]
		if rev.Service != nil {
			c.Args = append(c.Args, "--work="+rev.Service.Mean().String())
		}
		c.Args = append(c.Args, fnArgs...)
		if rev.MemoryMB > 0 {
			c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(fmt.Sprintf("%dMi", int(math.Ceil(rev.MemoryMB))))}
		}
	}
	return fn, nil
}

// Objects renders every function of sc under pol in namespace ns. fnArgs
// are extra cmd/fn flags; command, when set, is the user's function for
// every function (over the scenario's function: blocks).
func Objects(sc *scenarios.Scenario, pol scenarios.Policy, ns string, fnArgs []string, command *scenarios.Command) ([]Function, error) {
	var out []Function
	seen := map[string]string{}
	for i, f := range sc.Functions {
		name := targets.ObjectName(f.Name)
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("%s: functions %q and %q have the same Kubernetes name %q", sc.Name, prev, f.Name, name)
		}
		seen[name] = f.Name
		if len(f.Revisions) > 0 {
			fn, err := revisionFunction(sc, i, name, pol, ns, fnArgs, command)
			if err != nil {
				return nil, err
			}
			out = append(out, fn)
			continue
		}
		fn, err := function(sc, f, name, pol, ns, fnArgs, command)
		if err != nil {
			return nil, err
		}
		out = append(out, fn)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no functions", sc.Name)
	}
	return out, nil
}

func function(sc *scenarios.Scenario, f scenarios.Function, name string, pol scenarios.Policy, ns string, fnArgs []string, command *scenarios.Command) (Function, error) {
	fn := Function{Name: f.Name, Object: name, Command: f.Command}
	if command != nil {
		fn.Command = command
	}
	labels := map[string]string{FunctionLabel: name, RunLabel: "true"}
	c := corev1.Container{Name: "fn", Image: FnImage, Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: HTTPPort}}}
	if fn.Command != nil {
		fn.Image = CommandImagePrefix + name
		c.Image = fn.Image
	} else {
		// As on the local platform (platform.FunctionFor): the service
		// time's mean is fn's default work, a trace's per-request work
		// overrides it.
		if f.Service != nil {
			c.Args = append(c.Args, "--work="+f.Service.Mean().String())
		}
		c.Args = append(c.Args, fnArgs...)
	}
	podAnn := map[string]string{}
	for phase, d := range map[string]dist.Dist{"schedule": f.Startup.Schedule, "image-pull": f.Startup.ImagePull,
		"container-start": f.Startup.ContainerStart, "app-init": f.Startup.AppInit} {
		if d != nil {
			podAnn[node.AnnotationStartupPrefix+phase] = d.String()
		}
	}
	cc := f.ContainerConcurrency
	if pol.Name == "keepalive" {
		// An instance serves one request at a time, as on Lambda and on
		// the local platform, whatever the function's (Knative)
		// containerConcurrency.
		cc = 1
	}
	if cc > 0 {
		podAnn[node.AnnotationContainerConcurrency] = strconv.Itoa(cc)
	}
	fn.ContainerConcurrency = cc
	if f.MemoryMB > 0 {
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(fmt.Sprintf("%dMi", int(math.Ceil(f.MemoryMB))))}
	}
	grace := int64(30)
	replicas := int32(1)
	var depAnn map[string]string
	if pol.Name == "hpa" {
		hpa, min, err := hpaFor(pol, name, ns)
		if err != nil {
			return fn, fmt.Errorf("%s: %w", sc.Name, err)
		}
		fn.HPA, replicas = hpa, max(min, 1)
	} else {
		var err error
		if depAnn, replicas, err = annotationsFor(pol, cc); err != nil {
			return fn, fmt.Errorf("%s: %w", sc.Name, err)
		}
	}
	fn.Initial = int(replicas)
	fn.Deployment = &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: depAnn},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: podAnn},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{c}, TerminationGracePeriodSeconds: &grace},
			},
		},
	}
	fn.Service = &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	return fn, nil
}

// annotationsFor opts a Deployment in to scalebench's controller with the
// policy's settings (every one under autoscaling.scalebench.dev/, which
// takes any setting name), and returns the replicas it starts at: the
// policy's initial scale, as its first decision will ask.
func annotationsFor(pol scenarios.Policy, cc int) (map[string]string, int32, error) {
	known, err := autoscaler.Settings(pol.Name)
	if err != nil {
		return nil, 0, err
	}
	has := map[string]string{}
	for _, s := range known {
		has[s.Key] = s.Default
	}
	ann := map[string]string{controller.ClassAnnotation: pol.Name}
	for k, v := range pol.Settings {
		ann[controller.ScalebenchPrefix+k] = v
	}
	if _, given := pol.Settings["container-concurrency"]; !given && cc > 0 {
		if _, ok := has["container-concurrency"]; ok {
			ann[controller.ScalebenchPrefix+"container-concurrency"] = strconv.Itoa(cc)
		}
	}
	if _, ok, err := controller.ParseAnnotations(ann); !ok || err != nil {
		if err == nil {
			err = fmt.Errorf("policy %s does not run under scalebench's controller", pol.Name)
		}
		return nil, 0, err
	}
	replicas := int32(1)
	if v, ok := pol.Settings["initial-scale"]; ok {
		n, _ := strconv.Atoi(v)
		replicas = int32(n)
	} else if d, ok := has["initial-scale"]; ok {
		n, _ := strconv.Atoi(d)
		replicas = int32(n)
	}
	return ann, replicas, nil
}

// hpaFor is the autoscaling/v2 HPA the hpa policy's settings describe, on
// the metrics adapter's Pods metric, and its minReplicas. The settings that
// are kube-controller-manager flags (sync-period, tolerance) are given to
// the run's own control plane (ControllerManagerFlags).
func hpaFor(pol scenarios.Policy, name, ns string) (*autoscalingv2.HorizontalPodAutoscaler, int32, error) {
	vals, err := settings(pol)
	if err != nil {
		return nil, 0, err
	}
	atoi := func(k string) int32 { n, _ := strconv.Atoi(vals[k]); return int32(n) }
	secs := func(k string) int32 { d, _ := time.ParseDuration(vals[k]); return int32(d / time.Second) }
	metric := vals["metric"]
	if metric != "concurrency" && metric != "rps" {
		return nil, 0, fmt.Errorf("hpa metric=%s needs metrics-server and container CPU accounting, which pods as processes do not have; give --set metric=concurrency (the metrics adapter's per-pod concurrency) and a --set target", metric)
	}
	if vals["scale-to-zero-alpha"] == "true" || atoi("min-replicas") < 1 {
		return nil, 0, fmt.Errorf("hpa min-replicas=0 (scale-to-zero-alpha) needs the HPAScaleToZero feature gate and an External metric, which this backend does not set up; give min-replicas 1 or more")
	}
	q, err := resource.ParseQuantity(vals["target"])
	if err != nil {
		return nil, 0, fmt.Errorf("hpa target %q: want a number", vals["target"])
	}
	minR := atoi("min-replicas")
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
		MinReplicas:    &minR,
		MaxReplicas:    atoi("max-replicas"),
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: metric},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q}}}},
	}
	if vals["behavior"] == "true" {
		rules := func(dir string) *autoscalingv2.HPAScalingRules {
			window := secs("scale-" + dir + "-stabilization")
			r := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window}
			period := secs("scale-" + dir + "-period")
			if n := atoi("scale-" + dir + "-pods"); n > 0 {
				r.Policies = append(r.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: n, PeriodSeconds: period})
			}
			if n := atoi("scale-" + dir + "-percent"); n > 0 {
				r.Policies = append(r.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: n, PeriodSeconds: period})
			}
			sel := autoscalingv2.MaxChangePolicySelect
			r.SelectPolicy = &sel
			if tol := vals["scale-"+dir+"-tolerance"]; tol != "" && tol != "-1" {
				if q, err := resource.ParseQuantity(tol); err == nil {
					r.Tolerance = &q
				}
			}
			return r
		}
		spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: rules("up"), ScaleDown: rules("down")}
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{FunctionLabel: name, RunLabel: "true"}},
		Spec:       spec,
	}, minR, nil
}

// settings checks pol's settings the way every world does and returns
// every setting's value, defaults filled in.
func settings(pol scenarios.Policy) (map[string]string, error) {
	if _, err := autoscaler.New(pol.Name, pol.Settings); err != nil {
		return nil, err
	}
	known, err := autoscaler.Settings(pol.Name)
	if err != nil {
		return nil, err
	}
	vals := map[string]string{}
	for _, k := range known {
		vals[k.Key] = k.Default
	}
	for k, v := range pol.Settings {
		vals[k] = v
	}
	return vals, nil
}

// ControllerManagerFlags are the kube-controller-manager flags policy pol
// needs of the run's own control plane: for hpa, the settings that are
// flags rather than HPA fields.
func ControllerManagerFlags(pol scenarios.Policy) ([]string, error) {
	if pol.Name != "hpa" {
		return nil, nil
	}
	vals, err := settings(pol)
	if err != nil {
		return nil, err
	}
	flags := []string{
		"--horizontal-pod-autoscaler-sync-period=" + vals["sync-period"],
		"--horizontal-pod-autoscaler-tolerance=" + vals["tolerance"],
	}
	if vals["behavior"] != "true" {
		flags = append(flags, "--horizontal-pod-autoscaler-downscale-stabilization="+vals["scale-down-stabilization"])
	}
	sort.Strings(flags)
	return flags, nil
}
