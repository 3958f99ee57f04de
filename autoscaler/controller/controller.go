package controller

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/scalebench/scalebench/autoscaler"
)

// Tick is one decision of one revision, as timeseries.csv records it.
type Tick struct {
	Time     time.Time
	Revision string
	// Stat is the last Stat recorded before the tick.
	Stat     autoscaler.Stat
	Pods     autoscaler.Pods
	Decision autoscaler.Decision
	// Poked is true for a tick the policy asked for out of schedule.
	Poked bool
	// Err is set when the Scaler refused the decision.
	Err string
}

// Options tune a controller.
type Options struct {
	// Registerer receives the decision gauges; nil registers nothing.
	Registerer prometheus.Registerer
	// Resolution is how often Run checks what is due; pokes wake it at
	// once. Default 50 ms.
	Resolution time.Duration
	// OnError receives Metrics and Scaler failures; nil drops them (they
	// are also recorded in the ticks).
	OnError func(revision string, err error)
	// DiscardTicks stops Ticks from keeping every decision: a long-running
	// controller (the Kubernetes one) exports them as gauges instead of
	// holding an ever-growing history.
	DiscardTicks bool
	// Deploys is set when the controller's revisions are deployed by its
	// first decisions, as on the local platform: each starts with
	// autoscaler.DeployedPods, the simulator's rule (one replica for the
	// HPA and OpenFaaS when their first decision has no data). A
	// controller of workloads deployed elsewhere (Kubernetes) leaves an
	// invalid first decision alone.
	Deploys bool
}

type revision struct {
	name   string
	mu     sync.Mutex        // serialises every call into the policy
	policy autoscaler.Policy // nil for a revision the platform sizes (AddSized)
	// lastRecord, origin and nextTick are zero until the first Step.
	lastRecord time.Time
	// origin is the first Step: records follow on a 1 s grid from it and
	// scheduled ticks on an Interval grid, as a Knative autoscaler's
	// ticker (and the simulator's clock) runs regardless of pokes.
	origin   time.Time
	nextTick time.Time
	pending  bool
	stat     autoscaler.Stat
}

// Controller drives any number of revisions' policies.
type Controller struct {
	clock   autoscaler.Clock
	metrics autoscaler.Metrics
	scaler  autoscaler.Scaler
	opts    Options

	mu    sync.Mutex
	revs  map[string]*revision
	ticks []Tick

	wake chan struct{}

	desired, ready, notReady, panicMode, stable, panicValue, ebc *prometheus.GaugeVec
}

// New makes a controller that reads time from clock, stats from metrics and
// applies decisions through scaler.
func New(clock autoscaler.Clock, metrics autoscaler.Metrics, scaler autoscaler.Scaler, opts Options) (*Controller, error) {
	if opts.Resolution <= 0 {
		opts.Resolution = 50 * time.Millisecond
	}
	c := &Controller{clock: clock, metrics: metrics, scaler: scaler, opts: opts,
		revs: map[string]*revision{}, wake: make(chan struct{}, 1)}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "scalebench", Subsystem: "autoscaler", Name: name, Help: help,
		}, []string{"revision"})
	}
	c.desired = gauge("desired_pods", "Pods the policy wants at its last tick.")
	c.ready = gauge("ready_pods", "Ready pods seen at the last tick.")
	c.notReady = gauge("not_ready_pods", "Pods starting at the last tick.")
	c.panicMode = gauge("panic_mode", "1 while the policy is in panic mode.")
	c.stable = gauge("stable_average", "Stable-window average the last decision used.")
	c.panicValue = gauge("panic_average", "Panic-window average the last decision used.")
	c.ebc = gauge("excess_burst_capacity", "Excess burst capacity at the last tick.")
	if opts.Registerer != nil {
		for _, g := range []prometheus.Collector{c.desired, c.ready, c.notReady, c.panicMode, c.stable, c.panicValue, c.ebc} {
			if err := opts.Registerer.Register(g); err != nil {
				return nil, fmt.Errorf("controller: register metrics: %w", err)
			}
		}
	}
	return c, nil
}

