package autoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// OpenFaaS Community Edition scales through its monitoring stack, so its
// reaction time is the sum of that stack's timers. The model follows a
// request count through each stage (openfaas/faas gateway and the
// faas-netes chart's alert rules; facts with sources in
// docs/readme-policies.md):
//
//  1. The gateway counts invocations; Prometheus scrapes the counter every
//     5 s. The labelled series exists only after the first invocation.
//  2. Every 15 s Prometheus evaluates APIHighInvocationRate,
//     sum(rate(gateway_function_invocation_total{code="200"}[10s])) > 5,
//     with `for: 5s`: the first true evaluation makes the alert pending, the
//     next one (15 s later, since 15 s >= 5 s) makes it firing. A firing or
//     newly resolved alert is sent to Alertmanager at once.
//  3. Alertmanager flushes a new group after group_wait (5 s) and then every
//     group_interval (10 s). A flush notifies the gateway when the firing
//     set changed, when everything resolved, or when the last notification
//     is strictly older than repeat_interval (30 s); as flushes come only on
//     the 10 s grid, repeats arrive every 40 s.
//  4. The gateway adds one step per firing notification, repeats included,
//     up to max; a resolved notification drops the function to min.

func init() {
	register("openfaas-ce", PathGateway, "OpenFaaS CE: Prometheus alert (rate > 5 rps for 5 s, 15 s evaluation) via Alertmanager (5 s wait, 10 s interval, 30 s repeat) into the gateway's step rule; drop to min on resolve", ofceMake)
}

type ofceConfig struct {
	min, max, factor int
	ceLimit          int
	threshold        float64
	scrape           time.Duration
	rateWindow       time.Duration
	evaluation       time.Duration
	alertFor         time.Duration
	groupWait        time.Duration
	groupInterval    time.Duration
	repeatInterval   time.Duration
	scaleToZero      bool
	idleDuration     time.Duration
	idleCheck        time.Duration
}

func ofceMake() ([]param, func() (Policy, error)) {
	c := &ofceConfig{
		min: 1, max: 5, factor: 10, ceLimit: 5,
		threshold:      5,
		scrape:         5 * time.Second,
		rateWindow:     10 * time.Second,
		evaluation:     15 * time.Second,
		alertFor:       5 * time.Second,
		groupWait:      5 * time.Second,
		groupInterval:  10 * time.Second,
		repeatInterval: 30 * time.Second,
		idleDuration:   10 * time.Minute,
		idleCheck:      30 * time.Second,
	}
	params := []param{
		{"min", "com.openfaas.scale.min: replicas on deploy and after a resolved alert (CE refuses 0)", &c.min},
		{"max", "com.openfaas.scale.max: the most replicas the alert steps up to", &c.max},
		{"factor", "com.openfaas.scale.factor: step as a percent of max, 1-100", &c.factor},
		{"ce-limit", "the CE gateway's cap on max (5); 0 removes it, as in gateways before 2023", &c.ceLimit},
		{"threshold-rps", "APIHighInvocationRate fires while sum(rate(invocations[rate-window])) exceeds this", &c.threshold},
		{"scrape-interval", "Prometheus scrape interval for the gateway", &c.scrape},
		{"rate-window", "range of the alert's rate()", &c.rateWindow},
		{"evaluation-interval", "Prometheus rule evaluation interval", &c.evaluation},
		{"alert-for", "the alert's `for:` hold before pending becomes firing", &c.alertFor},
		{"group-wait", "Alertmanager group_wait", &c.groupWait},
		{"group-interval", "Alertmanager group_interval", &c.groupInterval},
		{"repeat-interval", "Alertmanager repeat_interval", &c.repeatInterval},
		{"scale-to-zero", "run the faas-idler: scale to 0 after idle-duration without invocations (com.openfaas.scale.zero=true)", &c.scaleToZero},
		{"idle-duration", "faas-idler inactivity duration", &c.idleDuration},
		{"idle-check-interval", "faas-idler reconcile interval", &c.idleCheck},
	}
	return params, func() (Policy, error) { return newOFCE(*c) }
}

// maxReplicas is the max the gateway works with. The gateway computes it
// literally as max = min(com.openfaas.scale.max, 5): CE limits a function
// to 5 replicas, so the label can lower max but not raise it, and the step
// is taken from the capped value (the defaults, max 5 and factor 10, step
// one replica per notification). ce-limit=0 restores the uncapped gateway
// of before 2023, whose defaults were max 20 and factor 20 (step 4).
func (c ofceConfig) maxReplicas() int {
	if c.ceLimit > 0 {
		return min(c.max, c.ceLimit)
	}
	return c.max
}

// step is the gateway's CalculateReplicas step, in the gateway's own float
// arithmetic: ceil(max / 100 * factor).
func (c ofceConfig) step() int {
	return int(math.Ceil(float64(c.maxReplicas()) / 100 * float64(c.factor)))
}

