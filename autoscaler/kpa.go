package autoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// KPAConfig holds every knob of the Knative Pod Autoscaler, named after
// Knative's annotations and config-autoscaler keys. DefaultKnativeConfig
// gives Knative's shipped defaults; DefaultKPAConfig the project's own.
type KPAConfig struct {
	// Metric is "concurrency" (in-flight requests) or "rps".
	Metric string
	// Target is the per-pod target (autoscaling.knative.dev/target);
	// 0 derives it from ContainerConcurrency or the defaults below.
	Target float64
	// ContainerConcurrency is the revision's hard limit; 0 = unlimited.
	ContainerConcurrency              int
	ContainerConcurrencyTargetDefault float64
	RPSTargetDefault                  float64
	TargetUtilizationPercentage       float64
	// TargetBurstCapacity: 0 never keeps the activator for bursts, -1
	// always keeps it in the path.
	TargetBurstCapacity      float64
	StableWindow             time.Duration
	PanicWindowPercentage    float64
	PanicThresholdPercentage float64
	MaxScaleUpRate           float64
	MaxScaleDownRate         float64
	// Aggregation is "linear" or "weightedExponential".
	Aggregation     string
	ActivationScale int
	ScaleDownDelay  time.Duration
	// MinScale, MaxScale (0 = unlimited) and InitialScale bound the
	// revision, as Knative's reconciler applies them.
	MinScale              int
	MaxScale              int
	InitialScale          int
	AllowZeroInitialScale bool
	EnableScaleToZero     bool
	ScaleToZeroGrace      time.Duration
	PodRetention          time.Duration
	TickInterval          time.Duration
	// Reachable is false for a revision that receives no route traffic;
	// Knative then neither rate-limits scale-down nor applies min-scale.
	Reachable bool

	// LearnedRetention is scalebench's addition, off in the knative preset:
	// the last pod is kept through the revision's own typical idle gap
	// (the RetentionPercentile of its last idle gaps, at most
	// RetentionMax), the way the Azure "hybrid histogram" keep-alive does,
	// so bursty revisions stop paying a cold start per burst while truly
	// idle ones still go to zero promptly.
	LearnedRetention    bool
	RetentionPercentile float64
	RetentionMax        time.Duration
}

// DefaultKnativeConfig is Knative Serving's shipped configuration
// (config-autoscaler, knative.dev/serving v0.50).
func DefaultKnativeConfig() KPAConfig {
	return KPAConfig{
		Metric:                            "concurrency",
		ContainerConcurrencyTargetDefault: 100,
		RPSTargetDefault:                  200,
		TargetUtilizationPercentage:       70,
		TargetBurstCapacity:               211,
		StableWindow:                      60 * time.Second,
		PanicWindowPercentage:             10,
		PanicThresholdPercentage:          200,
		MaxScaleUpRate:                    1000,
		MaxScaleDownRate:                  2,
		Aggregation:                       "linear",
		ActivationScale:                   1,
		InitialScale:                      1,
		EnableScaleToZero:                 true,
		ScaleToZeroGrace:                  30 * time.Second,
		TickInterval:                      2 * time.Second,
		Reachable:                         true,
		RetentionPercentile:               90,
		RetentionMax:                      10 * time.Minute,
	}
}

// DefaultKPAConfig is the project's own autoscaler: Knative's algorithm
// with learned pod retention switched on.
func DefaultKPAConfig() KPAConfig {
	c := DefaultKnativeConfig()
	c.LearnedRetention = true
	return c
}

