package platform

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scalebench/scalebench/autoscaler/controller"
	"github.com/scalebench/scalebench/loadgen"
	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/results"
	knroute "github.com/scalebench/scalebench/route"
	"github.com/scalebench/scalebench/scenarios"
)

// RunOptions tune RunScenario.
type RunOptions struct {
	// FnBinary is the cmd/fn executable.
	FnBinary string
	// Requests receives the load generator's per-request CSV (nil: none).
	Requests io.Writer
	// Progress receives the load generator's progress line (nil: none).
	Progress io.Writer
	// Log receives warnings and platform errors (nil: none).
	Log io.Writer
	// FnArgs are extra cmd/fn flags for every function, after (and so over)
	// those derived from the scenario.
	FnArgs []string
	// StopTimeout bounds each pod's drain at the end; default 30 s.
	StopTimeout time.Duration
	// Command, when set, runs the user's function under the runtime
	// contract for every function of the scenario, over the scenario's own
	// `function:` blocks (--function-cmd).
	Command *scenarios.Command
	// Deployed starts the traffic only once the pods of the autoscaler's
	// first decision (initial-scale) are ready, as the simulator does: its
	// run begins with a deployed revision. Without it the first requests
	// also wait for the initial pods. The traffic then also starts on the
	// autoscaler's tick grid, as the simulator's (time 0 is a tick, the
	// first Record covers the traffic's first second), and the pod figures
	// (pod_starts, pod_seconds, idle_pod_seconds) count from the traffic's
	// start: the deployment before it is not part of the simulated run.
	Deployed bool
	// FullDuration keeps the platform running until the scenario's
	// duration has passed since the traffic began, even when the last
	// response came earlier, so pod-seconds cover the same span as the
	// simulator's run (which ends at the duration or the last completion,
	// whichever is later).
	FullDuration bool
}

// RunResult is one scenario run on the local platform.
type RunResult struct {
	Summary *results.Summary
	// Ticks are the autoscaler's decisions, for timeseries.csv.
	Ticks []controller.Tick
	// Started is the platform's start, the zero of the ticks' times.
	Started time.Time
	// Began is when the load generator started the traffic (after the
	// initial pods were ready with Deployed), to line the ticks up with
	// the simulator's clock, whose zero is the traffic's start.
	Began time.Time
	// Startups are the measured start-ups of the pods that became ready,
	// by function name.
	Startups map[string][]pods.Startup
	// Routes are the functions with revisions: each revision's creation
	// and the splits put in force, for timeseries.csv (WriteTimeseries).
	Routes []RouteStatus
}

// RunFailure is a run that produced its summary but must not pass: it was
// interrupted, no request completed, or its pods crash-looped. RunScenario
// returns it with the result, so the summary is still written and the
// command exits non-zero.
type RunFailure struct {
	// Interrupted is true when the run's context ended (SIGINT, SIGTERM).
	Interrupted bool
	// NoneCompleted is true when requests were sent and none completed.
	NoneCompleted bool
	Requests      int64
	// CrashLoop, when set, is the first of the crashes of pods that died
	// before they were ready, when several did.
	CrashLoop  *results.PodCrash
	CrashCount int64
}

// crashLoopAfter is how many pods dying before readiness make a crash loop:
// one may be bad luck, three in one run is the function failing to start.
const crashLoopAfter = 3

func (f *RunFailure) Error() string {
	var parts []string
	if f.Interrupted {
		parts = append(parts, "interrupted")
	}
	if f.NoneCompleted {
		parts = append(parts, fmt.Sprintf("none of %d requests completed", f.Requests))
	}
	if c := f.CrashLoop; c != nil {
		msg := fmt.Sprintf("pods crash-looped (%d crashes; %s: %s", f.CrashCount, c.Pod, c.Exit)
		if tail := strings.TrimSpace(c.StderrTail); tail != "" {
			lines := strings.Split(tail, "\n")
			msg += "; stderr: " + strings.Join(lines[max(0, len(lines)-3):], " | ")
		}
		parts = append(parts, msg+")")
	}
	return "run failed: " + strings.Join(parts, "; ") + " (summary written)"
}

// FunctionFor maps a scenario function onto the platform: its start-up
// phases are drawn per pod (see Function.Startup; the real process start and
// readiness probe come on top, as a container runtime's would), and the
// service time's mean becomes fn's default work, which a trace's
// per-request work overrides.
func FunctionFor(f scenarios.Function, sc *scenarios.Scenario, pol scenarios.Policy) Function {
	var args []string
	if f.Service != nil {
		args = append(args, "--work="+f.Service.Mean().String())
	}
	return Function{
		Name: f.Name, Args: args, ContainerConcurrency: f.ContainerConcurrency,
		Policy: pol.Name, Settings: pol.Settings,
		QueueDepth: sc.Activator.QueueDepth, QueueTimeout: sc.Activator.Timeout,
		Startup: f.Startup, Seed: sc.Seed, Command: PodCommand(f.Command),
	}
}

