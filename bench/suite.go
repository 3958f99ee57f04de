package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/reports"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/simulator"
)

// chartPoints is how many time buckets a run's chart gets: enough to see a
// 60 s spike in an hour-long run, few enough to keep report.html small.
const chartPoints = 240

// SuiteOptions say what RunSuite runs and where it writes.
type SuiteOptions struct {
	// Suite is a directory of scenario files (*.yaml); Out the report's
	// directory, replaced atomically.
	Suite, Out string
	// Workers is how many simulations run in parallel (at least 1).
	Workers int
	// Real is how many scenarios also run on Backend, preferring
	// RealScenarios in order, under RealPolicies, each cut to its first
	// RealDuration (0: whole). Backend may be nil when Real is 0.
	Real          int
	Backend       Backend
	RealScenarios []string
	RealPolicies  []string
	RealDuration  time.Duration
	// Progress receives the progress: one rewritten line on a terminal,
	// one line per finished run otherwise.
	Progress io.Writer
	// Command is the command line, for the report's "what was run".
	Command string
	// OutOptions say whether Out may replace what is not a scalebench
	// output (results.Force) and where cleaning up is reported.
	OutOptions []results.OutOption
}

// SuiteResult is a written report.
type SuiteResult struct {
	// Dir is the report's directory (report.html, report.md, summary.json).
	Dir string
	// Failed counts the runs that failed; their rows say why.
	Failed  int
	Elapsed time.Duration
}

// LoadSuite reads every scenario of dir, failing on the first bad one so a
// typo costs seconds, not a whole bench.
func LoadSuite(dir string) ([]*scenarios.Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
		// One scenario file is a suite of one.
		files, err = []string{dir}, nil
	}
	if err != nil {
		return nil, badinput.Wrap(err)
	}
	if len(files) == 0 {
		return nil, badinput.Errorf("%s: no scenario files (*.yaml)", dir)
	}
	sort.Strings(files)
	var out []*scenarios.Scenario
	seen := map[string]string{}
	for _, f := range files {
		s, err := scenarios.Load(f)
		if err != nil {
			return nil, badinput.Wrap(err)
		}
		if prev, dup := seen[s.Name]; dup {
			return nil, badinput.Errorf("%s: scenario name %q already used by %s", f, s.Name, prev)
		}
		seen[s.Name] = f
		out = append(out, s)
	}
	return out, nil
}

// job is one simulation: a scenario under one policy.
type job struct {
	sc     int
	policy scenarios.Policy
	run    reports.Run
}

// RunSuite simulates every scenario of the suite under each of its
// policies, runs some for real, and writes the report: report.html,
// report.md and summary.json, all or nothing.
func RunSuite(ctx context.Context, opt SuiteOptions) (*SuiteResult, error) {
	start := time.Now()
	if opt.Workers < 1 {
		return nil, badinput.Errorf("bench: --workers %d, want at least 1", opt.Workers)
	}
	if opt.Real > 0 && opt.Backend == nil {
		return nil, badinput.Errorf("bench: %d real run(s) asked for and no backend to run them on", opt.Real)
	}
	if opt.Progress == nil {
		opt.Progress = io.Discard
	}
	suite, err := LoadSuite(opt.Suite)
	if err != nil {
		return nil, err
	}
	out, err := results.CreateOutDir(opt.Out, opt.OutOptions...)
	if err != nil {
		return nil, err
	}
	defer out.Abort()

	var jobs []*job
	for i, sc := range suite {
		for _, p := range sc.Policies {
			jobs = append(jobs, &job{sc: i, policy: p})
		}
	}
	prog := newProgress(opt.Progress, len(jobs))
	simulateAll(ctx, suite, jobs, opt.Workers, prog)
	prog.done()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	rep := reports.Suite{Title: "scalebench report"}
	for i, sc := range suite {
		r := reports.Scenario{Name: sc.Name, Description: sc.Description, Traffic: sc.Traffic.String(), SLOs: sc.SLOs, Setup: scenarioSetup(sc)}
		for _, j := range jobs {
			if j.sc == i {
				r.Runs = append(r.Runs, j.run)
			}
		}
		rep.Scenarios = append(rep.Scenarios, r)
	}

	rep.Policies = policyInfos(suite)
	if opt.Real > 0 {
		rep.Notes = append(rep.Notes, runReal(ctx, opt, suite, &rep))
	} else {
		rep.Notes = append(rep.Notes, "Real runs: none requested (--real 0); every number is from the simulator.")
	}
	failed := 0
	for _, sc := range rep.Scenarios {
		for _, r := range sc.Runs {
			if r.Err != "" {
				failed++
			}
		}
	}
	if failed > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d run(s) failed; their rows say why.", failed))
	}
	rep.Setup = benchSetup(opt, suite, start)

	if err := reports.Write(out, rep); err != nil {
		return nil, err
	}
	if err := out.Commit(); err != nil {
		return nil, err
	}
	return &SuiteResult{Dir: out.Final(), Failed: failed, Elapsed: time.Since(start)}, nil
}