func (c *KPAConfig) params() []param {
	return []param{
		{"metric", "scaling metric: concurrency or rps", &c.Metric},
		{"target", "per-pod target (autoscaling.knative.dev/target); 0 = from container-concurrency or the defaults", &c.Target},
		{"container-concurrency", "hard per-pod concurrency limit of the revision; 0 = unlimited", &c.ContainerConcurrency},
		{"container-concurrency-target-default", "per-pod concurrency target when none is set", &c.ContainerConcurrencyTargetDefault},
		{"requests-per-second-target-default", "per-pod RPS target when none is set", &c.RPSTargetDefault},
		{"target-utilization-percentage", "share of the target to aim for, in percent", &c.TargetUtilizationPercentage},
		{"target-burst-capacity", "spare requests the revision must absorb before the activator leaves the path; -1 = always in path, 0 = never", &c.TargetBurstCapacity},
		{"stable-window", "stable window length (6s to 1h)", &c.StableWindow},
		{"panic-window-percentage", "panic window as a percentage of the stable window (1 to 100)", &c.PanicWindowPercentage},
		{"panic-threshold-percentage", "panic when desired panic pods / ready pods reaches this percentage (110 to 1000)", &c.PanicThresholdPercentage},
		{"max-scale-up-rate", "most pods per tick as a multiple of ready pods", &c.MaxScaleUpRate},
		{"max-scale-down-rate", "ready pods may shrink at most by this factor per tick", &c.MaxScaleDownRate},
		{"metric-aggregation-algorithm", "window averaging: linear or weightedExponential", &c.Aggregation},
		{"activation-scale", "least pods when scaling up from zero", &c.ActivationScale},
		{"scale-down-delay", "scale down only to the highest decision of this trailing window", &c.ScaleDownDelay},
		{"min-scale", "least pods (disables scale to zero when > 0)", &c.MinScale},
		{"max-scale", "most pods; 0 = unlimited", &c.MaxScale},
		{"initial-scale", "pods a new revision starts with, a floor until first reached", &c.InitialScale},
		{"allow-zero-initial-scale", "allow initial-scale 0", &c.AllowZeroInitialScale},
		{"enable-scale-to-zero", "allow the revision to scale to zero", &c.EnableScaleToZero},
		{"scale-to-zero-grace-period", "how long the activator must be in the path before the last pod goes", &c.ScaleToZeroGrace},
		{"scale-to-zero-pod-retention-period", "least time the last pod stays after the revision goes inactive", &c.PodRetention},
		{"tick-interval", "decision period", &c.TickInterval},
		{"reachable", "the revision receives route traffic", &c.Reachable},
		{"learned-retention", "keep the last pod through the revision's typical idle gap (scalebench addition)", &c.LearnedRetention},
		{"retention-percentile", "idle-gap percentile learned retention covers", &c.RetentionPercentile},
		{"retention-max", "longest learned retention", &c.RetentionMax},
	}
}

