package bench

import (
	"context"
	"errors"
	"math"
	"os"
	"time"

	"github.com/scalebench/scalebench/autoscaler/controller"
	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/loadgen"
	"github.com/scalebench/scalebench/platform"
	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/scenarios"
)

// Local is the embedded local platform as a Backend (package platform:
// pods of cmd/fn behind queue-proxies and an activator on 127.0.0.1, scaled
// by the policy through the controller), driven by the load generator.
type Local struct {
	// FnBinary is the cmd/fn executable.
	FnBinary string
	// FnArgs are extra cmd/fn flags for every function.
	FnArgs []string
	// Command, when set, runs the user's function for every function.
	Command *scenarios.Command
}

var (
	_ Backend    = Local{}
	_ PathProber = Local{}
)

func newLocal(cfg Config) (Backend, error) {
	if st, err := os.Stat(cfg.FnBinary); cfg.Command == nil && (cfg.FnBinary == "" || err != nil || st.IsDir()) {
		return nil, badinput.Errorf("the local backend needs cmd/fn built beside scalebench (%s); run make build", cfg.FnBinary)
	}
	return Local{FnBinary: cfg.FnBinary, FnArgs: cfg.FnArgs, Command: cfg.Command}, nil
}

func (Local) Name() string { return "local" }

func (b Local) Run(ctx context.Context, r Run) (*Result, error) {
	res, err := platform.RunScenario(ctx, r.Scenario, r.Policy, platform.RunOptions{
		FnBinary: b.FnBinary, FnArgs: b.FnArgs, Requests: r.Requests, Progress: r.Progress, Log: r.Log,
		Deployed: r.Deployed, FullDuration: r.Deployed, Command: b.Command,
	})
	// A RunFailure comes with its result: the run ended, its figures stand,
	// and the caller decides (the summary is written, the command fails).
	var failed *platform.RunFailure
	if err != nil && (res == nil || !errors.As(err, &failed)) {
		return nil, err
	}
	if res.Summary == nil {
		return nil, errors.New("local platform returned no summary")
	}
	if r.Timeseries != nil {
		if err := platform.WriteTimeseries(r.Timeseries, res.Started, res.Began, res.Ticks, res.Routes); err != nil {
			return nil, err
		}
	}
	if r.Revision != nil && len(res.Routes) > 0 {
		platform.RevisionSeconds(res.Began, r.Scenario.Duration, res.Ticks, res.Routes, func(t int64, name string, ready, percent int) {
			r.Revision(RevisionSecond{T: t, Name: name, Ready: ready, Percent: percent})
		})
	}
	// Pods come from the controller's ticks; traffic, cold starts and
	// latency from the load generator's requests.csv.
	if r.Second != nil {
		for sec, c := range podsPerSecond(res.Ticks, res.Started, r.Scenario.Duration) {
			r.Second(Second{T: int64(sec), Desired: c.desired, Ready: c.ready})
		}
	}
	out := &Result{Summary: *res.Summary, Ticks: res.Ticks, Started: res.Started, Began: res.Began,
		Startups: map[string][]PodStartup{}}
	for name, sts := range res.Startups {
		for _, s := range sts {
			out.Startups[name] = append(out.Startups[name], PodStartup{Pod: s.Pod, Created: s.Created, Exec: s.Exec, Ready: s.Ready})
		}
	}
	if failed != nil {
		return out, failed
	}
	return out, nil
}

type podCount struct{ desired, ready int }

// podsPerSecond turns the controller's ticks into one row per second of
// the run: a policy ticks every 2 s (KPA) or 15 s (HPA), and between ticks
// the pods are what the last tick left, not zero. Revisions add up.
func podsPerSecond(ticks []controller.Tick, started time.Time, d time.Duration) []podCount {
	n := int(math.Ceil(d.Seconds()))
	out := make([]podCount, n)
	last := map[string]podCount{}
	i := 0
	for sec := 0; sec < n; sec++ {
		end := started.Add(time.Duration(sec+1) * time.Second)
		for ; i < len(ticks) && ticks[i].Time.Before(end); i++ {
			t := ticks[i]
			last[t.Revision] = podCount{desired: t.Decision.Desired, ready: t.Pods.Ready}
		}
		for _, c := range last {
			out[sec].desired += c.desired
			out[sec].ready += c.ready
		}
	}
	return out
}

// ProbePath starts a one-pod platform with a zero-work fn and times n
// requests straight to the pod and n through the activator, interleaved so
// both see the same machine load.
func (b Local) ProbePath(ctx context.Context, n int) (direct, proxied []time.Duration, err error) {
	p, err := platform.Start(platform.Config{FnBinary: b.FnBinary, Functions: []platform.Function{{
		Name: "probe", Args: []string{"--init=0s", "--work=0s"}, Policy: "kpa",
		Settings: map[string]string{"min-scale": "1", "initial-scale": "1"},
	}}})
	if err != nil {
		return nil, nil, err
	}
	defer p.Close(context.Background())
	var pod *pods.Pod
	for deadline := time.Now().Add(30 * time.Second); pod == nil; {
		if ps, _ := p.Pods("probe"); ps.Ready > 0 {
			if l := p.PodList("probe"); len(l) > 0 {
				pod = l[0]
			}
		}
		if pod == nil {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, nil, errors.New("the probe pod did not become ready in 30s")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return loadgen.ProbePath(ctx, "http://"+pod.Addr+"/", p.URL()+"/", n)
}
