package targets

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/kube/activator"
	"github.com/scalebench/scalebench/kube/node"
	"github.com/scalebench/scalebench/route"
	"github.com/scalebench/scalebench/scenarios"
)

// RevisionOptions place a function's revisions on the Kubernetes backend:
// pods as processes on scalebench's node (kube/node), autoscaled by
// scalebench's controller, requests split by its activator.
type RevisionOptions struct {
	Namespace string
	// Policy is every revision's controller class (kpa, knative,
	// openfaas-ce, keepalive, ...); its settings are the scenario's entry
	// for it with each revision's own laid over, as in the simulator.
	Policy string
	// Image is the function's image; default the node's cmd/fn.
	Image string
	// Rollout, when set, makes the function's rollout steps the variant's
	// way (route.ApplyRollout) and lays its settings over the rolled-out
	// revisions' (route.VariantSettings: initial-scale, min-scale, as the
	// controller reads them); MatchPods is the old revision's pods for a
	// variant that pre-scales to match them.
	Rollout   *scenarios.Rollout
	MatchPods int
}

// RevisionSet is a function with revisions on Kubernetes: one Deployment
// and Service per revision, and the schedule the activator's route splits
// the function's traffic by.
type RevisionSet struct {
	// Function is the route's name: /NAMESPACE/FUNCTION/ on the activator.
	Function  string
	Revisions []RevisionTarget
	Steps     []scenarios.SplitStep
}

// RevisionTarget is one revision's objects. A revision with DeployAt > 0
// is created then (its Deployment at InitialScale replicas), as Knative
// makes a revision when the Service changes.
type RevisionTarget struct {
	// Name is the scenario's; the objects are named Service.Name.
	Name         string
	DeployAt     time.Duration
	InitialScale int
	Deployment   *appsv1.Deployment
	Service      *corev1.Service
}

// Route is the activator route of the set, its schedule starting at start.
func (s *RevisionSet) Route(start time.Time, seed uint64) activator.Route {
	r := activator.Route{Name: s.Function, Steps: s.Steps, Start: start, Seed: seed}
	for _, rev := range s.Revisions {
		r.Revisions = append(r.Revisions, rev.Service.Name)
		r.InitialScale = append(r.InitialScale, rev.InitialScale)
	}
	return r
}

// RouteConfigMap is the set's route as the ConfigMap a deployed activator
// (scalebench controller --activator-addr) watches, in namespace ns. A zero
// start leaves the schedule's time 0 to the ConfigMap's creation.
func (s *RevisionSet) RouteConfigMap(ns string, start time.Time, seed uint64) (*corev1.ConfigMap, error) {
	return activator.RouteConfigMap(s.Route(start, seed), ns)
}

