package autoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The OpenFaaS Pro autoscaler (OpenFaaS docs, "Autoscaling" for Pro;
// facts with sources in docs/readme-policies.md): a
// proportional rule, desired = ceil(readyPods × meanLoadPerPod / (target ×
// target-proportion)), clamped to [min, max], on inputs that Prometheus
// recording rules refresh every 15 s (rps as a rate over 30 s, capacity as
// the max in-flight over 45 s), with an optional scale-down window and
// scale to zero after an idle duration.

func init() {
	register("openfaas-pro", PathGateway, "OpenFaaS Pro: ceil(load / (target x 0.9)) on rps, capacity (in-flight) or cpu refreshed every 15 s; optional scale-down window; scale to zero after 15 min idle", ofproMake)
}

type ofproConfig struct {
	mode           string
	target         float64
	proportion     float64
	min, max       int
	refresh        time.Duration
	rateWindow     time.Duration
	capacityWindow time.Duration
	downWindow     time.Duration
	zero           bool
	zeroDuration   time.Duration
}

func ofproMake() ([]param, func() (Policy, error)) {
	c := &ofproConfig{
		mode: "rps", target: 50, proportion: 0.9, min: 1, max: 20,
		refresh:        15 * time.Second,
		rateWindow:     30 * time.Second,
		capacityWindow: 45 * time.Second,
		zeroDuration:   15 * time.Minute,
	}
	params := []param{
		{"type", "com.openfaas.scale.type: rps, capacity (in-flight requests) or cpu (millicores)", &c.mode},
		{"target", "com.openfaas.scale.target: load per replica (rps, in-flight requests or millicores)", &c.target},
		{"target-proportion", "com.openfaas.scale.target-proportion: fraction of target to aim for", &c.proportion},
		{"min", "com.openfaas.scale.min", &c.min},
		{"max", "com.openfaas.scale.max", &c.max},
		{"refresh-interval", "how often the recording rules refresh the load", &c.refresh},
		{"rate-window", "type=rps or cpu: range of the rate the load is taken over", &c.rateWindow},
		{"capacity-window", "type=capacity: range of the max in-flight", &c.capacityWindow},
		{"down-window", "com.openfaas.scale.down.window: scale down only to the highest recommendation within it (0 = off, up to 5m)", &c.downWindow},
		{"zero", "com.openfaas.scale.zero: scale to zero when idle", &c.zero},
		{"zero-duration", "com.openfaas.scale.zero-duration: idle time before scaling to zero", &c.zeroDuration},
	}
	return params, func() (Policy, error) { return newOFPro(*c) }
}

func (c ofproConfig) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.mode == "rps" || c.mode == "capacity" || c.mode == "cpu", "type must be rps, capacity or cpu, got %q", c.mode)
	check(c.target > 0, "target must be positive, got %g", c.target)
	check(c.proportion > 0 && c.proportion <= 1, "target-proportion must be in (0, 1], got %g", c.proportion)
	// Scale to zero is the zero label's job; min is the floor when awake.
	check(c.min >= 1, "min must be at least 1 (use zero=true to scale to zero), got %d", c.min)
	check(c.max >= c.min && c.max <= MaxPods, "max must be at least min and at most %d, got %d", MaxPods, c.max)
	check(c.refresh >= time.Second && c.refresh <= 5*time.Minute, "refresh-interval must be 1s to 5m, got %v", c.refresh)
	check(c.rateWindow >= time.Second && c.rateWindow <= 10*time.Minute, "rate-window must be 1s to 10m, got %v", c.rateWindow)
	check(c.capacityWindow >= time.Second && c.capacityWindow <= 10*time.Minute, "capacity-window must be 1s to 10m, got %v", c.capacityWindow)
	check(c.downWindow >= 0 && c.downWindow <= 5*time.Minute, "down-window must be 0 to 5m, got %v", c.downWindow)
	check(c.zeroDuration >= time.Second, "zero-duration must be at least 1s, got %v", c.zeroDuration)
	return errors.Join(errs...)
}

type ofpro struct {
	cfg ofproConfig

	// values holds the last window of per-second load: RPS, CPU, or the
	// second's peak in-flight count.
	values     []float64
	head, n    int
	started    bool
	nextUpdate int64

	load  float64 // revision-wide load at the last refresh
	recs  hpaRing // recommendations at each refresh, for the down window
	rec   int
	fresh bool // a refresh has happened
	// want is the down window's highest recommendation, valid until a
	// refresh or until wantUntil, when its oldest member leaves the window.
	want      int
	wantUntil int64

	ofGateway
}

