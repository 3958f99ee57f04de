package bench

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/scalebench/scalebench/autoscaler/controller"
	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

// Backend runs one scenario under one policy on one platform and returns
// what happened, in the same summary.json every world writes. Run blocks
// until the run is over and everything it started has stopped; ctx ends it
// early.
type Backend interface {
	// Name is the backend's registry name ("sim", "local"), written into
	// summaries and reports.
	Name() string
	Run(ctx context.Context, r Run) (*Result, error)
}

// Run is what a backend is asked to do. Only Scenario and Policy are
// required; the writers and the callback are optional outputs.
// TimeseriesRows is what a run's timeseries.csv holds.
type TimeseriesRows string

const (
	PerFunction  TimeseriesRows = "functions"
	Fleet        TimeseriesRows = "fleet"
	NoTimeseries TimeseriesRows = "none"
)

type Run struct {
	// Scenario gives the functions, traffic, seed and duration. A caller
	// that wants a shorter run (a real-time budget) cuts Duration on a copy
	// before handing it over.
	Scenario *scenarios.Scenario
	// Policy is the autoscaler and its settings.
	Policy scenarios.Policy

	// Requests receives requests.csv as requests complete (nil: none).
	Requests io.Writer
	// Timeseries receives the backend's timeseries.csv (nil: none): one row
	// per function per simulated second from the simulator, one per
	// autoscaler tick from a real platform.
	Timeseries io.Writer
	// TimeseriesRows says what Timeseries holds: one row per function per
	// second (PerFunction, the default) or, from the simulator, one row per
	// second summed over the functions (Fleet); NoTimeseries makes
	// RunToDir write no timeseries.csv.
	TimeseriesRows TimeseriesRows
	// Second, when set, is called once per second of the run, in order,
	// with the pods and arrivals of every function added up: as the
	// simulation goes, or after a real run, from the autoscaler's ticks.
	Second func(Second)
	// Revision, when set, is called for every revision of a function with
	// several, once per second, before or after that second's Second.
	Revision func(RevisionSecond)
	// Progress receives a progress line on a terminal, Log warnings and
	// platform errors (nil: none).
	Progress, Log io.Writer

	// Deployed starts a real run the way the simulator starts its own: the
	// traffic begins once the pods of the autoscaler's first decision are
	// ready, on the autoscaler's tick grid, and the run lasts the whole
	// duration even when the last response came earlier. The pod figures
	// then count from the traffic's start. Calibration needs it; the
	// simulator always runs this way.
	Deployed bool
}

// Second is one second of a run, every function added up.
type Second struct {
	// T is the second's start, in seconds from the traffic's start.
	T int64
	// Arrivals is 0 from backends that only see requests as they complete
	// (their requests.csv counts them).
	Arrivals       int64
	Desired, Ready int
}

// RevisionSecond is one revision's ready pods and share of its function's
// route at the end of second T.
type RevisionSecond struct {
	T              int64
	Name           string
	Ready, Percent int
}

// Result is one finished run.
type Result struct {
	Summary results.Summary
	// The rest is what a real platform measured, for calibration; the
	// simulator leaves it empty.
	//
	// Ticks are the autoscaler's decisions, stamped with wall time.
	Ticks []controller.Tick
	// Started is the platform's start; Began is the traffic's start, the
	// zero of the simulator's clock.
	Started, Began time.Time
	// Startups are the pods that became ready, by function name.
	Startups map[string][]PodStartup
}

// PodStartup is one pod's way to readiness: the scale-up decision created
// it, its process was started at Exec (after the scenario's schedule,
// image-pull and container-start draws), and it passed readiness at Ready.
type PodStartup struct {
	Pod                  string
	Created, Exec, Ready time.Time
}

// PathProber is a real backend that can time its own request path: n
// zero-work requests straight to a pod and n through the platform's front
// (activator, queue-proxy), interleaved. Calibration adds the difference to
// every simulated service time.
type PathProber interface {
	ProbePath(ctx context.Context, n int) (direct, proxied []time.Duration, err error)
}

// Config is what a backend may need to start.
type Config struct {
	// FnBinary is the cmd/fn executable, for backends that run real pods.
	FnBinary string
	// FnArgs are extra cmd/fn flags for every function, after (and so over)
	// those derived from the scenario.
	FnArgs []string
	// Kubeconfig and Namespace point cluster backends at their cluster
	// (empty: $KUBECONFIG or ~/.kube/config; the backend's own namespace).
	Kubeconfig, Namespace string
	// Command, when set, is the user's own function for every function of
	// the scenario, over the scenario's function: blocks (--function-cmd).
	Command *scenarios.Command
}

// backends is the registry: a new backend is a constructor and one line.
var backends = []struct {
	name string
	// real is false for the simulator: bench and calibrate compare it with
	// the real ones.
	real bool
	new  func(Config) (Backend, error)
}{
	{"sim", false, func(Config) (Backend, error) { return Simulator{}, nil }},
	{"local", true, newLocal},
	{"kind", true, newKind},
	{"kubernetes", true, newKubernetes},
}

// Backends lists the registered backend names.
func Backends() []string { return names(false) }

// RealBackends lists the backends that run on a real platform: bench's
// real runs and calibrate take one of these.
func RealBackends() []string { return names(true) }

func names(realOnly bool) []string {
	var out []string
	for _, b := range backends {
		if b.real || !realOnly {
			out = append(out, b.name)
		}
	}
	return out
}

// New makes the named backend; an unknown name is bad input.
func New(name string, cfg Config) (Backend, error) { return newBackend(name, cfg, false) }

// NewReal is New restricted to RealBackends.
func NewReal(name string, cfg Config) (Backend, error) { return newBackend(name, cfg, true) }

func newBackend(name string, cfg Config, realOnly bool) (Backend, error) {
	for _, b := range backends {
		if b.name == name && (b.real || !realOnly) {
			return b.new(cfg)
		}
	}
	return nil, badinput.Errorf("unknown --backend %q (known: %s)", name, strings.Join(names(realOnly), ", "))
}
