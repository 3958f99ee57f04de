package autoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The fixed keep-alive model of AWS Lambda, and of most serverless research
// simulators: each instance serves one request at a time; a request that
// finds no idle instance starts a new one at once; an instance is kept for
// keep-alive after its last use (10 min for Lambda, 20 min for Azure
// Functions' consumption plan).
//
// With lowest-index-first reuse, instance k was last used at the last
// moment k or more requests were in flight, so it is alive iff the peak
// concurrency within the trailing keep-alive window reached k. The instance
// count is therefore the windowed peak, kept as a monotonic deque of
// per-second peaks: amortised O(1) per second and no allocation.

func init() {
	register("keepalive", "Lambda-style: one request per instance, a new instance for every request that finds none idle, each kept for keep-alive (10 min) after its last use", keepaliveMake)
}

type keepaliveConfig struct {
	keepAlive time.Duration
	min, max  int
}

func keepaliveMake() ([]param, func() (Policy, error)) {
	c := &keepaliveConfig{keepAlive: 10 * time.Minute, max: 1000}
	params := []param{
		{"keep-alive", "how long an idle instance is kept after its last request (Lambda ~10m, Azure 20m)", &c.keepAlive},
		{"min", "instances kept warm regardless of traffic (provisioned concurrency)", &c.min},
		// Lambda's default account concurrency limit is 1000.
		{"max", "most concurrent instances (the concurrency limit); requests beyond it wait", &c.max},
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
	if c.max < 1 || c.max < c.min {
		errs = append(errs, fmt.Errorf("max must be at least 1 and min, got %d", c.max))
	}
	return errors.Join(errs...)
}

// keepaliveEntry is a second's peak demand; sec is the second's end.
type keepaliveEntry struct {
	sec int64
	v   float64
}

type keepalive struct {
	cfg keepaliveConfig
	k   int64 // keep-alive in whole seconds

	// q is a deque of (second, peak) with strictly decreasing peaks from
	// front to back: the front is the peak of the window.
	q       []keepaliveEntry
	head, n int

	last float64 // the latest second's peak, for the decision's report
	spec int
}

var _ Policy = (*keepalive)(nil)

func newKeepalive(c keepaliveConfig) (*keepalive, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	k := int64((c.keepAlive + time.Second - 1) / time.Second)
	// Entries have distinct seconds within (now-k, now+1].
	return &keepalive{cfg: c, k: k, q: make([]keepaliveEntry, k+2), spec: c.min}, nil
}

func (a *keepalive) Name() string            { return "keepalive" }
func (a *keepalive) Interval() time.Duration { return time.Second }

func (a *keepalive) String() string {
	return fmt.Sprintf("keepalive: %v, %d-%d instances", a.cfg.keepAlive, a.cfg.min, a.cfg.max)
}

// keepaliveSeconds returns the second a time falls in, as (floor, ceil) of
// its unix seconds: a stat recorded at now, or a poke during (now-1s, now],
// belongs to the second ending at ceil.
func keepaliveSeconds(now time.Time) (floor, ceil int64) {
	ns := now.UnixNano()
	floor = ns / 1e9
	if ns%1e9 < 0 {
		floor--
	}
	ceil = floor
	if ns-floor*1e9 > 0 {
		ceil++
	}
	return floor, ceil
}

func (a *keepalive) at(i int) *keepaliveEntry { return &a.q[(a.head+i)%len(a.q)] }

// expire drops the seconds whose instances have been idle for keep-alive
// by now: a use in the second ending at s keeps its instance to s + k.
func (a *keepalive) expire(floor int64) {
	for a.n > 0 && a.at(0).sec <= floor-a.k {
		a.head = (a.head + 1) % len(a.q)
		a.n--
	}
}

func (a *keepalive) push(now time.Time, v float64) {
	floor, sec := keepaliveSeconds(now)
	a.expire(floor)
	if a.n > 0 {
		if b := a.at(a.n - 1); b.sec >= sec && b.v >= v {
			return
		}
	}
	for a.n > 0 && a.at(a.n-1).v <= v {
		a.n--
	}
	*a.at(a.n) = keepaliveEntry{sec: sec, v: v}
	a.n++
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
	a.push(now, v)
	return keepaliveInstances(v) > a.spec && a.spec < a.cfg.max
}

// Poke is the per-request scale-up: demand beyond the instances present
// starts new ones at once.
func (a *keepalive) Poke(now time.Time, demand float64) bool {
	if demand <= 0 {
		return false
	}
	a.push(now, demand)
	return keepaliveInstances(demand) > a.spec && a.spec < a.cfg.max
}

func (a *keepalive) Tick(now time.Time, _ Pods) Decision {
	floor, _ := keepaliveSeconds(now)
	a.expire(floor)
	peak := 0.0
	if a.n > 0 {
		peak = a.at(0).v
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