var _ Policy = (*ofpro)(nil)

func newOFPro(c ofproConfig) (*ofpro, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	window := c.rateWindow
	if c.mode == "capacity" {
		window = c.capacityWindow
	}
	return &ofpro{
		cfg:    c,
		values: make([]float64, int((window+time.Second-1)/time.Second)),
		recs:   newHPARing(c.downWindow, c.refresh),
	}, nil
}

func (o *ofpro) Name() string { return "openfaas-pro" }

// Interval is 1 s so a refresh takes effect within the second it lands.
func (o *ofpro) Interval() time.Duration { return time.Second }

func (o *ofpro) String() string {
	return fmt.Sprintf("openfaas-pro: %s target %g x %g, %d-%d replicas", o.cfg.mode, o.cfg.target, o.cfg.proportion, o.cfg.min, o.cfg.max)
}

// Record keeps the second's load and, when a refresh is due, recomputes the
// recommendation the way the recording rules feed it.
func (o *ofpro) Record(now time.Time, s Stat) bool {
	t := now.UnixNano()
	if !o.started {
		o.started, o.nextUpdate, o.lastActive = true, t, t
	}
	v := s.RPS
	switch o.cfg.mode {
	case "cpu":
		v = s.CPU
	case "capacity":
		v = s.MaxConcurrency
		if v == 0 {
			v = s.Concurrency
		}
	}
	if o.n < len(o.values) {
		o.values[(o.head+o.n)%len(o.values)] = v
		o.n++
	} else {
		o.values[o.head] = v
		o.head = (o.head + 1) % len(o.values)
	}
	if s.RPS > 0 || s.Concurrency > 0 {
		o.lastActive = t
	}
	if t >= o.nextUpdate {
		o.refresh(t)
		for o.nextUpdate <= t {
			o.nextUpdate += int64(o.cfg.refresh)
		}
	}
	return o.wakeOnTraffic(s.RPS > 0 || s.Concurrency > 0)
}

// refresh takes the load (mean rate, or max in-flight, over the window) and
// makes a recommendation. readyPods × meanLoadPerPod is the revision-wide
// load itself, so no pod count is needed.
func (o *ofpro) refresh(t int64) {
	load := 0.0
	for i := 0; i < o.n; i++ {
		v := o.values[(o.head+i)%len(o.values)]
		if o.cfg.mode == "capacity" {
			load = max(load, v)
		} else {
			load += v
		}
	}
	if o.cfg.mode != "capacity" {
		load /= float64(o.n)
	}
	o.load = load
	// The tiny allowance keeps float noise in target × proportion (0.9 has
	// no exact binary form) from adding a replica when the load is an exact
	// multiple of the aim.
	o.rec = int(math.Ceil(load/(o.cfg.target*o.cfg.proportion) - 1e-9))
	o.recs.push(hpaSample{t: t, v: o.rec})
	o.fresh = true
	o.wantUntil = t
}

// Tick applies a refresh that fell due, the scale from zero and the zero
// duration, and reports the replicas the autoscaler sets.
func (o *ofpro) Tick(now time.Time, pods Pods) Decision {
	t := now.UnixNano()
	c := &o.cfg
	if !o.hasSpec {
		o.spec, o.hasSpec = c.min, true
	}
	switch {
	case o.spec == 0:
		if o.wake {
			o.spec = c.min
			o.lastActive = max(o.lastActive, t)
		}
	case c.zero && o.started && t-o.lastActive >= int64(c.zeroDuration):
		o.spec = 0
	case o.fresh:
		if t >= o.wantUntil {
			o.downWindowMax(t)
		}
		o.spec = max(c.min, min(o.want, c.max))
	}
	o.wake = false
	perPod := 0.0
	if pods.Ready > 0 {
		perPod = o.load / float64(pods.Ready)
	}
	return Decision{
		Valid:           true,
		Recommended:     o.rec,
		Desired:         o.spec,
		Stable:          o.load,
		PanicValue:      perPod,
		ActivatorInPath: o.spec == 0,
	}
}

// downWindowMax finds the highest recommendation within the down window
// (the latest is always in it: with no window it is the only one), and
// when the answer can next change without a refresh.
func (o *ofpro) downWindowMax(t int64) {
	window := int64(o.cfg.downWindow)
	o.want, o.wantUntil = o.rec, math.MaxInt64
	for _, r := range o.recs.all() {
		if r.t <= t-window {
			continue
		}
		o.want = max(o.want, r.v)
		if window > 0 {
			o.wantUntil = min(o.wantUntil, r.t+window)
		}
	}
}
