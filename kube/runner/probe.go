package runner

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/scalebench/scalebench/kube/activator"
	"github.com/scalebench/scalebench/loadgen"
	"github.com/scalebench/scalebench/scenarios"
)

// ProbePath brings up a world with one pod of a zero-work cmd/fn and times
// n requests straight to the pod's IP (its queue-proxy, which the node puts
// in front of every pod) and n through the activator, interleaved so both
// see the same machine load. The difference is the activator's hop; the
// proxied times are the whole request path a function's requests take.
func ProbePath(ctx context.Context, cfg Config, n int, progress io.Writer) (direct, proxied []time.Duration, err error) {
	if progress == nil {
		progress = io.Discard
	}
	sc := &scenarios.Scenario{Name: "probe", Functions: []scenarios.Function{{Name: "probe"}}}
	// A Deployment at one replica that nothing autoscales.
	fns, err := Objects(sc, scenarios.Policy{Name: "kpa"}, "", []string{"--init=0s", "--work=0s"}, nil)
	if err != nil {
		return nil, nil, err
	}
	fns[0].Deployment.Annotations = nil
	w, err := up(ctx, cfg, nil, nil, progress)
	if err != nil {
		return nil, nil, err
	}
	r := &run{cfg: cfg, w: w, sc: sc, progress: progress, log: io.Discard}
	if cfg.Log != nil {
		r.log = cfg.Log
	}
	defer func() {
		failed := err != nil && ctx.Err() == nil
		if derr := r.tearDown(failed); derr != nil && err == nil {
			err = derr
		}
		if failed && w.own {
			err = fmt.Errorf("%w (control-plane logs and pods.log kept in %s)", err, w.dir)
		}
	}()
	direct, proxied, err = r.probe(ctx, fns, n)
	return direct, proxied, err
}

func (r *run) probe(ctx context.Context, fns []Function, n int) (direct, proxied []time.Duration, err error) {
	cs := r.w.client
	ns, err := r.namespace(ctx)
	if err != nil {
		return nil, nil, err
	}
	act, err := activator.New(activator.Config{Client: cs, Namespace: ns, Registerer: prometheus.NewRegistry()})
	if err != nil {
		return nil, nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() { defer r.wg.Done(); act.Run(wctx) }()
	actAddr, err := r.serve(act)
	if err != nil {
		return nil, nil, err
	}
	f := fns[0]
	f.Deployment.Namespace, f.Service.Namespace = ns, ns
	if _, err := cs.CoreV1().Services(ns).Create(ctx, f.Service, metav1.CreateOptions{}); err != nil {
		return nil, nil, err
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, f.Deployment, metav1.CreateOptions{}); err != nil {
		return nil, nil, err
	}
	if err := r.waitDeployed(ctx, fns, map[string]*activator.Activator{f.Object: act}, nil); err != nil {
		return nil, nil, err
	}
	pl, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{FunctionLabel: f.Object}.String()})
	if err != nil || len(pl.Items) == 0 || pl.Items[0].Status.PodIP == "" {
		return nil, nil, fmt.Errorf("kubernetes: the probe pod has no IP (%v)", err)
	}
	return loadgen.ProbePath(ctx, fmt.Sprintf("http://%s:%d/", pl.Items[0].Status.PodIP, HTTPPort), "http://"+actAddr+"/"+ns+"/"+f.Object+"/", n)
}
