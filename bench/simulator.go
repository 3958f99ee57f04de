package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/scalebench/scalebench/simulator"
)

// Simulator is the discrete-event simulator as a Backend: the run takes
// virtual time, so an hour of traffic costs seconds, and the same scenario
// and seed give the same files. A many-function scenario's functions run
// in parallel on Pool when it is set (shared with other runs, as the suite
// does), else on Workers goroutines of the run's own (0 or 1: none).
type Simulator struct {
	// MaxPods is the platform's capacity (0: simulator.DefaultMaxPods).
	MaxPods int
	Workers int
	Pool    *simulator.Pool
}

var _ Backend = Simulator{}

func (Simulator) Name() string { return "sim" }

func (b Simulator) Run(ctx context.Context, r Run) (*Result, error) {
	opt := simulator.Options{Timeseries: r.Timeseries, Requests: r.Requests, MaxPods: b.MaxPods, Workers: b.Workers, Pool: b.Pool}
	if r.TimeseriesRows == Fleet {
		opt.Timeseries, opt.FleetTimeseries = nil, r.Timeseries
	}
	if r.Progress != nil {
		opt.Progress = progressLine(r.Progress)
	}
	// The simulator gives one row per function per second, the functions
	// of a second together; they are added up here.
	cur := Second{T: -1}
	multi := len(r.Scenario.Functions) > 1
	if r.Second != nil {
		opt.Series = func(s simulator.Second) {
			if s.T != cur.T && cur.T >= 0 {
				r.Second(cur)
				cur = Second{}
			}
			cur.T = s.T
			cur.Arrivals += s.Arrivals
			cur.Desired += s.Desired
			cur.Ready += s.Ready
			if s.Revision != "" && r.Revision != nil {
				name := s.Revision
				if multi {
					name = s.Name + "/" + s.Revision
				}
				r.Revision(RevisionSecond{T: s.T, Name: name, Ready: s.Ready, Percent: s.Percent})
			}
		}
	}
	res, err := simulator.Run(ctx, r.Scenario, r.Policy, opt)
	if opt.Progress != nil {
		fmt.Fprint(r.Progress, "\r\033[K")
	}
	if r.Second != nil && cur.T >= 0 {
		r.Second(cur)
	}
	if err != nil {
		return nil, err
	}
	return &Result{Summary: res.Summary}, nil
}

// progressLine rewrites one status line on w as the simulation goes; the
// caller gives w only when it is a terminal.
func progressLine(w io.Writer) func(done, total time.Duration) {
	return func(done, total time.Duration) {
		fmt.Fprintf(w, "\rsim: %v of %v simulated (%.0f%%)  ", done, total, 100*done.Seconds()/total.Seconds())
	}
}
