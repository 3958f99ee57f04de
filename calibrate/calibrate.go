package calibrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scalebench/scalebench/bench"
	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/simulator"
)

// Options tune a calibration.
type Options struct {
	// ProbeRequests is how many requests the overhead probe sends each way
	// (direct to a pod, and through the activator); default 400.
	ProbeRequests int
	// Progress and Log receive the real run's progress line and warnings.
	Progress, Log io.Writer
	// LocalRequests and SimRequests, when set, receive the two worlds'
	// requests.csv (one row per request), to compare request by request
	// where the latency tails part.
	LocalRequests, SimRequests io.Writer
}

// Quantiles of a measured duration, in milliseconds.
type Quantiles struct {
	N   int     `json:"n"`
	P0  float64 `json:"p0"`
	P10 float64 `json:"p10"`
	P25 float64 `json:"p25"`
	P50 float64 `json:"p50"`
	P75 float64 `json:"p75"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Measured are the platform's parameters from the real run and the probe.
type Measured struct {
	// Startup is each pod's time from the scale-up decision to readiness.
	Startup Quantiles `json:"startup_ms"`
	// Delay is the part before fn was exec'd (the scenario's schedule,
	// image-pull and container-start draws), Process the rest: fn's real
	// process start, its app init and the readiness signal and probe.
	Delay   Quantiles `json:"delay_ms"`
	Process Quantiles `json:"process_ms"`
	// Direct and Proxied are zero-work request latencies to a pod and
	// through activator and queue-proxy; Overhead is their quantile-wise
	// difference, the platform's added latency.
	Direct   Quantiles `json:"direct_ms"`
	Proxied  Quantiles `json:"proxied_ms"`
	Overhead Quantiles `json:"overhead_ms"`
	// StartupDist and PathDist are the distributions given to the
	// simulator: the start-up, and the zero-work request path added to
	// every service time.
	StartupDist string `json:"startup_dist"`
	PathDist    string `json:"path_dist"`
	// Replayed are the start-ups, in ms, of the pods the real run created
	// after the traffic began, in creation order, by function: the
	// simulator's pod n gets the n-th (see replay).
	Replayed map[string][]float64 `json:"startup_replayed_ms"`
}

// Row compares one figure between the worlds.
type Row struct {
	Metric    string  `json:"metric"`
	Local     float64 `json:"local"`
	Simulated float64 `json:"simulated"`
	// DiffPercent is (simulated − local) / local × 100; nil when local is 0
	// and simulated is not.
	DiffPercent *float64 `json:"diff_percent"`
	// Target marks the figures the 15% target applies to.
	Target bool `json:"target"`
}

// Result is calibration.json.
type Result struct {
	Scenario string `json:"scenario"`
	Policy   string `json:"policy"`
	// Backend is the real platform's name; the rows' "local" column is
	// its figure whichever it is.
	Backend         string           `json:"backend"`
	DurationSeconds float64          `json:"duration_seconds"`
	Measured        Measured         `json:"measured"`
	Rows            []Row            `json:"rows"`
	Local           *results.Summary `json:"local"`
	Simulated       *results.Summary `json:"simulated"`

	// The two worlds' time series, for finding where they diverge (see
	// WriteSeries); not part of calibration.json.
	local    *bench.Result
	simulSec []simulator.Second
}

// TargetPercent is the largest acceptable difference on the target rows.
const TargetPercent = 15

// Run calibrates the simulator against real, a backend on a real platform
// that can time its own request path (bench.PathProber), on sc under pol.
func Run(ctx context.Context, real bench.Backend, sc *scenarios.Scenario, pol scenarios.Policy, opts Options) (*Result, error) {
	if opts.ProbeRequests <= 0 {
		opts.ProbeRequests = 400
	}
	prober, ok := real.(bench.PathProber)
	if !ok {
		return nil, fmt.Errorf("the %s backend cannot time its request path, which calibration needs", real.Name())
	}
	direct, proxied, err := prober.ProbePath(ctx, opts.ProbeRequests)
	if err != nil {
		return nil, fmt.Errorf("overhead probe: %w", err)
	}
	loc, err := real.Run(ctx, bench.Run{Scenario: sc, Policy: pol, Progress: opts.Progress, Log: opts.Log, Deployed: true, Requests: opts.LocalRequests})
	if err != nil {
		return nil, err
	}
	var all, delays, procs []time.Duration
	perFn := map[string][]time.Duration{}
	replayed := map[string][]time.Duration{}
	for name, sts := range loc.Startups {
		for _, s := range inCreationOrder(sts) {
			all = append(all, s.Ready.Sub(s.Created))
			delays = append(delays, s.Exec.Sub(s.Created))
			procs = append(procs, s.Ready.Sub(s.Exec))
			perFn[name] = append(perFn[name], s.Ready.Sub(s.Created))
			if !s.Created.Before(loc.Began) {
				replayed[name] = append(replayed[name], s.Ready.Sub(s.Created))
			}
		}
	}
	if len(all) == 0 {
		return nil, errors.New("no pod became ready during the run: nothing to measure the start-up from")
	}
	m := Measured{Startup: quantiles(all), Delay: quantiles(delays), Process: quantiles(procs),
		Direct: quantiles(direct), Proxied: quantiles(proxied), Overhead: overhead(direct, proxied)}
	pooled, err := empirical(all)
	if err != nil {
		return nil, err
	}
	path, err := empirical(proxied)
	if err != nil {
		return nil, err
	}
	m.StartupDist, m.PathDist = pooled.String(), path.String()
	m.Replayed = map[string][]float64{}
	for name, ds := range replayed {
		for _, d := range ds {
			m.Replayed[name] = append(m.Replayed[name], ms(d))
		}
	}

	simSc := *sc
	simSc.Functions = make([]scenarios.Function, len(sc.Functions))
	for i, f := range sc.Functions {
		su := dist.Dist(pooled)
		if d := perFn[f.Name]; len(d) > 0 {
			if su, err = empirical(d); err != nil {
				return nil, err
			}
		}
		// The measured start-up already contains the readiness probing, so
		// the simulator adds no probe period of its own.
		f.Startup = scenarios.Startup{AppInit: &replay{seq: replayed[f.Name], rest: su}}
		f.Service = sum{f.Service, path}
		simSc.Functions[i] = f
	}
	var secs []simulator.Second
	sim, err := simulator.Run(ctx, &simSc, pol, simulator.Options{Requests: opts.SimRequests, Series: func(s simulator.Second) { secs = append(secs, s) }})
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	res := &Result{Scenario: sc.Name, Policy: loc.Summary.Policy, Backend: real.Name(), DurationSeconds: sc.Duration.Seconds(),
		Measured: m, Local: &loc.Summary, Simulated: &sim.Summary, local: loc, simulSec: secs}
	l, s := &loc.Summary, &sim.Summary
	res.Rows = []Row{
		row("cold_starts", float64(l.ColdStarts), float64(s.ColdStarts), true),
		row("latency_ms.p95", l.Latency.P95, s.Latency.P95, true),
		row("pod_seconds", l.PodSeconds, s.PodSeconds, true),
		row("latency_ms.p50", l.Latency.P50, s.Latency.P50, false),
		row("cold_latency_ms.p95", l.ColdLatency.P95, s.ColdLatency.P95, false),
		row("idle_pod_seconds", l.IdlePodSeconds, s.IdlePodSeconds, false),
		row("pod_starts", float64(l.PodStarts), float64(s.PodStarts), false),
		row("requests", float64(l.Requests), float64(s.Requests), false),
	}
	return res, nil
}

func row(metric string, local, sim float64, target bool) Row {
	r := Row{Metric: metric, Local: round(local), Simulated: round(sim), Target: target}
	switch {
	case local != 0:
		d := round((sim - local) / local * 100)
		r.DiffPercent = &d
	case sim == 0:
		d := 0.0
		r.DiffPercent = &d
	}
	return r
}

func round(x float64) float64 { return math.Round(x*1000) / 1000 }

// WriteText prints what was measured, then the comparison (WriteTable).
func (r *Result) WriteText(w io.Writer) error {
	m := r.Measured
	fmt.Fprintf(w, "\n%s under %s, %s of traffic\n", r.Scenario, r.Policy, time.Duration(r.DurationSeconds*float64(time.Second)))
	fmt.Fprintf(w, "pod start-up (decision → ready), %d pods: p10 %.1f ms, p50 %.1f ms, p90 %.1f ms, max %.1f ms (before exec p50 %.1f ms; fn process start + init + readiness p50 %.1f ms)\n",
		m.Startup.N, m.Startup.P10, m.Startup.P50, m.Startup.P90, m.Startup.Max, m.Delay.P50, m.Process.P50)
	fmt.Fprintf(w, "request path, zero work: direct p50 %.3f ms p99 %.3f ms; via activator+queue-proxy p50 %.3f ms p99 %.3f ms; added p50 %.3f ms p99 %.3f ms\n\n",
		m.Direct.P50, m.Direct.P99, m.Proxied.P50, m.Proxied.P99, m.Overhead.P50, m.Overhead.P99)
	return r.WriteTable(w)
}

// WriteDir writes calibration.json and the two worlds' time series
// (WriteSeries) into dir.
func (r *Result) WriteDir(dir string) error {
	if err := results.WriteJSON(filepath.Join(dir, "calibration.json"), r); err != nil {
		return err
	}
	return r.WriteSeries(dir)
}

// WriteTable prints the comparison.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	name := r.Backend
	if name == "" {
		name = "local"
	}
	fmt.Fprintf(tw, "metric\t%s\tsimulated\tdiff %%\ttarget\t\n", name)
	for _, row := range r.Rows {
		diff := "n/a"
		if row.DiffPercent != nil {
			diff = fmt.Sprintf("%+.1f", *row.DiffPercent)
		}
		target := ""
		if row.Target {
			target = "ok"
			if row.DiffPercent == nil || math.Abs(*row.DiffPercent) > TargetPercent {
				target = "MISS"
			}
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%s\t%s\t\n", row.Metric, row.Local, row.Simulated, diff, target)
	}
	return tw.Flush()
}

// Within reports whether every target row is within TargetPercent.
func (r *Result) Within() bool {
	for _, row := range r.Rows {
		if row.Target && (row.DiffPercent == nil || math.Abs(*row.DiffPercent) > TargetPercent) {
			return false
		}
	}
	return true
}

// sum is the distribution of a + b, drawn independently: the scenario's
// service time plus the measured request path around it.
type sum struct{ a, b dist.Dist }

var _ dist.Dist = sum{}

func (s sum) Sample(r *rand.Rand) time.Duration {
	var d time.Duration
	if s.a != nil {
		d += s.a.Sample(r)
	}
	return d + s.b.Sample(r)
}

func (s sum) Mean() time.Duration {
	if s.a == nil {
		return s.b.Mean()
	}
	return s.a.Mean() + s.b.Mean()
}

func (s sum) String() string {
	if s.a == nil {
		return s.b.String()
	}
	return s.a.String() + " + " + s.b.String()
}

// percentilePoints are where measured samples are cut into an empirical
// distribution: dense in the tail, which drives p95 and cold starts.
var percentilePoints = []float64{0, 5, 10, 25, 50, 75, 90, 95, 99, 100}

func empirical(ds []time.Duration) (*dist.Empirical, error) {
	s := sorted(ds)
	pts := make([]dist.Point, len(percentilePoints))
	for i, p := range percentilePoints {
		pts[i] = dist.Point{P: p, D: at(s, p)}
	}
	return dist.Percentiles(pts)
}

func sorted(ds []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

// at is the p-th percentile of sorted s, interpolated linearly.
func at(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	x := p / 100 * float64(len(s)-1)
	i := int(x)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + time.Duration((x-float64(i))*float64(s[i+1]-s[i]))
}

func ms(d time.Duration) float64 { return round(float64(d) / float64(time.Millisecond)) }

func quantiles(ds []time.Duration) Quantiles {
	s := sorted(ds)
	return Quantiles{N: len(s), P0: ms(at(s, 0)), P10: ms(at(s, 10)), P25: ms(at(s, 25)), P50: ms(at(s, 50)),
		P75: ms(at(s, 75)), P90: ms(at(s, 90)), P99: ms(at(s, 99)), Max: ms(at(s, 100))}
}

// overhead is proxied minus direct, quantile by quantile.
func overhead(direct, proxied []time.Duration) Quantiles {
	d, p := quantiles(direct), quantiles(proxied)
	return Quantiles{N: min(d.N, p.N), P0: round(p.P0 - d.P0), P10: round(p.P10 - d.P10), P25: round(p.P25 - d.P25),
		P50: round(p.P50 - d.P50), P75: round(p.P75 - d.P75), P90: round(p.P90 - d.P90), P99: round(p.P99 - d.P99), Max: round(p.Max - d.Max)}
}

// replay gives the simulator's pods the real run's start-ups one by one, in
// the order the real pods were created, then draws from rest. A real pod's
// start-up is mostly the scenario's phase draws (seeded per pod, so the
// same in every local run); an empirical distribution of the few pods a
// short run starts would hand the simulator other draws, and a burst served
// by two new pods has its p95 set by how long those two took. Replaying
// them compares the worlds' queueing and scaling, not their dice. The
// simulator draws a start-up only for pods it creates after time 0, and
// its run is deterministic, so the pairing is too.
type replay struct {
	seq  []time.Duration
	next int
	rest dist.Dist
}

func (r *replay) Sample(rng *rand.Rand) time.Duration {
	if r.next < len(r.seq) {
		r.next++
		return r.seq[r.next-1]
	}
	return r.rest.Sample(rng)
}

func (r *replay) Mean() time.Duration { return r.rest.Mean() }

// String is rest's spec: the replayed values are in Measured.Replayed.
func (r *replay) String() string { return r.rest.String() }

// inCreationOrder sorts a function's pods by creation, then by the number
// in their name (pods created by one decision share the instant).
func inCreationOrder(sts []bench.PodStartup) []bench.PodStartup {
	s := append([]bench.PodStartup(nil), sts...)
	num := func(name string) int {
		n, _ := strconv.Atoi(name[strings.LastIndexByte(name, '-')+1:])
		return n
	}
	sort.SliceStable(s, func(i, j int) bool {
		if !s[i].Created.Equal(s[j].Created) {
			return s[i].Created.Before(s[j].Created)
		}
		return num(s[i].Pod) < num(s[j].Pod)
	})
	return s
}
