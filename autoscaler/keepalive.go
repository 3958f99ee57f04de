package autoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The fixed keep-alive model of AWS Lambda, and of most serverless research
// simulators: each instance serves one request at a time; a request that
// finds no idle instance is bound to a new instance and waits for exactly
// that one; an idle instance is retired keep-alive after its last use
// (10 min for Lambda, 20 min for Azure Functions' consumption plan).
//
// That is a request path more than a periodic decision, so the policy has
// two faces. On the Lambda path (PathLambda) the platform runs it per
// request from Instances: a new instance per request that finds none idle,
// the most recently used idle instance for the others, and a timer per
// instance (the simulator and the local platform's Lambda front end). Where
// only a count can be set (a replay with scalebench decide, routing=
// first-free behind an activator), Tick gives the same count: with
// most-recently-used reuse, the idle instances form a stack ordered by the
// time they went idle, so the one at depth j from the top has been idle
// since in-flight requests last reached N+j, and it is alive iff the peak
// in-flight count within the trailing keep-alive reached N+j. The instance
// count is therefore the peak over the trailing keep-alive, kept as a
// monotonic deque of (time, peak): amortised O(1) per observation. Times
// are exact: a poke counts at its own time, a second's peak at the
// second's end (the latest moment it can have happened).

func init() {
	register("keepalive", PathLambda, "Lambda-style: one request per instance, a new instance for every request that finds none idle, each kept for keep-alive (10 min) after its last use", keepaliveMake)
}

// Instances is how a Lambda-style platform runs a revision: it starts an
// instance for each request that finds none idle while fewer than Max
// exist (requests beyond wait for the first instance to free), keeps Min
// provisioned instances warm, and retires every other instance exactly
// KeepAlive after its last request.
type Instances struct {
	KeepAlive time.Duration
	Min, Max  int
	// FirstFree is the routing scalebench used before it followed Lambda,
	// kept as a named option: a request that finds no idle instance waits
	// in the front end for whichever instance frees first, and the count
	// follows Tick. It matches a Knative-style platform running this
	// policy behind an activator, not Lambda.
	FirstFree bool
}

// InstancePolicy is a policy on the Lambda path: the platform sizes the
// revision per request from Instances instead of from Tick.
type InstancePolicy interface {
	Policy
	Instances() Instances
}

// Keep-alive routing modes.
const (
	keepaliveLambda    = "lambda"
	keepaliveFirstFree = "first-free"
)

type keepaliveConfig struct {
	keepAlive time.Duration
	min, max  int
	routing   string
}

func keepaliveMake() ([]param, func() (Policy, error)) {
	c := &keepaliveConfig{keepAlive: 10 * time.Minute, max: 1000, routing: keepaliveLambda}
	params := []param{
		{"keep-alive", "how long an idle instance is kept after its last request (Lambda ~10m, Azure 20m)", &c.keepAlive},
		{"min", "instances kept warm regardless of traffic (provisioned concurrency)", &c.min},
		// Lambda's default account concurrency limit is 1000.
		{"max", "most concurrent instances (the concurrency limit); requests beyond it wait", &c.max},
		{"routing", "lambda: a request that finds no idle instance waits for a new one of its own; first-free: it waits for whichever instance frees first (scalebench before it followed Lambda)", &c.routing},
	}
	return params, func() (Policy, error) { return newKeepalive(*c) }
}

func (c keepaliveConfig) validate() error {
	var errs []error
	if c.keepAlive < time.Second || c.keepAlive > 4*time.Hour {
		errs = append(errs, fmt.Errorf("keep-alive must be 1s to 4h, got %v", c.keepAlive))
	}
	if c.min < 0 {
		errs = append(errs, fmt.Errorf("min must not be negative, got %d", c.min))
	}
	if c.max < 1 || c.max < c.min || c.max > MaxPods {
		errs = append(errs, fmt.Errorf("max must be at least 1 and min, and at most %d, got %d", MaxPods, c.max))
	}
	if c.routing != keepaliveLambda && c.routing != keepaliveFirstFree {
		errs = append(errs, fmt.Errorf("routing must be %s or %s, got %q", keepaliveLambda, keepaliveFirstFree, c.routing))
	}
	return errors.Join(errs...)
}

// keepaliveEntry is a peak of in-flight requests and when it was seen, in
// unix nanoseconds.
type keepaliveEntry struct {
	at int64
	v  float64
}