func (c ofceConfig) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.min >= 1, "min must be at least 1 (OpenFaaS CE refuses 0 replicas; use scale-to-zero), got %d", c.min)
	check(c.max >= c.min && c.max <= MaxPods, "max must be at least min and at most %d, got %d", MaxPods, c.max)
	check(c.ceLimit >= 0 && c.ceLimit <= MaxPods, "ce-limit must be 0 to %d, got %d", MaxPods, c.ceLimit)
	// The cap matters only for a max that is otherwise valid: with max
	// below min the line above says what is wrong.
	check(c.max < c.min || c.ceLimit <= 0 || c.ceLimit >= c.min, "min %d is above the CE cap of %d replicas", c.min, c.ceLimit)
	check(c.factor >= 1 && c.factor <= 100, "factor must be 1-100, got %d", c.factor)
	check(c.threshold >= 0, "threshold-rps must not be negative, got %g", c.threshold)
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"scrape-interval", c.scrape}, {"rate-window", c.rateWindow}, {"evaluation-interval", c.evaluation},
		{"group-interval", c.groupInterval}, {"repeat-interval", c.repeatInterval}, {"idle-duration", c.idleDuration}, {"idle-check-interval", c.idleCheck}} {
		check(d.v >= time.Second && d.v <= time.Hour, "%s must be 1s to 1h, got %v", d.key, d.v)
	}
	check(c.alertFor >= 0 && c.alertFor <= time.Hour, "alert-for must be 0 to 1h, got %v", c.alertFor)
	check(c.groupWait >= 0 && c.groupWait <= time.Hour, "group-wait must be 0 to 1h, got %v", c.groupWait)
	check(c.rateWindow <= 100*c.scrape, "rate-window must be at most 100 scrape intervals, got %v", c.rateWindow)
	return errors.Join(errs...)
}

// Alert states as Prometheus reports them; PanicValue carries them.
const (
	ofceInactive = iota
	ofcePending
	ofceFiring
)

type ofceSample struct {
	t int64 // unix nanoseconds
	v float64
}

type ofce struct {
	cfg     ofceConfig
	step    int
	maxRepl int

	started    bool
	nextScrape int64
	nextEval   int64
	nextIdle   int64

	counter float64 // gateway_function_invocation_total for the function
	// samples are the scraped counter values, enough for a rate() range
	// and an evaluation that runs late.
	samples []ofceSample
	head, n int

	rate     float64
	state    int
	activeAt int64

	// Alertmanager: the one alert, its aggregation group and the
	// notification log entry of the group.
	amPresent, amFiring bool
	group               bool
	nextFlush           int64
	logged, logFiring   bool
	logAt               int64

	ofGateway
}

var _ Policy = (*ofce)(nil)

func newOFCE(c ofceConfig) (*ofce, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	keep := int((c.rateWindow+c.evaluation)/c.scrape) + 3
	return &ofce{cfg: c, step: c.step(), maxRepl: c.maxReplicas(), samples: make([]ofceSample, keep)}, nil
}

func (o *ofce) Name() string { return "openfaas-ce" }

// Interval is 1 s so that alert evaluations and notifications take effect
// at their exact second.
func (o *ofce) Interval() time.Duration { return time.Second }

func (o *ofce) String() string {
	return fmt.Sprintf("openfaas-ce: min %d, max %d, step %d", o.cfg.min, o.maxRepl, o.step)
}

// start anchors the stack's timers at the first call: Prometheus,
// Alertmanager and the idler start with the function.
func (o *ofce) start(t int64) {
	if o.started {
		return
	}
	o.started = true
	o.nextScrape, o.nextEval = t, t
	o.nextIdle = t + int64(o.cfg.idleCheck)
	o.lastActive = t
}

// Record counts the second's invocations and takes the scrape that falls
// due. At zero replicas an invocation means the gateway is holding a
// request, which scales the function from zero.
func (o *ofce) Record(now time.Time, s Stat) bool {
	t := now.UnixNano()
	o.start(t)
	o.counter += s.RPS
	if s.RPS > 0 {
		o.lastActive = t
	}
	// The gateway creates the labelled series at the first invocation;
	// before that a scrape finds nothing.
	if t >= o.nextScrape {
		if o.counter > 0 {
			o.push(ofceSample{t: t, v: o.counter})
		}
		for o.nextScrape <= t {
			o.nextScrape += int64(o.cfg.scrape)
		}
	}
	return o.wakeOnTraffic(s.RPS > 0 || s.Concurrency > 0)
}

func (o *ofce) push(s ofceSample) {
	if o.n < len(o.samples) {
		o.samples[(o.head+o.n)%len(o.samples)] = s
		o.n++
		return
	}
	o.samples[o.head] = s
	o.head = (o.head + 1) % len(o.samples)
}

