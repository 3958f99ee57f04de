package simulator

import (
	"io"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

// Options tune one Run. The zero value runs the scenario as written and
// writes nothing but the Result.
type Options struct {
	// Timeseries, when set, receives timeseries.csv as the run goes, one row
	// per function per simulated second.
	Timeseries io.Writer
	// Requests, when set, receives requests.csv: one row per request as it
	// completes or is dropped.
	Requests io.Writer
	// Series, when set, is called with every row of the time series; a
	// capacity plan can keep what it needs without parsing CSV.
	Series func(Second)
	// NewPolicy, when set, makes function fn's policy instead of
	// autoscaler.New(pol.Name, pol.Settings): a caller's own Policy
	// implementation plugs in here.
	NewPolicy func(fn int, f scenarios.Function) (autoscaler.Policy, error)
	// Progress, when set, is called about once a wall-clock second with the
	// simulated time reached and the scenario's duration.
	Progress func(simulated, total time.Duration)
	// MaxPods is the platform's capacity: the most pods of all functions
	// that may exist at once (0 = DefaultMaxPods). Pods beyond it are not
	// created, as on a full cluster, and the summary reports it.
	MaxPods int
	// FleetTimeseries, when set, receives one row per simulated second
	// summed over the functions (t,arrivals,in_flight,queued,desired,ready,
	// pods,panic, panic counting the functions in panic mode): a fleet's
	// day in 86,400 rows where Timeseries has one per function per second.
	FleetTimeseries io.Writer
	// Workers simulates a fleet's functions on this many goroutines (0 or
	// 1: on the caller's). The output is byte-identical for any number.
	Workers int
	// Pool, when set, runs the simulation on a pool shared with other
	// Runs instead of Workers goroutines of its own.
	Pool *Pool
	// NoFleet runs a many-function scenario in one engine, as a fleet run
	// does itself when the pod capacity could bind.
	NoFleet bool
}

// Second is one function's row of the time series: the simulated second
// [T, T+1).
type Second struct {
	T        int64
	Function int
	Name     string
	Arrivals int64
	// Concurrency is the second's time-average of in-flight plus waiting
	// requests, the value Record gives the policy.
	Concurrency float64
	// Queued is the number of requests waiting at the end of the second.
	Queued int
	// Desired is the last valid decision's pod count.
	Desired int
	// Ready and Pods are the ready and existing pods at the end of the
	// second (Pods includes starting and draining ones).
	Ready int
	Pods  int
	Panic bool
	// Revision and Percent are set when the function has revisions: the
	// revision this row is about and its share of the route at the end
	// of the second.
	Revision string
	Percent  int
}

// Result is a run's outcome.
type Result struct {
	Summary results.Summary
	// Functions breaks the counts down per function, in scenario order.
	Functions []FunctionResult
	// Latency and ColdLatency are the run's histograms, for merging runs.
	Latency, ColdLatency *results.Histogram
}

// FunctionResult is one function's share of the summary.
type FunctionResult struct {
	Name string
	// Revision is set when the function has several revisions: one
	// FunctionResult per revision, in scenario order.
	Revision string
	// MemoryMB is the revision's pod memory, for GB-seconds.
	MemoryMB  float64
	Requests  int64
	Completed int64
	Dropped   int64
	// DropReasons counts Dropped by reason: queue_full, timeout,
	// no_endpoints, replica_cap.
	DropReasons    map[string]int64
	ColdStarts     int64
	PodStarts      int64
	PodSeconds     float64
	IdlePodSeconds float64
	MaxPods        int
}
