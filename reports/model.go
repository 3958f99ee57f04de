package reports

import (
	"math"

	"github.com/scalebench/scalebench/results"
)

// Suite is everything one bench run produced: the input a report renders.
type Suite struct {
	// Title heads the report.
	Title string
	// Scenarios in the order the report shows them.
	Scenarios []Scenario
	// Notes are run-wide remarks (what ran for real, what failed), shown
	// near the top so a reader does not mistake a gap for a result.
	Notes []string
	// Setup says what was run and where (backend, seeds, machine, build),
	// so a reader can reproduce the report or tell two apart.
	Setup []Fact
	// Policies describes each policy label the suite used, once.
	Policies []PolicyInfo
}

// Fact is one line of the report's "what was run" section.
type Fact struct{ Name, Value string }

// PolicyInfo is a policy as the report introduces it: its label, what it
// models, and the settings the scenarios gave it (empty: its defaults).
type PolicyInfo struct {
	Label, Summary, Settings string
}

// Scenario is one scenario's runs under every policy and backend.
type Scenario struct {
	Name        string
	Description string
	Traffic     string
	// Setup is the scenario's run parameters in words (duration, seed,
	// functions), shown under its description.
	Setup string
	SLOs  []results.SLO
	Runs  []Run
}

// Run is one policy on one backend.
type Run struct {
	// Label is the policy label as the scenario gave it.
	Label   string
	Backend string
	Summary results.Summary
	// Series is the run over time, already bucketed for plotting; it may
	// be empty when a backend records none.
	Series []Point
	// Err is why the run failed; a failed run is listed, never dropped.
	Err string
}

// Point is one time bucket of a run.
type Point struct {
	// T is the bucket's start in seconds from the run's start.
	T float64
	// RPS is the mean arrival rate over the bucket.
	RPS float64
	// Desired and Ready are the mean desired and ready pods.
	Desired, Ready float64
	// LatencyP95 is the bucket's 95th-percentile latency in ms, NaN when
	// nothing completed in it.
	LatencyP95 float64
	// Cold and Failed count the bucket's requests (by arrival) that met a
	// cold start and that did not complete (dropped or errors).
	Cold, Failed int64
	// Revisions are the mean ready pods and route share of each revision,
	// for scenarios whose functions have several (nil otherwise).
	Revisions []RevisionPoint
}

// RevisionPoint is one revision in one time bucket.
type RevisionPoint struct {
	Name           string
	Ready, Percent float64
}

// Name identifies a run in tables and legends: the label, with the backend
// when it is not the simulator.
func (r Run) Name() string {
	if r.Backend == "" || r.Backend == "sim" || r.Backend == "simulator" {
		return r.Label
	}
	return r.Label + " (" + r.Backend + ")"
}

// okRuns are the runs that produced a summary.
func (s Scenario) okRuns() []Run {
	var out []Run
	for _, r := range s.Runs {
		if r.Err == "" {
			out = append(out, r)
		}
	}
	return out
}

// Bucket folds per-second rows into at most n points so charts stay small
// whatever the run's length. latency may be nil.
func Bucket(seconds []Point, n int) []Point {
	if len(seconds) <= n || n <= 0 {
		return seconds
	}
	size := (len(seconds) + n - 1) / n
	var out []Point
	for i := 0; i < len(seconds); i += size {
		end := min(i+size, len(seconds))
		p := Point{T: seconds[i].T, LatencyP95: math.NaN()}
		for _, s := range seconds[i:end] {
			p.RPS += s.RPS
			p.Desired += s.Desired
			p.Ready += s.Ready
			p.Cold += s.Cold
			p.Failed += s.Failed
			// The slowest second's p95 stands for the bucket: averaging
			// percentiles would hide the spikes the chart exists to show.
			if !math.IsNaN(s.LatencyP95) && (math.IsNaN(p.LatencyP95) || s.LatencyP95 > p.LatencyP95) {
				p.LatencyP95 = s.LatencyP95
			}
		}
		k := float64(end - i)
		p.RPS /= k
		p.Desired /= k
		p.Ready /= k
		out = append(out, p)
	}
	return out
}