// PodCommand maps a scenario's function command onto the pod manager's
// runtime contract; nil stays nil (cmd/fn).
func PodCommand(c *scenarios.Command) *pods.Command {
	if c == nil {
		return nil
	}
	return &pods.Command{Argv: append([]string(nil), c.Argv...), Dir: c.Dir, Env: append([]string(nil), c.Env...),
		PortEnv: c.PortEnv, ReadinessPath: c.ReadinessPath, ProbePeriod: c.ProbePeriod}
}

// RunScenario starts a platform for sc's functions under pol, drives sc's
// traffic through it with the load generator, stops everything and returns
// the load generator's summary completed with the pods' figures. A run
// that ended but must not pass returns its result and a *RunFailure.
func RunScenario(ctx context.Context, sc *scenarios.Scenario, pol scenarios.Policy, opts RunOptions) (*RunResult, error) {
	if len(sc.Functions) == 0 {
		return nil, fmt.Errorf("scenario %s: no functions", sc.Name)
	}
	cfg := Config{FnBinary: opts.FnBinary, Log: opts.Log, StopTimeout: opts.StopTimeout}
	for i, f := range sc.Functions {
		if len(f.Revisions) > 0 {
			rc, err := RouteFor(f, i, sc, pol)
			if err != nil {
				return nil, err
			}
			for j := range rc.Revisions {
				fn := &rc.Revisions[j].Function
				fn.Args = append(fn.Args, opts.FnArgs...)
				if opts.Command != nil {
					fn.Command = PodCommand(opts.Command)
				}
			}
			cfg.Routes = append(cfg.Routes, rc)
			continue
		}
		fn := FunctionFor(f, sc, pol)
		fn.Args = append(fn.Args, opts.FnArgs...)
		if opts.Command != nil {
			fn.Command = PodCommand(opts.Command)
		}
		cfg.Functions = append(cfg.Functions, fn)
	}
	p, err := Start(cfg)
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			p.Close(context.Background())
		}
	}()
	if opts.Deployed {
		if err := waitDeployed(ctx, p); err != nil {
			return nil, err
		}
		if err := waitGrid(ctx, p); err != nil {
			return nil, err
		}
	}
	urls := make([]string, len(sc.Functions))
	names := make([]string, len(sc.Functions))
	for i, f := range sc.Functions {
		urls[i], names[i] = p.FunctionURL(f.Name), f.Name
	}
	// Traffic to tags goes to their URLs, merged with the scenario's as
	// the simulator merges it.
	tags, tagURLs, tagNames := TagTraffic(sc, p.URL(), len(urls))
	urls, names = append(urls, tagURLs...), append(names, tagNames...)
	pattern := knroute.WithTags(sc.Traffic, tags)
	// The pods' figures at the traffic's start, subtracted at the end with
	// Deployed (see RunOptions.Deployed).
	type podFigures struct {
		st   pods.Stats
		idle float64
	}
	base := map[string]podFigures{}
	began := time.Now()
	p.BeginRoutes(began)
	if opts.Deployed {
		for _, name := range p.Functions() {
			base[name] = podFigures{p.PodStats(name), p.IdleSeconds(name)}
		}
	}
	sum, err := loadgen.Run(ctx, loadgen.Config{
		URLs: urls, Functions: names, Pattern: pattern, Duration: sc.Duration, Seed: sc.Seed,
		Requests: opts.Requests, Progress: opts.Progress, Log: opts.Log,
		Scenario: sc.Name, Backend: "local",
		// The activator and queue-proxy share this process: each request
		// in flight holds the generator's connection, the activator's
		// and the one to the pod.
		FilesPerRequest: 3,
		// A request the platform still holds at the end (queued for a pod
		// that is starting) is waited for, as the simulator waits for
		// every request; an interrupt still ends the run at once.
		Drain: loadgen.DefaultTimeout,
	})
	if err != nil {
		return nil, err
	}
	// Read at once: the shutdown below must not be mistaken for it.
	interrupted := ctx.Err() != nil
	if left := sc.Duration - time.Since(began); opts.FullDuration && left > 0 {
		select {
		case <-time.After(left):
		case <-ctx.Done():
		}
	}
	// The schedule ends with the traffic. Pod figures cover the run, not
	// the drain at shutdown.
	p.endRoutes()
	startups := map[string][]pods.Startup{}
	var times []results.StartupTimes
	fail := &RunFailure{Interrupted: interrupted}
	var startingCrashes int64
	for _, name := range p.Functions() {
		for _, c := range p.Crashes(name) {
			pc := results.PodCrash{Pod: c.Pod, Phase: "starting", Exit: c.Exit, InFlight: c.InFlight,
				StderrTail: c.StderrTail, AtSeconds: c.At.Sub(began).Seconds()}
			if c.Serving {
				pc.Phase = "serving"
			} else if fail.CrashLoop == nil {
				fail.CrashLoop = &pc
			}
			sum.Crashes = append(sum.Crashes, pc)
		}
		startups[name] = p.Startups(name)
		for _, st := range p.PodStartups(name) {
			times = append(times, results.StartupTimes{Poke: st.Trigger, Spawned: st.Spawned,
				Listening: st.Listening, Ready: st.Ready, Released: st.Released})
		}
		st, b := p.PodStats(name), base[name]
		sum.PodStarts += st.Starts - b.st.Starts
		sum.PodCrashes += st.Crashes - b.st.Crashes
		sum.PodCrashesServing += st.CrashesServing - b.st.CrashesServing
		startingCrashes += st.Crashes - st.CrashesServing
		sum.PodSeconds += st.PodSeconds - b.st.PodSeconds
		sum.IdlePodSeconds += p.IdleSeconds(name) - b.idle
		sum.MaxPods += st.MaxPods
		for kind, n := range p.Errors(name) {
			if sum.Errors == nil {
				sum.Errors = map[string]int64{}
			}
			sum.Errors["activator_"+kind] += n
		}
	}
	if len(times) > 0 {
		sum.PodStartup = results.NewPodStartup(times)
	}
	routes := p.Routes()
	if len(routes) > 0 {
		revisionSummaries(sum, routes, func(key string) (pods.Stats, pods.Stats) {
			return p.PodStats(key), base[key].st
		})
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	closed = true
	if err := p.Close(closeCtx); err != nil {
		return nil, err
	}
	sum.Kind = "run"
	sum.Policy = pol.Label
	if sum.Policy == "" {
		sum.Policy = pol.Name
	}
	sum.Backend = "local"
	res := &RunResult{Summary: sum, Ticks: p.Controller().Ticks(), Started: p.Started(), Began: began, Startups: startups, Routes: routes}
	if startingCrashes < crashLoopAfter {
		fail.CrashLoop = nil
	}
	fail.CrashCount, fail.Requests = sum.PodCrashes, sum.Requests
	fail.NoneCompleted = sum.Requests > 0 && sum.Completed == 0
	if fail.Interrupted && sum.Aborted == "" {
		sum.Aborted = "interrupted"
	}
	if fail.Interrupted || fail.NoneCompleted || fail.CrashLoop != nil {
		return res, fail
	}
	return res, nil
}