func (c *KPAConfig) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Metric != "concurrency" && c.Metric != "rps" {
		bad("metric must be concurrency or rps, got %q", c.Metric)
	}
	if c.Aggregation != "linear" && c.Aggregation != "weightedExponential" {
		bad("metric-aggregation-algorithm must be linear or weightedExponential, got %q", c.Aggregation)
	}
	if c.StableWindow < 6*time.Second || c.StableWindow > time.Hour || c.StableWindow%time.Second != 0 {
		bad("stable-window must be whole seconds between 6s and 1h, got %v", c.StableWindow)
	}
	if c.PanicWindowPercentage < 1 || c.PanicWindowPercentage > 100 {
		bad("panic-window-percentage must be 1 to 100, got %g", c.PanicWindowPercentage)
	}
	if c.PanicThresholdPercentage < 110 || c.PanicThresholdPercentage > 1000 {
		bad("panic-threshold-percentage must be 110 to 1000, got %g", c.PanicThresholdPercentage)
	}
	if c.TargetUtilizationPercentage < 1 || c.TargetUtilizationPercentage > 100 {
		bad("target-utilization-percentage must be 1 to 100, got %g", c.TargetUtilizationPercentage)
	}
	if c.MaxScaleUpRate <= 1 {
		bad("max-scale-up-rate must be above 1, got %g", c.MaxScaleUpRate)
	}
	if c.MaxScaleDownRate <= 1 {
		bad("max-scale-down-rate must be above 1, got %g", c.MaxScaleDownRate)
	}
	if c.TargetBurstCapacity < 0 && c.TargetBurstCapacity != -1 {
		bad("target-burst-capacity must be -1 or at least 0, got %g", c.TargetBurstCapacity)
	}
	if c.Target < 0 || c.ContainerConcurrency < 0 || c.ContainerConcurrencyTargetDefault <= 0 || c.RPSTargetDefault <= 0 {
		bad("targets and container-concurrency must not be negative")
	}
	if c.ActivationScale < 1 || c.ActivationScale > MaxPods {
		bad("activation-scale must be 1 to %d, got %d", MaxPods, c.ActivationScale)
	}
	if c.MinScale < 0 || c.MaxScale < 0 || (c.MaxScale > 0 && c.MinScale > c.MaxScale) {
		bad("need 0 <= min-scale <= max-scale (or max-scale 0), got %d and %d", c.MinScale, c.MaxScale)
	}
	if c.MinScale > MaxPods || c.MaxScale > MaxPods {
		bad("min-scale and max-scale must be at most %d pods, got %d and %d", MaxPods, c.MinScale, c.MaxScale)
	}
	if c.InitialScale < 0 || (c.InitialScale == 0 && !c.AllowZeroInitialScale) || c.InitialScale > MaxPods {
		bad("initial-scale must be 1 to %d (0 with allow-zero-initial-scale), got %d", MaxPods, c.InitialScale)
	}
	if c.TickInterval < 100*time.Millisecond {
		bad("tick-interval must be at least 100ms, got %v", c.TickInterval)
	}
	if c.ScaleDownDelay < 0 || c.ScaleDownDelay > time.Hour || c.ScaleToZeroGrace < 0 || c.PodRetention < 0 || c.RetentionMax < 0 {
		bad("durations must not be negative (scale-down-delay at most 1h)")
	}
	if c.RetentionPercentile <= 0 || c.RetentionPercentile > 100 {
		bad("retention-percentile must be in (0, 100], got %g", c.RetentionPercentile)
	}
	return errors.Join(errs...)
}

func init() {
	register("kpa", PathActivator, "scalebench's KPA: Knative's panic/stable windows plus learned pod retention for bursty revisions",
		func() ([]param, func() (Policy, error)) {
			c := DefaultKPAConfig()
			return c.params(), func() (Policy, error) { return NewKPA("kpa", c) }
		})
	register("knative", PathActivator, "the Knative Pod Autoscaler at Knative Serving's shipped defaults",
		func() ([]param, func() (Policy, error)) {
			c := DefaultKnativeConfig()
			return c.params(), func() (Policy, error) { return NewKPA("knative", c) }
		})
}

// activation is Knative's PodAutoscaler "Active" condition.
type activation uint8

const (
	activating activation = iota // Unknown: pods requested, not ready yet
	active                       // True: serving
	inactive                     // False: idle, activator in the path
)

const scaleUnknown = -1

// retentionGaps is how many recent idle gaps learned retention remembers.
const retentionGaps = 16

// KPA is the Knative Pod Autoscaler for one revision: the decision of
// pkg/autoscaler/scaling (windows, panic, rate limits, delay, burst
// capacity) and the reconciler's part (min/max/initial scale, scale to
// zero), read top to bottom in Tick.
type KPA struct {
	name string
	cfg  KPAConfig

	target     float64 // per-pod target value
	totalValue float64 // per-pod capacity the burst capacity is measured in
	threshold  float64 // panic threshold as a ratio
	stableNS   int64
	tickNS     int64

	stable, panic bucketWindow
	delay         *maxWindow

	// Scale() state.
	started      bool
	panicking    bool
	panicTime    int64
	maxPanicPods int
	lastRec      int // last valid recommendation; scaleUnknown before one
	pokedSec     int64

	// Reconciler state.
	state          activation
	stateSince     int64
	inPath         bool
	inPathSince    int64
	initialReached bool
	desired        int

	// Learned retention: idle gaps in seconds, newest at gapNext-1.
	busy     bool
	idleFrom int64
	gaps     [retentionGaps]int32
	gapCount int
	gapNext  int
}

