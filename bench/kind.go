package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/kube/podwatch"
	"github.com/scalebench/scalebench/kube/targets"
	"github.com/scalebench/scalebench/loadgen"
)

// Kind is a kind cluster set up by kind-config/ as a Backend. A policy names
// the target that runs it, each behind its own platform's front door, all
// on 127.0.0.1 (kind-config/cluster.yaml maps the NodePorts there):
//
//   - knative: the Knative Service, through Kourier, by its Host;
//   - openfaas-ce: the OpenFaaS CE function, through the gateway;
//   - hpa: the Deployment under the real HPA, through its Service;
//   - kpa: the Deployment under scalebench's controller, through the
//     activator (/NAMESPACE/SERVICE/...); for a function with revisions,
//     the activator's route of the same name and every revision's pods.
//
// The HPA and OpenFaaS have no traffic split and refuse a function with
// revisions.
//
// kind-config/bench.sh deploys the targets first (scalebench kind
// manifests). Traffic comes from the load generator, cold starts and latency
// from its requests, and pods from the API (kube/podwatch), the same way for
// every target.
type Kind struct {
	Client kubernetes.Interface
	// Doors are the targets by policy name.
	Doors map[string]Door
}

// Door is one target's front door and the pods behind it.
type Door struct {
	URL string
	// Host, when set, is sent as the Host header (Kourier routes by it).
	Host string
	// Namespace and Selector pick the target's pods.
	Namespace, Selector string
}

var (
	_ Backend = Kind{}
	_ InTurn  = kindBackend{}
)

// KindDoors are the doors kind-config sets up for one function's targets
// (kube/targets' names), in namespace ns.
func KindDoors(function, ns string) map[string]Door {
	name := targets.ObjectName(function)
	return map[string]Door{
		"knative": {URL: "http://127.0.0.1:31080/", Host: name + "." + ns + ".kind.local",
			Namespace: ns, Selector: "serving.knative.dev/service=" + name},
		"openfaas-ce": {URL: "http://127.0.0.1:31112/function/" + name,
			Namespace: "openfaas-fn", Selector: "faas_function=" + name},
		"hpa": {URL: "http://127.0.0.1:31091/",
			Namespace: ns, Selector: "app.kubernetes.io/name=" + name + ",scalebench.dev/target=" + targets.HPA},
		// The activator routes /NAMESPACE/SERVICE/... to the revision.
		"kpa": {URL: "http://127.0.0.1:31090/" + ns + "/" + name + "-" + targets.Scalebench + "/",
			Namespace: ns, Selector: "app.kubernetes.io/name=" + name + ",scalebench.dev/target=" + targets.Scalebench},
	}
}

func newKind(cfg Config) (Backend, error) {
	path := cfg.Kubeconfig
	if path == "" {
		path = os.Getenv("KUBECONFIG")
	}
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".kube", "config")
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	over := &clientcmd.ConfigOverrides{CurrentContext: "kind-scalebench"}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, over).ClientConfig()
	if err != nil {
		return nil, badinput.Errorf("the kind backend needs the kind-scalebench context in %s (make kind-up): %v", path, err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	ns := cfg.Namespace
	if ns == "" {
		ns = targets.DefaultOptions().Namespace
	}
	return kindBackend{client: client, ns: ns}, nil
}

// kindBackend finds each run's doors from the scenario's first function,
// the one kind manifests deploys.
type kindBackend struct {
	client kubernetes.Interface
	ns     string
}

func (kindBackend) Name() string { return "kind" }

// InTurn: the four targets share the cluster's nodes, so each gets the
// traffic alone.
func (kindBackend) InTurn() {}

func (b kindBackend) Run(ctx context.Context, r Run) (*Result, error) {
	if len(r.Scenario.Functions) == 0 {
		return nil, badinput.Errorf("kind: scenario %s has no function", r.Scenario.Name)
	}
	f := r.Scenario.Functions[0]
	doors := KindDoors(f.Name, b.ns)
	if len(f.Revisions) > 0 {
		// kind manifests renders a function with revisions for Knative and
		// scalebench's controller only; the controller's pods are every
		// revision's, behind the activator's route of the same door.
		for _, t := range []string{targets.HPA, targets.OpenFaaS} {
			if r.Policy.Name == t {
				return nil, badinput.Errorf("kind: %s", targets.RefusedMessage(t, f.Name))
			}
		}
		kpa := doors["kpa"]
		kpa.Selector = targets.FunctionLabel + "=" + targets.ObjectName(f.Name) + ",scalebench.dev/target=" + targets.Scalebench
		doors["kpa"] = kpa
	}
	return Kind{Client: b.client, Doors: doors}.Run(ctx, r)
}

func (Kind) Name() string { return "kind" }

// Run sends the scenario's traffic to the policy's target and counts its
// pods while it does.
func (k Kind) Run(ctx context.Context, r Run) (*Result, error) {
	door, ok := k.Doors[r.Policy.Name]
	if !ok {
		var known []string
		for name := range k.Doors {
			known = append(known, name)
		}
		sort.Strings(known)
		return nil, badinput.Errorf("kind: policy %s has no target on the cluster (kind runs %s)", r.Policy.Name, strings.Join(known, ", "))
	}
	sel, err := labels.Parse(door.Selector)
	if err != nil {
		return nil, fmt.Errorf("kind: selector %q: %w", door.Selector, err)
	}
	counter := podwatch.New(k.Client, door.Namespace, sel)
	wctx, stopWatch := context.WithCancel(ctx)
	var (
		wg      sync.WaitGroup
		watchEr error
	)
	wg.Add(1)
	go func() { defer wg.Done(); watchEr = counter.Run(wctx, time.Second) }()

	cfg := loadgen.Config{
		URLs: []string{door.URL}, Pattern: r.Scenario.Traffic, Duration: r.Scenario.Duration, Seed: r.Scenario.Seed,
		Requests: r.Requests, Progress: r.Progress, Log: r.Log, Scenario: r.Scenario.Name, Backend: "kind",
	}
	if door.Host != "" {
		cfg.Header = http.Header{"Host": {door.Host}}
	}
	began := time.Now()
	rep, err := loadgen.Attack(ctx, cfg)
	stopWatch()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if watchEr != nil {
		return nil, fmt.Errorf("kind: counting %s pods: %w", r.Policy.Name, watchEr)
	}
	sum := *rep.Summary
	sum.Kind, sum.Policy = "run", r.Policy.Label
	f := counter.Figures()
	sum.PodStarts, sum.PodSeconds, sum.MaxPods = f.PodStarts, f.PodSeconds, f.MaxPods
	samples := counter.Samples()
	if r.Timeseries != nil {
		fmt.Fprintln(r.Timeseries, "t,pods,ready")
		for _, s := range samples {
			fmt.Fprintf(r.Timeseries, "%.0f,%d,%d\n", s.At.Seconds(), s.Pods, s.Ready)
		}
	}
	if r.Second != nil {
		last := int64(-1)
		for _, s := range samples {
			if t := int64(s.At / time.Second); t > last && t < int64(r.Scenario.Duration/time.Second) {
				r.Second(Second{T: t, Desired: s.Pods, Ready: s.Ready})
				last = t
			}
		}
	}
	if rep.Interrupted {
		return &Result{Summary: sum, Started: began, Began: began}, errors.New("kind: interrupted")
	}
	return &Result{Summary: sum, Started: began, Began: began}, nil
}