// Add puts a revision under the policy's control.
func (c *Controller) Add(name string, p autoscaler.Policy) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.revs[name]; ok {
		return fmt.Errorf("controller: revision %q added twice", name)
	}
	c.revs[name] = &revision{name: name, policy: p}
	return nil
}

// AddSized records a revision that the platform sizes itself, per
// request, as on the Lambda path (autoscaler.PathLambda): no policy ticks
// for it and nothing is scaled, but each second its Stat and pods are
// recorded as a tick whose Desired is the pods alive (starting or ready),
// the simulator's desired on that path, so timeseries.csv and the reports
// show it like any other revision.
func (c *Controller) AddSized(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.revs[name]; ok {
		return fmt.Errorf("controller: revision %q added twice", name)
	}
	c.revs[name] = &revision{name: name}
	return nil
}

// interval is how often the revision ticks: a platform-sized revision's
// record is taken every second.
func (r *revision) interval() time.Duration {
	if r.policy == nil {
		return time.Second
	}
	return r.policy.Interval()
}

// Remove takes a revision out of the controller's hands (its Deployment was
// deleted or opted out) and drops its gauges; it reports whether the
// revision was there. A Step running meanwhile may still finish its tick.
func (c *Controller) Remove(name string) bool {
	c.mu.Lock()
	_, ok := c.revs[name]
	delete(c.revs, name)
	c.mu.Unlock()
	if ok {
		for _, g := range []*prometheus.GaugeVec{c.desired, c.ready, c.notReady, c.panicMode, c.stable, c.panicValue, c.ebc} {
			g.DeleteLabelValues(name)
		}
	}
	return ok
}

