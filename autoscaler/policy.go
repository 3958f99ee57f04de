package autoscaler

import "time"

// Stat is one metric interval (1 s) of a revision, summed over its pods and
// the activator, the way Knative's queue-proxies and activator report it.
type Stat struct {
	// Concurrency is the revision-wide number of in-flight requests,
	// averaged over the second (requests waiting in the activator included).
	Concurrency float64
	// MaxConcurrency is the highest instantaneous in-flight count seen in
	// the second. Policies that provision for peaks (keep-alive, OpenFaaS
	// capacity mode) use it; 0 means unknown and Concurrency is used.
	MaxConcurrency float64
	// RPS is the number of requests that arrived in the second.
	RPS float64
	// CPU is the revision-wide CPU usage in millicores averaged over the
	// second (the HPA's CPU mode).
	CPU float64
}

// PodMetric is one pod's view for policies that reason per pod, like the
// HPA's replica calculator.
type PodMetric struct {
	Ready     bool
	HasMetric bool
	// Value is the pod's metric: millicores in CPU mode, otherwise the
	// per-pod concurrency or RPS.
	Value float64
}

// Pods is what the platform reports about a revision's pods at a tick.
type Pods struct {
	// Ready is the number of pods that pass their readiness probe.
	Ready int
	// NotReady counts pods that exist but are not ready yet (scheduling,
	// pulling, starting, initialising).
	NotReady int
	// Metrics optionally gives per-pod metrics. When nil, a policy that
	// needs them spreads the revision-wide Stat evenly over the ready pods.
	Metrics []PodMetric
}

// Decision is the outcome of one tick.
type Decision struct {
	// Valid is false when the policy had no data to decide on; the caller
	// then leaves the revision's scale as it is.
	Valid bool
	// Recommended is the windowed decision before min/max, initial scale
	// and scale-to-zero handling.
	Recommended int
	// Desired is the pod count the policy wants set now.
	Desired int
	// Panic reports the KPA's panic mode (always false for other policies).
	Panic bool
	// Stable and PanicValue are the window averages the decision used
	// (stable and panic window for the KPA; a policy's own metric otherwise).
	Stable     float64
	PanicValue float64
	// ExcessBurstCapacity is the KPA's excess burst capacity: negative means
	// the activator must stay in the request path.
	ExcessBurstCapacity float64
	// ActivatorInPath tells the request path to route through the activator
	// (always when Desired is 0).
	ActivatorInPath bool
}

// Policy is one revision's autoscaler. Implementations are pure and not safe
// for concurrent use; the caller serialises calls and passes monotonically
// non-decreasing times.
type Policy interface {
	// Name is the policy's registry name (kpa, knative, hpa, ...).
	Name() string
	// Interval is the decision period: Tick is called every Interval.
	Interval() time.Duration
	// Record adds one second's Stat. It returns true when the policy wants
	// an immediate Tick (the KPA's poke on the first request at zero).
	Record(now time.Time, s Stat) (poke bool)
	// Poke is called by the request path when requests wait for capacity:
	// demand is in-flight plus waiting requests. It returns true when the
	// policy wants an immediate Tick (scale from zero, per-request scaling).
	Poke(now time.Time, demand float64) (tick bool)
	// Tick makes a decision.
	Tick(now time.Time, pods Pods) Decision
}

// Clock tells the time. The simulator's clock is virtual; the platforms use
// the wall clock.
type Clock interface {
	Now() time.Time
}

// Metrics is a source of per-revision, per-second stats: the local
// platform's queue-proxies or, on Kubernetes, scraped pod metrics.
type Metrics interface {
	// Stat returns the revision's stat for the second that ended at now.
	Stat(revision string, now time.Time) (Stat, error)
}

// Scaler sets and reports a revision's pods: the simulator's pod model,
// the local pod manager, or a Deployment's scale subresource.
type Scaler interface {
	Scale(revision string, desired int) error
	Pods(revision string) (Pods, error)
}

// Idler is a policy that can tell when its revision has settled at zero and
// then skip the seconds it spends idle in O(1). Most of a fleet's functions
// spend most of the day at zero; without this a simulator pays a Record
// every second and a Tick every interval for each of them.
type Idler interface {
	// Settled reports that, with no pods and no requests, more zero Stats
	// and Ticks would change nothing but the time: Record would return
	// false and each Tick would return the Decision the last one did.
	Settled() bool
	// SkipIdle brings a settled policy to the state it would have reached
	// with a Record of a zero Stat every second up to lastRecord and a Tick
	// with no pods every interval up to lastTick; a zero time means there
	// was no call of that kind.
	SkipIdle(lastRecord, lastTick time.Time)
}