// waitDeployed waits for every function's first autoscaler decision and
// for as many ready pods as it asked for.
func waitDeployed(ctx context.Context, p *Platform) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		want := map[string]int{}
		for _, tk := range p.Controller().Ticks() {
			if _, seen := want[tk.Revision]; !seen {
				want[tk.Revision] = tk.Decision.Desired
			}
		}
		done := true
		for _, name := range p.Functions() {
			if !p.Created(name) {
				continue // a revision a rollout creates later
			}
			n, seen := want[name]
			pods, _ := p.Pods(name)
			done = done && seen && pods.Ready >= n
		}
		switch {
		case done:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline):
			return fmt.Errorf("platform: initial pods not ready after 2m")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGrid sleeps until the first function's next scheduled autoscaler
// tick. Without it the traffic began at an arbitrary phase of the 1 s record
// and 2 s tick grid (whenever the initial pods happened to be ready), so
// the first tick after a change in load saw anywhere from 0 to 2 s of it,
// while the simulator's ticks fall at whole multiples of the interval from
// the traffic's start. A real cluster's phase is arbitrary too; aligning it
// makes the two worlds comparable run by run.
func waitGrid(ctx context.Context, p *Platform) error {
	fns := p.Functions()
	origin, interval, ok := p.Controller().Grid(fns[0])
	if !ok || interval <= 0 {
		return nil
	}
	now := time.Now()
	k := now.Sub(origin)/interval + 1
	select {
	case <-time.After(time.Until(origin.Add(k * interval))):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