// Revisions builds the per-revision targets of function fn of sc, which
// must have revisions.
func Revisions(sc *scenarios.Scenario, fn int, opt RevisionOptions) (*RevisionSet, error) {
	if fn < 0 || fn >= len(sc.Functions) {
		return nil, fmt.Errorf("targets: scenario %s has %d functions, no function %d", sc.Name, len(sc.Functions), fn)
	}
	f := sc.Functions[fn]
	if len(f.Revisions) == 0 {
		return nil, fmt.Errorf("targets: scenario %s: function %s has no revisions", sc.Name, f.Name)
	}
	if opt.Image == "" {
		opt.Image = node.ImageRegistry + "fn"
	}
	if opt.Policy == "" {
		opt.Policy = "kpa"
	}
	if opt.Policy == "hpa" {
		return nil, fmt.Errorf("targets: function %s: revisions run under scalebench's controller, and hpa is kube-controller-manager's own; choose another policy", f.Name)
	}
	base, _, err := settings(sc, opt.Policy)
	if err != nil {
		return nil, err
	}
	set := &RevisionSet{Function: ObjectName(f.Name), Steps: f.Split}
	rolled := map[int]bool{}
	if ro := opt.Rollout; ro != nil {
		if (ro.MatchInitialScale || ro.MatchMinScale) && opt.MatchPods < 1 {
			return nil, fmt.Errorf("targets: function %s: rollout %s pre-scales to the old revision's pods: give their count (MatchPods)", f.Name, ro.Name)
		}
		set.Steps = route.ApplyRollout(f.Split, *ro, len(f.Revisions))
		rolled = route.RolledOut(f.Split)
	}
	seen := map[string]string{set.Function: "the function's route"}
	for j, rev := range f.Revisions {
		vals := maps.Clone(base)
		if vals == nil {
			vals = map[string]string{}
		}
		maps.Copy(vals, rev.Settings)
		if rolled[j] {
			vals, _, _ = route.VariantSettings(*opt.Rollout, vals, opt.MatchPods)
		}
		all, err := policySettings(opt.Policy, vals)
		if err != nil {
			return nil, fmt.Errorf("targets: function %s, revision %s: %w", f.Name, rev.Name, err)
		}
		name := revisionObjectName(set.Function, rev.Name)
		if other, dup := seen[name]; dup {
			return nil, fmt.Errorf("targets: function %s: revision %s and %s are both objects named %s", f.Name, rev.Name, other, name)
		}
		seen[name] = "revision " + rev.Name
		initial := 1
		if v, ok := all["initial-scale"]; ok {
			if initial, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("targets: function %s, revision %s: initial-scale %q: want a whole number", f.Name, rev.Name, v)
			}
		}
		ann := map[string]string{"autoscaling.knative.dev/class": opt.Policy}
		for _, k := range sortedKeys(vals) {
			if a := knativeAnnotations[k]; a != "" {
				ann["autoscaling.knative.dev/"+a] = vals[k]
			} else {
				ann["autoscaling.scalebench.dev/"+k] = vals[k]
			}
		}
		if rev.ContainerConcurrency > 0 {
			ann["autoscaling.scalebench.dev/container-concurrency"] = strconv.Itoa(rev.ContainerConcurrency)
		}
		set.Revisions = append(set.Revisions, RevisionTarget{
			Name: rev.Name, DeployAt: rev.DeployAt, InitialScale: initial,
			Deployment: revisionDeployment(rev, name, set.Function, opt, int32(initial), ann),
			Service:    revisionService(name, opt),
		})
	}
	return set, nil
}

// revisionObjectName is a revision's Deployment and Service name: the
// function's and the revision's, within a DNS label's 63 characters.
func revisionObjectName(fn, rev string) string {
	name := fn + "-" + ObjectName(rev)
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	return name
}

// revisionDeployment is one revision's pods as the process node runs them:
// its start-up phases as the node's annotations (the node waits them out
// and passes app-init to fn), its containerConcurrency to the node's
// queue-proxy.
func revisionDeployment(rev scenarios.Revision, name, fn string, opt RevisionOptions, replicas int32, ann map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app": name, "scalebench.dev/function": fn}
	podAnn := map[string]string{}
	for phase, d := range map[string]dist.Dist{"schedule": rev.Startup.Schedule, "image-pull": rev.Startup.ImagePull,
		"container-start": rev.Startup.ContainerStart, "app-init": rev.Startup.AppInit} {
		if d != nil {
			podAnn[node.AnnotationStartupPrefix+phase] = d.String()
		}
	}
	if rev.ContainerConcurrency > 0 {
		podAnn[node.AnnotationContainerConcurrency] = strconv.Itoa(rev.ContainerConcurrency)
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opt.Namespace, Labels: labels, Annotations: ann},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: podAnn},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr(int64(10)),
					Containers: []corev1.Container{{
						Name:  "fn",
						Image: opt.Image,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: node.DefaultPort}},
					}},
				},
			},
		},
	}
}

func revisionService(name string, opt RevisionOptions) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opt.Namespace, Labels: map[string]string{"app": name}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
}