// NewKPA makes a KPA with the given config; name is what Name reports.
func NewKPA(name string, c KPAConfig) (*KPA, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	k := &KPA{name: name, cfg: c, lastRec: scaleUnknown, pokedSec: noWrite, idleFrom: noWrite, inPath: true}
	// The per-pod value the burst capacity is counted in, and the target:
	// Knative's ResolveMetricTarget.
	if c.Metric == "rps" {
		k.totalValue = c.RPSTargetDefault
		if c.Target > 0 {
			k.totalValue = c.Target
		}
	} else {
		k.totalValue = c.ContainerConcurrencyTargetDefault
		if c.ContainerConcurrency > 0 {
			k.totalValue = float64(c.ContainerConcurrency)
		}
		if c.Target > 0 {
			k.totalValue = c.Target
			if c.ContainerConcurrency > 0 {
				k.totalValue = math.Min(c.Target, float64(c.ContainerConcurrency))
			}
		}
	}
	k.target = math.Max(0.01, k.totalValue*c.TargetUtilizationPercentage/100)
	k.threshold = c.PanicThresholdPercentage / 100
	k.stableNS = int64(c.StableWindow)
	k.tickNS = int64(c.TickInterval)
	stableBuckets := int(c.StableWindow / time.Second)
	panicBuckets := max(1, int(math.Round(float64(stableBuckets)*c.PanicWindowPercentage/100)))
	weighted := c.Aggregation == "weightedExponential"
	k.stable = newBucketWindow(stableBuckets, weighted)
	k.panic = newBucketWindow(panicBuckets, weighted)
	if c.ScaleDownDelay > 0 && c.Reachable {
		w := newMaxWindow(int64(c.ScaleDownDelay), int64(2*time.Second))
		k.delay = &w
	}
	// The revision is created with its initial scale; until pods are ready
	// the autoscaler leaves that count alone.
	k.desired = c.InitialScale
	k.initialReached = c.InitialScale == 0
	return k, nil
}

// Name implements Policy.
func (k *KPA) Name() string { return k.name }

// Interval implements Policy.
func (k *KPA) Interval() time.Duration { return k.cfg.TickInterval }

// Config returns the policy's configuration.
func (k *KPA) Config() KPAConfig { return k.cfg }

// Target is the per-pod target value the KPA aims for.
func (k *KPA) Target() float64 { return k.target }

func (k *KPA) value(s Stat) float64 {
	if k.cfg.Metric == "rps" {
		return s.RPS
	}
	return s.Concurrency
}

func unixSec(ns int64) int64 {
	s := ns / 1e9
	if ns < 0 && ns%1e9 != 0 {
		s--
	}
	return s
}

// Record implements Policy. Like Knative's collector it pokes the
// autoscaler when a non-zero stat arrives while the last decision was zero.
func (k *KPA) Record(now time.Time, s Stat) bool {
	v := k.value(s)
	ns := now.UnixNano()
	sec := unixSec(ns)
	k.stable.record(sec, v)
	k.panic.record(sec, v)
	if k.cfg.LearnedRetention {
		k.observeIdle(sec, s.Concurrency > 0 || s.RPS > 0)
	}
	return v > 0 && k.lastRec <= 0
}

// Poke implements Policy: the activator's immediate stat on the first
// request for a revision at zero, recorded once per second.
func (k *KPA) Poke(now time.Time, demand float64) bool {
	if demand <= 0 || k.lastRec > 0 {
		return false
	}
	sec := unixSec(now.UnixNano())
	if sec == k.pokedSec {
		return false
	}
	k.pokedSec = sec
	k.stable.record(sec, demand)
	k.panic.record(sec, demand)
	return true
}