// Poke is the request path's signal that requests wait for capacity; demand
// is in-flight plus waiting requests. It is cheap and safe to call from many
// goroutines; a tick the policy asks for happens in the next Step.
func (c *Controller) Poke(name string, demand float64) {
	c.mu.Lock()
	r := c.revs[name]
	c.mu.Unlock()
	if r == nil || r.policy == nil {
		return
	}
	r.mu.Lock()
	tick := r.policy.Poke(c.clock.Now(), demand)
	if tick {
		r.pending = true
	}
	r.mu.Unlock()
	if tick {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// Run calls Step until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.Resolution)
	defer t.Stop()
	for {
		c.Step(c.clock.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.wake:
		}
	}
}

// Step does what is due at now for every revision: a Record each second, a
// Tick each Interval or when one was asked for.
func (c *Controller) Step(now time.Time) {
	c.mu.Lock()
	revs := make([]*revision, 0, len(c.revs))
	for _, r := range c.revs {
		revs = append(revs, r)
	}
	c.mu.Unlock()
	sort.Slice(revs, func(i, j int) bool { return revs[i].name < revs[j].name })
	for _, r := range revs {
		c.step(r, now)
	}
}

func (c *Controller) step(r *revision, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := r.origin.IsZero()
	if first {
		// The first second has no stat yet; tick at once so a policy's
		// initial scale applies from the start.
		r.lastRecord, r.origin, r.nextTick = now, now, now
	}
	if now.Sub(r.lastRecord) >= time.Second {
		stat, err := c.metrics.Stat(r.name, now)
		if err != nil {
			c.fail(r.name, fmt.Errorf("metrics: %w", err))
		} else {
			r.stat = stat
			if r.policy != nil && r.policy.Record(now, stat) {
				r.pending = true
			}
		}
		// Keep a steady 1 s grid; after a stall, restart it from now.
		r.lastRecord = r.lastRecord.Add(time.Second)
		if now.Sub(r.lastRecord) >= time.Second {
			r.lastRecord = now
		}
	}
	due := !now.Before(r.nextTick)
	if !due && !r.pending {
		return
	}
	poked := r.pending && !due
	r.pending = false
	if due {
		// A poked tick in between does not move the schedule: the periodic
		// ticks stay on the grid the record seconds and the simulator use.
		// After a stall the grid restarts from now.
		r.nextTick = r.nextTick.Add(r.interval())
		if !now.Before(r.nextTick) {
			r.nextTick = now.Add(r.interval())
		}
	}
	pods, err := c.scaler.Pods(r.name)
	if err != nil {
		c.fail(r.name, fmt.Errorf("pods: %w", err))
		return
	}
	if r.policy == nil {
		n := pods.Ready + pods.NotReady
		c.record(r.name, Tick{Time: now, Revision: r.name, Stat: r.stat, Pods: pods, Poked: poked,
			Decision: autoscaler.Decision{Valid: true, Recommended: n, Desired: n}}, true)
		return
	}
	d := r.policy.Tick(now, pods)
	if first && c.opts.Deploys {
		// The first decision has no data yet; the revision is deployed
		// with autoscaler.DeployedPods, as in the simulator: the policy's
		// initial scale (the KPA's initial-scale), or one replica on the
		// direct and gateway paths.
		path, _ := autoscaler.PathOf(r.policy.Name())
		d.Desired = autoscaler.DeployedPods(path, d)
	}
	t := Tick{Time: now, Revision: r.name, Stat: r.stat, Pods: pods, Decision: d, Poked: poked}
	applied := d.Valid || first && d.Desired > 0
	if applied {
		if err := c.scaler.Scale(r.name, d.Desired); err != nil {
			t.Err = err.Error()
			c.fail(r.name, fmt.Errorf("scale to %d: %w", d.Desired, err))
		}
	}
	c.record(r.name, t, applied)
}

// record exports a tick's gauges (desired only for a decision applied)
// and keeps it.
func (c *Controller) record(name string, t Tick, applied bool) {
	d := t.Decision
	if applied {
		c.desired.WithLabelValues(name).Set(float64(d.Desired))
	}
	c.ready.WithLabelValues(name).Set(float64(t.Pods.Ready))
	c.notReady.WithLabelValues(name).Set(float64(t.Pods.NotReady))
	c.panicMode.WithLabelValues(name).Set(b2f(d.Panic))
	c.stable.WithLabelValues(name).Set(d.Stable)
	c.panicValue.WithLabelValues(name).Set(d.PanicValue)
	c.ebc.WithLabelValues(name).Set(d.ExcessBurstCapacity)
	if !c.opts.DiscardTicks {
		c.mu.Lock()
		c.ticks = append(c.ticks, t)
		c.mu.Unlock()
	}
}

func (c *Controller) fail(name string, err error) {
	if c.opts.OnError != nil {
		c.opts.OnError(name, err)
	}
}

// Grid reports a revision's schedule: its first Step (origin), from which
// a Record follows every second and a Tick every interval. ok is false
// before the revision's first Step.
func (c *Controller) Grid(name string) (origin time.Time, interval time.Duration, ok bool) {
	c.mu.Lock()
	r := c.revs[name]
	c.mu.Unlock()
	if r == nil {
		return time.Time{}, 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.origin, r.interval(), !r.origin.IsZero()
}

// Ticks returns a copy of every tick so far, in order.
func (c *Controller) Ticks() []Tick {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Tick(nil), c.ticks...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// CSVHeader is timeseries.csv's header row.
var CSVHeader = []string{"t_seconds", "revision", "concurrency", "max_concurrency", "rps",
	"ready", "not_ready", "valid", "recommended", "desired", "panic", "stable", "panic_value",
	"excess_burst_capacity", "activator_in_path", "poked", "error"}

// WriteCSV writes ticks as timeseries.csv, times in seconds since start.
func WriteCSV(w io.Writer, start time.Time, ticks []Tick) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, t := range ticks {
		d := t.Decision
		cw.Write([]string{
			strconv.FormatFloat(t.Time.Sub(start).Seconds(), 'f', 3, 64), t.Revision,
			f(t.Stat.Concurrency), f(t.Stat.MaxConcurrency), f(t.Stat.RPS),
			strconv.Itoa(t.Pods.Ready), strconv.Itoa(t.Pods.NotReady),
			strconv.FormatBool(d.Valid), strconv.Itoa(d.Recommended), strconv.Itoa(d.Desired),
			strconv.FormatBool(d.Panic), f(d.Stable), f(d.PanicValue), f(d.ExcessBurstCapacity),
			strconv.FormatBool(d.ActivatorInPath), strconv.FormatBool(t.Poked), t.Err,
		})
	}
	cw.Flush()
	return cw.Error()
}