// scenarioSetup says in words how a scenario ran: what a reader needs to
// reproduce it or to compare two reports.
func scenarioSetup(sc *scenarios.Scenario) string {
	fns := fmt.Sprintf("%d function(s)", len(sc.Functions))
	if len(sc.Functions) == 1 {
		f := sc.Functions[0]
		cc := "unlimited concurrency"
		if f.ContainerConcurrency > 0 {
			cc = fmt.Sprintf("containerConcurrency %d", f.ContainerConcurrency)
		}
		fns = fmt.Sprintf("one function (%s, %g MB", cc, f.MemoryMB)
		if f.Service != nil {
			fns += ", service time " + f.Service.String()
		}
		fns += ")"
	}
	for _, f := range sc.Functions {
		if len(f.Revisions) > 0 {
			fns += "; " + scenarios.DescribeRevisions(f)
		}
	}
	return fmt.Sprintf("%s simulated, seed %d, %s", reports.Duration(sc.Duration), sc.Seed, fns)
}

// policyInfos lists every policy label of the suite once, with what it
// models and the settings the scenarios gave it.
func policyInfos(suite []*scenarios.Scenario) []reports.PolicyInfo {
	var out []reports.PolicyInfo
	seen := map[string]int{}
	for _, sc := range suite {
		for _, p := range sc.Policies {
			var kv []string
			for k, v := range p.Settings {
				kv = append(kv, k+"="+v)
			}
			sort.Strings(kv)
			set := strings.Join(kv, ",")
			if i, ok := seen[p.Label]; ok {
				if out[i].Settings != set && !strings.Contains(out[i].Settings, "differs") {
					out[i].Settings += " (differs by scenario: see the scenario files)"
				}
				continue
			}
			seen[p.Label] = len(out)
			out = append(out, reports.PolicyInfo{Label: p.Label, Summary: autoscaler.Summary(p.Name), Settings: set})
		}
	}
	return out
}

// benchSetup is the report's "what was run": enough to reproduce the
// bench and to tell whether two reports are comparable.
func benchSetup(opt SuiteOptions, suite []*scenarios.Scenario, start time.Time) []reports.Fact {
	real := "none (--real 0)"
	if opt.Real > 0 {
		real = fmt.Sprintf("%s backend, up to %d scenario(s) of %s, each cut to its first %s, under %s, the policies of a scenario side by side",
			opt.Backend.Name(), opt.Real, strings.Join(opt.RealScenarios, ", "), reports.Duration(opt.RealDuration), strings.Join(opt.RealPolicies, ", "))
	}
	var seeds []string
	for _, sc := range suite {
		seeds = append(seeds, fmt.Sprintf("%s %d", sc.Name, sc.Seed))
	}
	build := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				build = "scalebench " + kv.Value[:min(12, len(kv.Value))] + ", " + build
			case "vcs.modified":
				if kv.Value == "true" {
					build += ", uncommitted changes"
				}
			}
		}
	}
	return []reports.Fact{
		{Name: "Command", Value: opt.Command},
		{Name: "Suite", Value: fmt.Sprintf("%s: %d scenarios, every one simulated under each of its policies", opt.Suite, len(suite))},
		{Name: "Real runs", Value: real},
		{Name: "Seeds", Value: strings.Join(seeds, ", ")},
		{Name: "Machine", Value: fmt.Sprintf("%s/%s, %d CPUs (%s), %d simulation worker(s)", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), opt.Workers)},
		{Name: "Build", Value: build},
		{Name: "Generated", Value: fmt.Sprintf("%s, in %s", start.UTC().Format("2006-01-02 15:04 UTC"), time.Since(start).Round(time.Second))},
	}
}

// cpuModel names the processor where Linux says it; the report is still
// useful without it.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "model unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "model unknown"
}

// simulateAll runs the jobs on workers goroutines. Each simulation is
// deterministic on its own, so the order they finish in changes nothing.
// The simulations share one pool of workers: a many-function scenario's
// functions spread over it instead of each job starting a pool of its own.
func simulateAll(ctx context.Context, suite []*scenarios.Scenario, jobs []*job, workers int, prog *progress) {
	pool := simulator.NewPool(workers)
	defer pool.Close()
	ch := make(chan *job)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				sc := suite[j.sc]
				prog.start(sc.Name + "/" + j.policy.Label)
				j.run = runOne(ctx, Simulator{Pool: pool}, sc, j.policy)
				prog.finish(sc.Name+"/"+j.policy.Label, j.run.Err)
			}
		}()
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		ch <- j
	}
	close(ch)
	wg.Wait()
}