// Tick implements Policy.
func (k *KPA) Tick(now time.Time, pods Pods) Decision {
	ns := now.UnixNano()
	sec := unixSec(ns)
	ready := pods.Ready

	// A fresh autoscaler that finds several pods ready starts in panic,
	// holding them, so a restart never drops capacity.
	if !k.started {
		k.started = true
		if ready > 1 {
			k.panicking, k.panicTime, k.maxPanicPods = true, ns, ready
		}
	}
	if k.initialReached || ready >= k.cfg.InitialScale {
		k.initialReached = true
	}
	if k.stable.empty(sec) {
		return Decision{Valid: false, Desired: k.desired, Recommended: k.lastRec, Panic: k.panicking, ActivatorInPath: k.inPath}
	}

	// --- The decision (Knative's Scale) ---
	stable := k.stable.average(sec)
	panicValue := k.panic.average(sec)
	readyF := float64(max(1, ready))
	maxUp := math.Ceil(k.cfg.MaxScaleUpRate * readyF)
	maxDown := 0.0
	if k.cfg.Reachable {
		maxDown = math.Floor(readyF / k.cfg.MaxScaleDownRate)
	}
	dspc := math.Ceil(stable / k.target)
	dppc := math.Ceil(panicValue / k.target)
	desiredStable := int(clamp(dspc, maxDown, maxUp))
	desiredPanic := int(clamp(dppc, maxDown, maxUp))
	if a := k.cfg.ActivationScale; a > 1 {
		if dspc > 0 && a > desiredStable {
			desiredStable = a
		}
		if dppc > 0 && a > desiredPanic {
			desiredPanic = a
		}
	}
	// Panic on the unclamped panic demand; leave only after a whole stable
	// window below the threshold, forgetting the panic maximum.
	over := dppc/readyF >= k.threshold
	switch {
	case over:
		k.panicking, k.panicTime = true, ns
	case k.panicking && k.panicTime+k.stableNS < ns:
		k.panicking, k.maxPanicPods = false, 0
	}
	rec := desiredStable
	if k.panicking {
		// Provision for the larger window and never scale down in panic.
		rec = max(rec, desiredPanic, k.maxPanicPods)
		k.maxPanicPods = rec
	}
	if k.delay != nil {
		rec = k.delay.record(sec/2, rec) // Knative's 2 s delay buckets
	}
	ebc := -1.0
	switch {
	case k.cfg.TargetBurstCapacity == 0:
		ebc = 0
	case k.cfg.TargetBurstCapacity > 0:
		ebc = math.Floor(float64(ready)*k.totalValue - k.cfg.TargetBurstCapacity - panicValue)
	}
	k.lastRec = rec

	// --- The reconciler: bounds, then scale to zero, then activation ---
	// Bounds come first, as in Knative's scaler: min-scale (and an initial
	// scale not reached yet) turn a zero into a floor, so such a revision
	// never goes inactive.
	lo := 0
	if k.cfg.Reachable {
		lo = k.cfg.MinScale
	}
	if k.cfg.InitialScale > 1 && !k.initialReached {
		lo = max(lo, k.cfg.InitialScale)
	}
	want := max(rec, lo)
	if k.cfg.MaxScale > 0 && want > k.cfg.MaxScale {
		want = k.cfg.MaxScale
	}
	want, apply := k.handleScaleToZero(ns, want)
	if apply {
		k.desired = want
	}
	k.updateActivation(ns, ready, want)
	inPath := want == 0 || ebc < 0 || (want == scaleUnknown && k.state == inactive)
	if inPath && !k.inPath {
		k.inPathSince = ns
	}
	k.inPath = inPath

	return Decision{
		Valid:               true,
		Recommended:         rec,
		Desired:             k.desired,
		Panic:               k.panicking,
		Stable:              stable,
		PanicValue:          panicValue,
		ExcessBurstCapacity: ebc,
		ActivatorInPath:     inPath || k.desired == 0,
	}
}

