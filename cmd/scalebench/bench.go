package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/autoscaler/controller"
	"github.com/scalebench/scalebench/platform"
	"github.com/scalebench/scalebench/reports"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/simulator"
)

// chartPoints is how many time buckets a run's chart gets: enough to see a
// 60 s spike in an hour-long run, few enough to keep report.html small.
const chartPoints = 240

func init() {
	var (
		suite, out, backend string
		real                int
		realScenarios       string
		realPolicies        string
		workers             int
		realDuration        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "bench --suite DIR --out DIR",
		Short: "Run a scenario suite under every policy and write a comparison report",
		Long: `bench runs every scenario of a suite (each *.yaml in --suite) in the
simulator under every policy the scenario names, and --real of them for real
on --backend, then writes report.html, report.md and summary.json into --out.
The output directory appears only when the whole report is written.`,
		Example: `  scalebench bench --suite scenarios/library --out out/bench            # what make bench runs
  scalebench bench --suite scenarios/library --real 0 --out out/sim      # simulation only, seconds
  scalebench bench --suite my-scenarios --real 1 --real-scenarios spike --real-policies kpa,knative --out out/mine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if suite == "" || out == "" {
				return badInput(errors.New("bench: --suite and --out are required"))
			}
			if workers < 1 {
				return badInput(fmt.Errorf("bench: --workers %d, want at least 1", workers))
			}
			if real < 0 {
				return badInput(fmt.Errorf("bench: --real %d, want 0 or more", real))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runBench(ctx, benchConfig{
				suite: suite, out: out, backend: backend, real: real,
				realScenarios: splitList(realScenarios), realPolicies: splitList(realPolicies),
				realDuration: realDuration, workers: workers, stderr: cmd.ErrOrStderr(), stdout: cmd.OutOrStdout(),
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&suite, "suite", "", "directory of scenario files (*.yaml)")
	f.StringVar(&out, "out", "", "directory to write the report into (replaced atomically)")
	f.StringVar(&backend, "backend", "local", "backend for the real runs: local")
	f.IntVar(&real, "real", 2, "how many scenarios also run for real on --backend")
	f.StringVar(&realScenarios, "real-scenarios", "onoff,spike", "which scenarios run for real, in order of preference")
	f.StringVar(&realPolicies, "real-policies", "kpa,keepalive", "policies the real runs use (real time is the bench's budget)")
	f.DurationVar(&realDuration, "real-duration", 130*time.Second, "real runs stop after this much of the scenario (real time is the budget; the default covers the library's spike and onoff's second burst)")
	f.IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "simulations run in parallel")
	root.AddCommand(cmd)
}

type benchConfig struct {
	suite, out, backend         string
	real                        int
	realScenarios, realPolicies []string
	realDuration                time.Duration
	workers                     int
	stdout, stderr              io.Writer
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// loadSuite reads every scenario of dir, failing on the first bad one so a
// typo costs seconds, not a whole bench.
func loadSuite(dir string) ([]*scenarios.Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no scenario files (*.yaml)", dir)
	}
	sort.Strings(files)
	var out []*scenarios.Scenario
	seen := map[string]string{}
	for _, f := range files {
		s, err := scenarios.Load(f)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[s.Name]; dup {
			return nil, fmt.Errorf("%s: scenario name %q already used by %s", f, s.Name, prev)
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

func runBench(ctx context.Context, cfg benchConfig) error {
	start := time.Now()
	suite, err := loadSuite(cfg.suite)
	if err != nil {
		return badInput(err)
	}
	var realBackend realBackend
	if cfg.real > 0 {
		if realBackend, err = newRealBackend(cfg.backend); err != nil {
			return badInput(err)
		}
	}
	out, err := results.CreateOutDir(cfg.out)
	if err != nil {
		return err
	}
	defer out.Abort()

	var jobs []*job
	for i, sc := range suite {
		for _, p := range sc.Policies {
			jobs = append(jobs, &job{sc: i, policy: p})
		}
	}
	prog := newProgress(cfg.stderr, len(jobs))
	simulateAll(ctx, suite, jobs, cfg.workers, prog)
	prog.done()
	if err := ctx.Err(); err != nil {
		return err
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
	if cfg.real > 0 {
		note := runReal(ctx, cfg, realBackend, suite, &rep)
		rep.Notes = append(rep.Notes, note)
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
	rep.Setup = benchSetup(cfg, suite, start)

	if err := reports.Write(out, rep); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(cfg.stdout, "report: %s\n", filepath.Join(out.Final(), "report.html"))
	fmt.Fprintf(cfg.stdout, "        %s, %s (%s)\n", filepath.Join(out.Final(), "report.md"),
		filepath.Join(out.Final(), "summary.json"), time.Since(start).Round(time.Second))
	if failed > 0 {
		return fmt.Errorf("bench: %d run(s) failed; see the report", failed)
	}
	return nil
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
func benchSetup(cfg benchConfig, suite []*scenarios.Scenario, start time.Time) []reports.Fact {
	real := "none (--real 0)"
	if cfg.real > 0 {
		real = fmt.Sprintf("%s backend, up to %d scenario(s) of %s, each cut to its first %s, under %s, the policies of a scenario side by side",
			cfg.backend, cfg.real, strings.Join(cfg.realScenarios, ", "), reports.Duration(cfg.realDuration), strings.Join(cfg.realPolicies, ", "))
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
		{Name: "Command", Value: strings.Join(os.Args, " ")},
		{Name: "Suite", Value: fmt.Sprintf("%s: %d scenarios, every one simulated under each of its policies", cfg.suite, len(suite))},
		{Name: "Real runs", Value: real},
		{Name: "Seeds", Value: strings.Join(seeds, ", ")},
		{Name: "Machine", Value: fmt.Sprintf("%s/%s, %d CPUs (%s), %d simulation worker(s)", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), cfg.workers)},
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
func simulateAll(ctx context.Context, suite []*scenarios.Scenario, jobs []*job, workers int, prog *progress) {
	ch := make(chan *job)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				sc := suite[j.sc]
				prog.start(sc.Name + "/" + j.policy.Label)
				j.run = simulate(ctx, sc, j.policy)
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

// simulate runs one scenario under one policy and keeps its chart series.
func simulate(ctx context.Context, sc *scenarios.Scenario, p scenarios.Policy) reports.Run {
	run := reports.Run{Label: p.Label, Backend: "sim"}
	rec := reports.NewRecorder(sc.Duration.Seconds(), chartPoints)
	last := int64(-1)
	res, err := simulator.Run(ctx, sc, p, simulator.Options{
		Requests: rec,
		Series: func(s simulator.Second) {
			if s.T != last && last >= 0 {
				rec.EndSecond(last)
			}
			last = s.T
			rec.Second(s.T, s.Arrivals, s.Desired, s.Ready)
		},
	})
	if last >= 0 {
		rec.EndSecond(last)
	}
	if err != nil {
		run.Err = oneLine(err)
		return run
	}
	run.Summary = res.Summary
	run.Series = rec.Points()
	return run
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// progress shows what the bench is doing: one rewritten status line on a
// terminal, one line per finished run otherwise (CI logs).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	total    int
	finished int
	running  map[string]bool
	begin    time.Time
}

func newProgress(w io.Writer, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, total: total, running: map[string]bool{}, begin: time.Now()}
}

func (p *progress) start(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[name] = true
	p.draw()
}

func (p *progress) finish(name, errMsg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, name)
	p.finished++
	if !p.tty {
		status := "ok"
		if errMsg != "" {
			status = "FAILED: " + errMsg
		}
		fmt.Fprintf(p.w, "[%d/%d] sim %s %s (%s)\n", p.finished, p.total, name, status, time.Since(p.begin).Round(time.Second))
		return
	}
	if errMsg != "" {
		fmt.Fprintf(p.w, "\r\033[K%s FAILED: %s\n", name, errMsg)
	}
	p.draw()
}

func (p *progress) draw() {
	if !p.tty {
		return
	}
	names := make([]string, 0, len(p.running))
	for n := range p.running {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(p.w, "\r\033[K[%d/%d] %s simulating %s", p.finished, p.total, time.Since(p.begin).Round(time.Second), strings.Join(names, ", "))
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%d simulations in %s\n", p.total, time.Since(p.begin).Round(time.Second))
	}
}

// realBackend runs a scenario under one policy on a real platform.
type realBackend interface {
	name() string
	run(ctx context.Context, sc *scenarios.Scenario, p scenarios.Policy) (results.Summary, []reports.Point, error)
}

func newRealBackend(name string) (realBackend, error) {
	switch name {
	case "local":
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		fn := filepath.Join(filepath.Dir(exe), "fn")
		if _, err := os.Stat(fn); err != nil {
			return nil, fmt.Errorf("bench: the local backend needs cmd/fn built beside scalebench (%s); run make build", fn)
		}
		return localBackend{fnBinary: fn}, nil
	}
	return nil, fmt.Errorf("bench: unknown --backend %q (known: local)", name)
}

// runReal runs up to cfg.real scenarios for real, preferring
// cfg.realScenarios, and adds their runs beside the simulated ones. It
// returns the note the report shows about what ran for real.
func runReal(ctx context.Context, cfg benchConfig, b realBackend, suite []*scenarios.Scenario, rep *reports.Suite) string {
	var picked []int
	for _, want := range cfg.realScenarios {
		for i, sc := range suite {
			if sc.Name == want && len(picked) < cfg.real {
				picked = append(picked, i)
			}
		}
	}
	var names []string
	for _, i := range picked {
		// A copy cut to the real-time budget; the simulated rows keep the
		// whole scenario, so the report says the real ones are shorter.
		cut := *suite[i]
		if cfg.realDuration > 0 && cut.Duration > cfg.realDuration {
			cut.Duration = cfg.realDuration
		}
		sc := &cut
		names = append(names, fmt.Sprintf("%s (first %s)", sc.Name, sc.Duration))
		// A scenario's policies run side by side: the bench's budget is
		// real time, the load is light, and both policies then share
		// whatever else the machine is doing, which keeps them comparable.
		var pols []scenarios.Policy
		for _, label := range cfg.realPolicies {
			if p, ok := policyByLabel(sc, label); ok {
				pols = append(pols, p)
			}
		}
		runs := make([]reports.Run, len(pols))
		var wg sync.WaitGroup
		for k, p := range pols {
			fmt.Fprintf(cfg.stderr, "real %s %s/%s (%s)...\n", b.name(), sc.Name, p.Label, sc.Duration)
			wg.Add(1)
			go func() {
				defer wg.Done()
				began := time.Now()
				run := reports.Run{Label: p.Label, Backend: b.name()}
				sum, series, err := b.run(ctx, sc, p)
				if err != nil {
					run.Err = oneLine(err)
					fmt.Fprintf(cfg.stderr, "real %s %s/%s FAILED: %s\n", b.name(), sc.Name, p.Label, run.Err)
				} else {
					run.Summary, run.Series = sum, series
					fmt.Fprintf(cfg.stderr, "real %s %s/%s ok (%s)\n", b.name(), sc.Name, p.Label, time.Since(began).Round(time.Second))
				}
				runs[k] = run
			}()
		}
		wg.Wait()
		rep.Scenarios[i].Runs = append(rep.Scenarios[i].Runs, runs...)
	}
	if len(picked) < cfg.real {
		return fmt.Sprintf("Real runs on %s: %d of the %d requested (the suite lacks the others of: %s).",
			b.name(), len(picked), cfg.real, strings.Join(cfg.realScenarios, ", "))
	}
	return fmt.Sprintf("Real runs on %s: %s under %s; all other rows are simulated.",
		b.name(), strings.Join(names, ", "), strings.Join(cfg.realPolicies, ", "))
}

func policyByLabel(sc *scenarios.Scenario, label string) (scenarios.Policy, bool) {
	for _, p := range sc.Policies {
		if p.Label == label {
			return p, true
		}
	}
	return scenarios.Policy{}, false
}

// localBackend runs scenarios on the local process-based platform
// (package platform: pods of cmd/fn behind queue-proxies and an activator,
// scaled by the policy's controller), driven by the load generator.
type localBackend struct{ fnBinary string }

func (localBackend) name() string { return "local" }

func (b localBackend) run(ctx context.Context, sc *scenarios.Scenario, p scenarios.Policy) (results.Summary, []reports.Point, error) {
	// The load generator's requests.csv gives traffic, cold starts,
	// failures and latency by arrival time; pods come from the
	// controller's ticks below.
	rec := reports.NewRecorder(sc.Duration.Seconds(), chartPoints)
	res, err := platform.RunScenario(ctx, sc, p, platform.RunOptions{FnBinary: b.fnBinary, Requests: rec})
	if err != nil {
		return results.Summary{}, nil, err
	}
	if res.Summary == nil {
		return results.Summary{}, nil, errors.New("local platform returned no summary")
	}
	for sec, pods := range podsPerSecond(res.Ticks, res.Started, sc.Duration) {
		rec.Second(int64(sec), 0, pods.desired, pods.ready)
		rec.EndSecond(int64(sec))
	}
	return *res.Summary, rec.Points(), nil
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