type keepalive struct {
	cfg  keepaliveConfig
	keep int64 // keep-alive in nanoseconds

	// q[head:] is a deque of (time, peak) with increasing times and
	// strictly decreasing peaks from front to back: the front is the peak
	// of the trailing keep-alive.
	q    []keepaliveEntry
	head int

	last float64 // the latest second's peak, for the decision's report
	spec int
}

var _ InstancePolicy = (*keepalive)(nil)

func newKeepalive(c keepaliveConfig) (*keepalive, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &keepalive{cfg: c, keep: int64(c.keepAlive), spec: c.min}, nil
}

func (a *keepalive) Name() string            { return "keepalive" }
func (a *keepalive) Interval() time.Duration { return time.Second }

func (a *keepalive) String() string {
	return fmt.Sprintf("keepalive: %v, %d-%d instances, %s routing", a.cfg.keepAlive, a.cfg.min, a.cfg.max, a.cfg.routing)
}

func (a *keepalive) Instances() Instances {
	return Instances{KeepAlive: a.cfg.keepAlive, Min: a.cfg.min, Max: a.cfg.max, FirstFree: a.cfg.routing == keepaliveFirstFree}
}

// expire drops the peaks whose instances have been idle for keep-alive by
// now: a use at t keeps its instance alive during [t, t+keep).
func (a *keepalive) expire(now int64) {
	for a.head < len(a.q) && a.q[a.head].at <= now-a.keep {
		a.head++
	}
	switch {
	case a.head == len(a.q):
		a.q, a.head = a.q[:0], 0
	case a.head >= 32 && 2*a.head >= len(a.q):
		// Reuse the storage rather than let the deque creep forward.
		n := copy(a.q, a.q[a.head:])
		a.q, a.head = a.q[:n], 0
	}
}

func (a *keepalive) push(now int64, v float64) {
	a.expire(now)
	for len(a.q) > a.head && a.q[len(a.q)-1].v <= v {
		a.q = a.q[:len(a.q)-1]
	}
	a.q = append(a.q, keepaliveEntry{at: now, v: v})
}

func keepaliveInstances(v float64) int { return int(math.Ceil(v - 1e-9)) }

// Record adds the second's peak in-flight count (its average when the
// peak is unknown). A peak above the instances present means requests
// started new instances: tick now.
func (a *keepalive) Record(now time.Time, s Stat) bool {
	v := s.MaxConcurrency
	if v == 0 {
		v = s.Concurrency
	}
	a.last = v
	a.push(now.UnixNano(), v)
	return keepaliveInstances(v) > a.spec && a.spec < a.cfg.max
}

// Poke is the per-request scale-up: demand beyond the instances present
// starts new ones at once.
func (a *keepalive) Poke(now time.Time, demand float64) bool {
	if demand <= 0 {
		return false
	}
	a.push(now.UnixNano(), demand)
	return keepaliveInstances(demand) > a.spec && a.spec < a.cfg.max
}

func (a *keepalive) Tick(now time.Time, _ Pods) Decision {
	a.expire(now.UnixNano())
	peak := 0.0
	if a.head < len(a.q) {
		peak = a.q[a.head].v
	}
	rec := keepaliveInstances(peak)
	a.spec = max(a.cfg.min, min(rec, a.cfg.max))
	return Decision{
		Valid:           true,
		Recommended:     rec,
		Desired:         a.spec,
		Stable:          peak,
		PanicValue:      a.last,
		ActivatorInPath: a.spec == 0,
	}
}

var _ Idler = (*keepalive)(nil)

// Settled: no instance is wanted (so min is 0) and the window holds no
// demand. A zero Record then only replaces the window's one zero entry by
// its own (push drops the trailing entries it does not exceed), a Tick
// only expires that entry, and each Tick recommends 0 again.
func (a *keepalive) Settled() bool {
	if a.spec != 0 || a.last != 0 {
		return false
	}
	for _, e := range a.q[a.head:] {
		if e.v != 0 {
			return false
		}
	}
	return true
}

// SkipIdle leaves the window as the last zero Record, at lastRecord, left
// it: that one entry, which no later Tick of the gap can have expired (the
// ticks come every second, and the keep-alive is at least one). With no
// Record in the gap the Ticks could only have expired zero entries, which
// change no decision.
func (a *keepalive) SkipIdle(lastRecord, _ time.Time) {
	if !lastRecord.IsZero() {
		a.q = append(a.q[:0], keepaliveEntry{at: lastRecord.UnixNano()})
		a.head = 0
	}
}