// clamp bounds v to [lo, hi] (lo first, as Knative's min(max(v, lo), hi)
// does when lo > hi). The values are never NaN, so plain comparisons do
// what math.Min/Max would, at a fraction of the cost on the hot path.
func clamp(v, lo, hi float64) float64 {
	if v < lo {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return v
}

// handleScaleToZero is Knative's kpa scaler: a zero recommendation only
// takes the revision to zero after it has been active for a stable window,
// then inactive (activator in the path) for the grace and retention
// periods; meanwhile it holds one pod. It returns the scale and whether to
// apply it.
func (k *KPA) handleScaleToZero(ns int64, rec int) (int, bool) {
	if rec != 0 {
		return rec, true
	}
	if !k.cfg.EnableScaleToZero {
		return 1, true
	}
	switch k.state {
	case activating:
		return scaleUnknown, false
	case active:
		if ns-k.stateSince >= k.stableNS {
			return 0, false // mark inactive; the pods stay until the next tick
		}
		return 1, true
	default:
		retention := k.retention()
		inactiveFor := ns - k.stateSince
		if inactiveFor >= max(int64(k.cfg.ScaleToZeroGrace), retention) {
			return 0, true
		}
		if inactiveFor >= retention && k.inPath && ns-k.inPathSince >= int64(k.cfg.ScaleToZeroGrace) {
			return 0, true
		}
		return scaleUnknown, false
	}
}

// updateActivation is Knative's computeActiveCondition.
func (k *KPA) updateActivation(ns int64, ready, want int) {
	minReady := max(1, k.cfg.MinScale)
	if !k.initialReached {
		minReady = max(k.cfg.InitialScale, k.cfg.MinScale)
	}
	next := k.state
	switch {
	case want == 0 || minReady == 0:
		next = inactive
	case ready < minReady:
		if want > 0 || k.state != inactive {
			next = activating
		}
	default:
		if want > 0 || k.state != inactive {
			next = active
		}
	}
	if next != k.state {
		k.state, k.stateSince = next, ns
	}
}

// observeIdle learns the revision's idle gaps from per-second stats.
func (k *KPA) observeIdle(sec int64, busy bool) {
	switch {
	case busy && !k.busy && k.idleFrom != noWrite:
		gap := sec - k.idleFrom
		if gap > 0 {
			k.gaps[k.gapNext] = int32(min(gap, math.MaxInt32))
			k.gapNext = (k.gapNext + 1) % retentionGaps
			k.gapCount = min(k.gapCount+1, retentionGaps)
		}
	case !busy && k.busy:
		k.idleFrom = sec
	}
	k.busy = busy
}

// retention is the pod retention in force: the configured period or, with
// learned retention, enough to bridge the revision's typical idle gap. The
// gap is counted from the last request, and the revision only goes inactive
// a stable window after it, so that much is already covered.
func (k *KPA) retention() int64 {
	r := int64(k.cfg.PodRetention)
	if !k.cfg.LearnedRetention || k.gapCount < 3 {
		return r
	}
	var sorted [retentionGaps]int32
	n := copy(sorted[:], k.gaps[:k.gapCount])
	for i := 1; i < n; i++ { // insertion sort: at most 16, no allocation
		for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	idx := int(math.Ceil(k.cfg.RetentionPercentile/100*float64(n))) - 1
	gap := int64(sorted[max(0, idx)]) * int64(time.Second)
	if gap > int64(k.cfg.RetentionMax) {
		// Gaps longer than the cap are not worth a warm pod: go to zero as
		// Knative would.
		return r
	}
	// A little slack so the pod is still there when the burst arrives.
	return max(r, gap-k.stableNS+int64(k.cfg.TickInterval)*2)
}