// Tick runs every stage whose timer fell due, in time order. At equal
// times an evaluation precedes a flush (its alert reaches Alertmanager
// first) and a flush precedes the idler.
func (o *ofce) Tick(now time.Time, _ Pods) Decision {
	t := now.UnixNano()
	o.start(t)
	if !o.hasSpec {
		// faas-netes deploys a function at its min scale.
		o.spec, o.hasSpec = o.cfg.min, true
	}
	if o.wake {
		o.wake = false
		if o.spec == 0 {
			o.spec = max(o.cfg.min, 1)
			o.lastActive = max(o.lastActive, t)
		}
	}
	for {
		next := o.nextEval
		if o.group {
			next = min(next, o.nextFlush)
		}
		if o.cfg.scaleToZero {
			next = min(next, o.nextIdle)
		}
		if next > t {
			break
		}
		switch {
		case next == o.nextEval:
			o.evaluate(next)
			o.nextEval += int64(o.cfg.evaluation)
		case o.group && next == o.nextFlush:
			o.flush(next)
		default:
			// faas-idler: no invocations for the inactivity duration.
			if o.spec > 0 && next-o.lastActive >= int64(o.cfg.idleDuration) {
				o.spec = 0
			}
			o.nextIdle += int64(o.cfg.idleCheck)
		}
	}
	return Decision{
		Valid:           true,
		Recommended:     o.spec,
		Desired:         o.spec,
		Stable:          o.rate,
		PanicValue:      float64(o.state),
		ActivatorInPath: o.spec == 0,
	}
}

// evaluate is one rule evaluation at time e.
func (o *ofce) evaluate(e int64) {
	rate, ok := o.rateAt(e)
	o.rate = rate
	if ok && rate > o.cfg.threshold {
		if o.state == ofceInactive {
			o.state, o.activeAt = ofcePending, e
		}
		if o.state == ofcePending && e-o.activeAt >= int64(o.cfg.alertFor) {
			o.state = ofceFiring
			o.receive(e, true)
		}
		return
	}
	if o.state == ofceFiring {
		o.receive(e, false)
	}
	o.state = ofceInactive
}

// rateAt is PromQL's rate() over the range (e-window, e] (left-open, as in
// Prometheus 3), with extrapolatedRate's extrapolation to the range's edges.
// Without two samples the series is absent, so the alert cannot be true.
func (o *ofce) rateAt(e int64) (float64, bool) {
	start := e - int64(o.cfg.rateWindow)
	var first, last ofceSample
	count := 0
	for i := 0; i < o.n; i++ {
		s := o.samples[(o.head+i)%len(o.samples)]
		if s.t <= start || s.t > e {
			continue
		}
		if count == 0 {
			first = s
		}
		last = s
		count++
	}
	if count < 2 {
		return 0, false
	}
	result := last.v - first.v
	sampled := float64(last.t-first.t) / 1e9
	avgGap := sampled / float64(count-1)
	toStart := float64(first.t-start) / 1e9
	toEnd := float64(e-last.t) / 1e9
	threshold := avgGap * 1.1
	if toStart >= threshold {
		toStart = avgGap / 2
	}
	// A counter cannot go below zero: extrapolate at most to its zero point.
	if result > 0 && first.v >= 0 {
		if toZero := sampled * (first.v / result); toZero < toStart {
			toStart = toZero
		}
	}
	if toEnd >= threshold {
		toEnd = avgGap / 2
	}
	factor := (sampled + toStart + toEnd) / sampled / o.cfg.rateWindow.Seconds()
	return result * factor, true
}

// receive is Alertmanager taking a firing or resolved alert at time t; the
// first alert of a group starts it, to flush after group_wait.
func (o *ofce) receive(t int64, firing bool) {
	if !firing && !o.amPresent {
		return
	}
	o.amPresent, o.amFiring = true, firing
	if !o.group {
		o.group, o.nextFlush = true, t+int64(o.cfg.groupWait)
	}
}

// flush is one aggregation-group flush: the DedupStage's needsUpdate, then
// the webhook to the gateway.
func (o *ofce) flush(t int64) {
	o.nextFlush = t + int64(o.cfg.groupInterval)
	firing := o.amPresent && o.amFiring
	var notify bool
	switch {
	case !o.logged:
		notify = firing
	case firing && !o.logFiring:
		notify = true
	case !firing:
		notify = o.logFiring
	default:
		// entry.Timestamp.Before(now - repeat): strictly older.
		notify = o.logAt < t-int64(o.cfg.repeatInterval)
	}
	if notify {
		o.logged, o.logFiring, o.logAt = true, firing, t
		o.gateway(firing)
	}
	if o.amPresent && !o.amFiring {
		// A resolved alert leaves the group once flushed; the empty group
		// goes, so the next alert waits group_wait again.
		o.amPresent, o.group = false, false
	}
}

// gateway is CalculateReplicas on the webhook's alert.
func (o *ofce) gateway(firing bool) {
	if firing {
		o.spec = min(o.spec+o.step, o.maxRepl)
		return
	}
	o.spec = o.cfg.min
}