// runOne runs one scenario under one policy on b and keeps its chart
// series for the report.
func runOne(ctx context.Context, b Backend, sc *scenarios.Scenario, p scenarios.Policy) reports.Run {
	run := reports.Run{Label: p.Label, Backend: b.Name()}
	rec := reports.NewRecorder(sc.Duration.Seconds(), chartPoints)
	res, err := b.Run(ctx, Run{Scenario: sc, Policy: p, Requests: rec, Second: func(s Second) {
		rec.Second(s.T, s.Arrivals, s.Desired, s.Ready)
		rec.EndSecond(s.T)
	}, Revision: func(s RevisionSecond) { rec.RevisionSecond(s.T, s.Name, s.Ready, s.Percent) }})
	if err != nil {
		run.Err = oneLine(err)
		return run
	}
	run.Summary = res.Summary
	run.Series = rec.Points()
	return run
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// runReal runs up to opt.Real scenarios on opt.Backend, preferring
// opt.RealScenarios, and adds their runs beside the simulated ones. It
// returns the note the report shows about what ran for real.
func runReal(ctx context.Context, opt SuiteOptions, suite []*scenarios.Scenario, rep *reports.Suite) string {
	b := opt.Backend
	var picked []int
	for _, want := range opt.RealScenarios {
		for i, sc := range suite {
			if sc.Name == want && len(picked) < opt.Real {
				picked = append(picked, i)
			}
		}
	}
	if len(opt.RealScenarios) == 0 {
		// No preference: the suite's first ones (a one-file suite, say).
		for i := range suite {
			if len(picked) < opt.Real {
				picked = append(picked, i)
			}
		}
	}
	var names []string
	for _, i := range picked {
		// A copy cut to the real-time budget; the simulated rows keep the
		// whole scenario, so the report says the real ones are shorter.
		cut := *suite[i]
		if opt.RealDuration > 0 && cut.Duration > opt.RealDuration {
			cut.Duration = opt.RealDuration
		}
		sc := &cut
		names = append(names, fmt.Sprintf("%s (first %s)", sc.Name, sc.Duration))
		// A scenario's policies run side by side: the bench's budget is
		// real time, the load is light, and both policies then share
		// whatever else the machine is doing, which keeps them comparable.
		var pols []scenarios.Policy
		for _, label := range opt.RealPolicies {
			if p, ok := policyByLabel(sc, label); ok {
				pols = append(pols, p)
			}
		}
		runs := make([]reports.Run, len(pols))
		var wg sync.WaitGroup
		_, inTurn := b.(InTurn)
		for k, p := range pols {
			fmt.Fprintf(opt.Progress, "real %s %s/%s (%s)...\n", b.Name(), sc.Name, p.Label, sc.Duration)
			if inTurn {
				// One target's traffic must not load the cluster under
				// another's measurement.
				wg.Wait()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				began := time.Now()
				run := runOne(ctx, b, sc, p)
				if run.Err != "" {
					fmt.Fprintf(opt.Progress, "real %s %s/%s FAILED: %s\n", b.Name(), sc.Name, p.Label, run.Err)
				} else {
					fmt.Fprintf(opt.Progress, "real %s %s/%s ok (%s)\n", b.Name(), sc.Name, p.Label, time.Since(began).Round(time.Second))
				}
				runs[k] = run
			}()
		}
		wg.Wait()
		rep.Scenarios[i].Runs = append(rep.Scenarios[i].Runs, runs...)
	}
	if len(picked) < opt.Real {
		return fmt.Sprintf("Real runs on %s: %d of the %d requested (the suite lacks the others of: %s).",
			b.Name(), len(picked), opt.Real, strings.Join(opt.RealScenarios, ", "))
	}
	return fmt.Sprintf("Real runs on %s: %s under %s; all other rows are simulated.",
		b.Name(), strings.Join(names, ", "), strings.Join(opt.RealPolicies, ", "))
}

// InTurn marks a backend whose runs share one cluster's capacity, so a
// scenario's policies run one after another instead of side by side.
type InTurn interface{ InTurn() }

func policyByLabel(sc *scenarios.Scenario, label string) (scenarios.Policy, bool) {
	for _, p := range sc.Policies {
		if p.Label == label {
			return p, true
		}
	}
	return scenarios.Policy{}, false
}
