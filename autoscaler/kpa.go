package autoscaler

import (
	"errors"
	"fmt"
	"math"
	"slices"
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

	// scalebench's extensions, all off in the knative preset. Each one has
	// no Knative annotation; the defaults of the kpa preset were chosen by
	// measuring the library suite (docs/results.md).

	// IdleHistogram replaces the fixed scale-to-zero timing with the hybrid
	// histogram policy of "Serverless in the Wild" (Shahrad et al., ATC
	// 2020): the revision keeps a histogram of its last idle times (from
	// the end of its last busy second to the next request); when that
	// histogram is representative, the last pod is released as soon as
	// the revision is idle, brought back (pre-warmed) shortly before the
	// PreWarmPercentile of the idle times, and kept until their
	// KeepAlivePercentile. A narrow histogram, such as a timer's, therefore
	// costs a pod only around the expected arrival. Until the histogram is
	// representative (fewer than IdleMinSamples idle times, a coefficient
	// of variation above IdleMaxCV, or a keep-alive beyond KeepAliveMax)
	// Knative's fixed behaviour applies: hold for a stable window, then
	// the grace period.
	IdleHistogram     bool
	PreWarmPercentile float64
	// KeepAlivePercentile is the idle-time percentile the last pod is kept
	// until.
	KeepAlivePercentile float64
	// IdleMargin widens both windows by this percentage (pre-warm earlier,
	// keep-alive longer), as the paper's 10% margin does.
	IdleMargin     float64
	IdleMinSamples int
	IdleMaxCV      float64
	KeepAliveMax   time.Duration

	// BacklogAwarePanic sizes panic mode for the offered load (requests
	// per second times the learned service time, by Little's law) instead
	// of the panic window's concurrency once the pods already running or
	// starting can carry that load and the queue has begun to shrink. The
	// requests that queued while pods were starting are then served by
	// those pods rather than counted as demand for more: a flash crowd
	// gets the pods its load needs at the target utilisation, not the ones
	// its backlog suggested, and the panic maximum set while the backlog
	// counted is forgotten. For the same reason the stable window records
	// a second at most at the panic threshold of what the ready pods can
	// run. Concurrency metric only.
	BacklogAwarePanic bool

	// PanicExitRamp replaces the drop when panic ends (Knative's cliff
	// down to the stable decision, halved per tick) with a floor that
	// falls linearly from the panic maximum to nothing over this long; 0
	// keeps the cliff.
	PanicExitRamp time.Duration
	// PanicHold is how long panic lasts after the last tick over the
	// threshold; 0 = a stable window, as in Knative.
	PanicHold time.Duration

	// PeakPercentile, for a revision with a containerConcurrency limit,
	// keeps the stable decision at least at this percentile of the stable
	// window's per-second concurrency, at the full limit per pod: a pod
	// short of the seconds' peaks means a request queued behind the limit,
	// and for single-concurrency revisions with bursty arrivals Knative's
	// average-based decision then oscillates (panic up, a stable window's
	// hold, drop) and starts pods for bursts the previous pods could have
	// served. Each second counts at most at the panic threshold of what
	// the pods ready at the last tick can run: beyond that it is a backlog
	// for panic mode, not a burst to hold capacity for. 0 = off (Knative's
	// average only). Concurrency metric only.
	PeakPercentile float64

	// StartupAwarePanic sizes panic mode for the concurrency expected when
	// the pods it orders become ready: the panic window's value plus its
	// rising trend (a least-squares slope over the window) times the
	// measured pod start-up, rather than for now.
	StartupAwarePanic bool

	// StartupBacklogDrain, while a revision's new pods are starting and
	// requests queue beyond the ready pods' slots, sizes panic mode for
	// the offered load (arrivals times the learned service time) plus the
	// queue drained over one measured start-up, instead of for every
	// queued request as concurrent demand. Knative keeps ordering pods
	// for a queue that grows only because the pods it ordered are not
	// ready yet; with slow start-ups that is dozens of pods for a load
	// three would carry. Needs a learned service time (backlog-aware
	// panic); concurrency metric only.
	StartupBacklogDrain bool

	// PredictPeriod turns on prediction of periodic load: the revision
	// keeps the mean concurrency of each PredictSlot of the last period
	// and, once it has a whole period of history, scales ahead to what the
	// same phase of the last period needed one start-up and one tick from
	// now. 0 = off.
	PredictPeriod time.Duration
	PredictSlot   time.Duration
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
		PreWarmPercentile:                 5,
		KeepAlivePercentile:               99,
		IdleMargin:                        10,
		IdleMinSamples:                    3,
		IdleMaxCV:                         2,
		KeepAliveMax:                      10 * time.Minute,
		PredictSlot:                       10 * time.Second,
	}
}

// DefaultKPAConfig is the project's own autoscaler: Knative's algorithm
// with the extensions that won on the library suite switched on.
func DefaultKPAConfig() KPAConfig {
	c := DefaultKnativeConfig()
	c.IdleHistogram = true
	c.BacklogAwarePanic = true
	c.PanicHold = 30 * time.Second
	// Half the ramp plus the hold is Knative's stable window: the ramp
	// spreads Knative's hold out rather than lengthening it.
	c.PanicExitRamp = 60 * time.Second
	c.PeakPercentile = 95
	// Two idle times are enough to pre-warm for the third: the release is
	// never sooner than Knative's, so a wrong guess costs what Knative's
	// timing would have.
	c.IdleMinSamples = 2
	c.StartupBacklogDrain = true
	return c
}

// KPAExtensionsOff are the settings that turn every scalebench extension
// of the kpa preset off, leaving Knative's algorithm: what a plan pins when
// it must print settings a Knative cluster can reproduce.
func KPAExtensionsOff() map[string]string {
	return map[string]string{"idle-histogram": "false", "backlog-aware-panic": "false", "panic-hold": "0s", "panic-exit-ramp": "0s",
		"peak-percentile": "0", "startup-aware-panic": "false", "startup-backlog-drain": "false", "predict-period": "0s"}
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
		{"idle-histogram", "scalebench: learned keep-alive and pre-warm from the revision's idle-time histogram (hybrid histogram policy)", &c.IdleHistogram},
		{"pre-warm-percentile", "scalebench: idle-time percentile the last pod is brought back before", &c.PreWarmPercentile},
		{"keep-alive-percentile", "scalebench: idle-time percentile the last pod is kept until", &c.KeepAlivePercentile},
		{"idle-margin", "scalebench: percent by which the pre-warm comes earlier and the keep-alive lasts longer", &c.IdleMargin},
		{"idle-min-samples", "scalebench: idle times needed before the histogram is trusted", &c.IdleMinSamples},
		{"idle-max-cv", "scalebench: idle times more variable than this coefficient of variation fall back to the fixed keep-alive", &c.IdleMaxCV},
		{"keep-alive-max", "scalebench: longest learned keep-alive; longer ones fall back to the fixed keep-alive", &c.KeepAliveMax},
		{"backlog-aware-panic", "scalebench: size panic mode for the offered load, not for requests queued while pods started", &c.BacklogAwarePanic},
		{"panic-hold", "scalebench: panic ends this long after the last tick over the threshold; 0 = a stable window, as in Knative", &c.PanicHold},
		{"panic-exit-ramp", "scalebench: after panic, lower the panic maximum to nothing over this long instead of dropping at once; 0 = Knative's drop", &c.PanicExitRamp},
		{"peak-percentile", "scalebench: with a container-concurrency limit, keep at least this percentile of the stable window's per-second concurrency at the full limit per pod; 0 = off", &c.PeakPercentile},
		{"startup-aware-panic", "scalebench: in panic, size for the concurrency expected when new pods are ready (window value + rising trend x measured start-up)", &c.StartupAwarePanic},
		{"startup-backlog-drain", "scalebench: while pods start and requests queue, size panic for the offered load plus the queue drained over one measured start-up", &c.StartupBacklogDrain},
		{"predict-period", "scalebench: scale ahead of load seen one period ago (diurnal, timers); 0 = off", &c.PredictPeriod},
		{"predict-slot", "scalebench: resolution of the periodic load history", &c.PredictSlot},
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
	if c.ScaleDownDelay < 0 || c.ScaleDownDelay > time.Hour || c.ScaleToZeroGrace < 0 || c.PodRetention < 0 || c.KeepAliveMax < 0 || c.PanicExitRamp < 0 || c.PanicHold < 0 {
		bad("durations must not be negative (scale-down-delay at most 1h)")
	}
	if c.PreWarmPercentile < 0 || c.KeepAlivePercentile <= c.PreWarmPercentile || c.KeepAlivePercentile > 100 {
		bad("need 0 <= pre-warm-percentile < keep-alive-percentile <= 100, got %g and %g", c.PreWarmPercentile, c.KeepAlivePercentile)
	}
	if c.IdleMargin < 0 || c.IdleMargin >= 100 {
		bad("idle-margin must be 0 to 99 percent, got %g", c.IdleMargin)
	}
	if c.IdleMinSamples < 2 || c.IdleMinSamples > idleHistogramSize {
		bad("idle-min-samples must be 2 to %d, got %d", idleHistogramSize, c.IdleMinSamples)
	}
	if c.PeakPercentile < 0 || c.PeakPercentile > 100 {
		bad("peak-percentile must be 0 to 100, got %g", c.PeakPercentile)
	}
	if c.PredictPeriod < 0 || c.PredictPeriod > 7*24*time.Hour || c.PredictSlot < time.Second || c.PredictSlot%time.Second != 0 ||
		(c.PredictPeriod > 0 && (c.PredictPeriod%c.PredictSlot != 0 || c.PredictPeriod < 2*c.PredictSlot || c.PredictPeriod/c.PredictSlot > maxPredictSlots)) {
		bad("predict-period must be 0 or a multiple of predict-slot (whole seconds) of 2 to %d slots, at most 168h, got %v and %v", maxPredictSlots, c.PredictPeriod, c.PredictSlot)
	}
	if c.IdleMaxCV <= 0 {
		bad("idle-max-cv must be above 0, got %g", c.IdleMaxCV)
	}
	return errors.Join(errs...)
}

func init() {
	register("kpa", PathActivator, "scalebench's KPA: Knative's algorithm plus learned keep-alive and pre-warm, a peak floor for limited revisions, backlog-aware panic (start-up included) and a smooth panic exit",
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

// idleHistogramSize is how many recent idle times the idle histogram
// holds: enough for a 99th percentile to mean something, few enough that
// the revision adapts within an hour of changed behaviour.
const idleHistogramSize = 32

// maxPredictSlots bounds the periodic load history of one revision (a day
// at 1 s, a week at 10 s): 346 KB of float32s at most.
const maxPredictSlots = 86400

// KPA is the Knative Pod Autoscaler for one revision: the decision of
// pkg/autoscaler/scaling (windows, panic, rate limits, delay, burst
// capacity) and the reconciler's part (min/max/initial scale, scale to
// zero), read top to bottom in Tick. The kpa preset's extensions sit in
// the same reading order, each behind its setting: the peak floor under
// the stable decision, start-up-aware and backlog-aware panic sizing and
// the panic hold and exit ramp in the decision, the idle histogram and
// the periodic prediction just before Knative's scale-to-zero, which the
// histogram replaces while it is representative.
type KPA struct {
	name string
	cfg  KPAConfig

	target      float64 // per-pod target value
	totalValue  float64 // per-pod capacity the burst capacity is measured in
	threshold   float64 // panic threshold as a ratio
	stableNS    int64
	panicHoldNS int64
	tickNS      int64

	stable, panic bucketWindow
	delay         *maxWindow

	// Scale() state.
	started      bool
	panicking    bool
	panicTime    int64
	maxPanicPods int
	exitPods     int   // panic maximum when panic last ended (panic-exit-ramp)
	exitAt       int64 // when it ended
	lastRec      int   // last valid recommendation; scaleUnknown before one
	pokedSec     int64

	// Reconciler state.
	state          activation
	stateSince     int64
	inPath         bool
	inPathSince    int64
	initialReached bool
	desired        int

	// Idle histogram: idle times in seconds, newest at gapNext-1, and the
	// windows learned from them (seconds of idleness; warmUntil 0 = not
	// representative).
	busy                bool
	idleFrom            int64
	gaps                [idleHistogramSize]int32
	gapCount            int
	gapNext             int
	warmFrom, warmUntil float64
	startupNS           int64 // measured pod start-up, as ticks see it
	askAt               int64 // when the current scale-up was asked for
	askPods             int

	// Backlog-aware panic: the last two seconds' concurrency and arrivals,
	// the stable window of arrivals, and the learned service time.
	lastConc, lastRPS, prevRPS float64
	stableRPS                  bucketWindow
	serviceTime                float64

	// Peak floor: the stable window's seconds again, each capped at the
	// panic threshold times what the pods ready at the last tick can run
	// (a second beyond that is a backlog panic mode answers, not a burst
	// to hold capacity for), the pods ready then, and scratch space for
	// sorting (low percentiles only), allocated when first needed.
	peakWin     *bucketWindow
	lastReady   int
	peakScratch []float64

	// Periodic prediction, nil when off (kept behind a pointer: the
	// per-revision state a fleet ticks stays small).
	pred *periodicHistory
}

// NewKPA makes a KPA with the given config; name is what Name reports.
func NewKPA(name string, c KPAConfig) (*KPA, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	k := &KPA{name: name, cfg: c, lastRec: scaleUnknown, pokedSec: noWrite, idleFrom: noWrite, inPath: true, askAt: noWrite}
	// Until a scale-up has been watched, assume pods are ready within a tick.
	k.startupNS = int64(c.TickInterval)
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
	k.panicHoldNS = k.stableNS
	if c.PanicHold > 0 {
		k.panicHoldNS = int64(c.PanicHold)
	}
	k.tickNS = int64(c.TickInterval)
	stableBuckets := int(c.StableWindow / time.Second)
	panicBuckets := max(1, int(math.Round(float64(stableBuckets)*c.PanicWindowPercentage/100)))
	weighted := c.Aggregation == "weightedExponential"
	k.stable = newBucketWindow(stableBuckets, weighted)
	k.panic = newBucketWindow(panicBuckets, weighted)
	if c.BacklogAwarePanic {
		k.stableRPS = newBucketWindow(stableBuckets, false)
	}
	if c.PeakPercentile > 0 && c.ContainerConcurrency > 0 && c.Metric == "concurrency" {
		w := newBucketWindow(stableBuckets, false)
		k.peakWin = &w
	}
	if c.PredictPeriod > 0 {
		k.pred = &periodicHistory{
			slot:  int64(c.PredictSlot / time.Second),
			slots: make([]float32, int(c.PredictPeriod/c.PredictSlot)),
			cur:   noWrite, first: noWrite,
		}
	}
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
	if k.cfg.BacklogAwarePanic && k.cfg.Metric == "concurrency" {
		// A second beyond the panic threshold of what the ready pods can
		// run is a backlog, which panic mode sizes for; counted in full,
		// the requests that queued while pods started would hold the
		// stable decision up for a whole stable window after they drain.
		k.stable.record(sec, min(v, k.threshold*float64(max(1, k.lastReady))*k.totalValue))
	} else {
		k.stable.record(sec, v)
	}
	k.panic.record(sec, v)
	if k.cfg.IdleHistogram {
		k.observeIdle(sec, s.Concurrency > 0 || s.RPS > 0)
	}
	if k.cfg.BacklogAwarePanic {
		k.stableRPS.record(sec, s.RPS)
		k.lastConc, k.prevRPS, k.lastRPS = s.Concurrency, k.lastRPS, s.RPS
	}
	if k.peakWin != nil {
		k.peakWin.record(sec, min(v, k.threshold*float64(max(1, k.lastReady))*k.totalValue))
	}
	if k.pred != nil {
		k.pred.record(sec, v)
	}
	return v > 0 && k.atZero()
}

// atZero is Knative's "the last decision was zero" that makes a request
// poke the autoscaler; the idle histogram may also have released the last
// pod while the stable window still recommends one.
func (k *KPA) atZero() bool {
	return k.lastRec <= 0 || k.cfg.IdleHistogram && k.desired == 0
}

// Poke implements Policy: the activator's immediate stat on the first
// request for a revision at zero, recorded once per second.
func (k *KPA) Poke(now time.Time, demand float64) bool {
	if demand <= 0 || !k.atZero() {
		return false
	}
	sec := unixSec(now.UnixNano())
	if k.cfg.IdleHistogram {
		k.observeIdle(sec, true) // the idle time ends with this request
	}
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
	k.lastReady = ready // the capacity the next seconds' records are capped at
	if k.cfg.IdleHistogram || k.cfg.StartupAwarePanic || k.cfg.StartupBacklogDrain || k.pred != nil {
		k.watchStartup(ns, ready)
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
	if k.peakWin != nil && !k.peakWin.empty(sec) {
		// The seconds' peaks at the hard limit per pod, not the average at
		// the target: a floor under the stable decision.
		dspc = max(dspc, math.Ceil(round6(k.stablePercentile(sec, dspc*k.totalValue)/k.totalValue)))
	}
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
	// Panic on the unclamped panic demand; leave only after the panic hold
	// (Knative: a whole stable window) below the threshold, forgetting the
	// panic maximum.
	over := dppc/readyF >= k.threshold
	switch {
	case over:
		k.panicking, k.panicTime = true, ns
	case k.panicking && k.panicTime+k.panicHoldNS < ns:
		k.panicking = false
		k.exitPods, k.exitAt = k.maxPanicPods, ns
		k.maxPanicPods = 0
	}
	if k.panicking && k.cfg.StartupAwarePanic {
		// Size for what the window's trend reaches when the pods ordered
		// now are ready. The trend is of demand: arrivals times the
		// learned service time when known (a growing queue raises
		// concurrency without any rise in load), otherwise the panic
		// window's concurrency.
		slope := k.panic.slope(sec, len(k.panic.buckets))
		if k.cfg.BacklogAwarePanic && k.serviceTime > 0 {
			slope = k.stableRPS.slope(sec, len(k.panic.buckets)) * k.serviceTime
		}
		if slope > 0 {
			expect := panicValue + slope*float64(k.startupNS)/1e9
			desiredPanic = max(desiredPanic, int(clamp(math.Ceil(round6(expect/k.target)), maxDown, maxUp)))
		}
	}
	if k.panicking && k.cfg.StartupBacklogDrain && k.cfg.BacklogAwarePanic && k.serviceTime > 0 && pods.NotReady > 0 {
		if queued := k.lastConc - float64(ready)*k.totalValue; queued > 0 {
			// The start-up is at least as long as the pods asked for
			// have been starting (the first burst has no measured one).
			startup := k.startupNS
			if k.askAt != noWrite {
				startup = max(startup, ns-k.askAt)
			}
			drain := float64(max(startup, k.tickNS)) / 1e9
			need := max(k.lastRPS, k.prevRPS)*k.serviceTime + queued*k.serviceTime/drain
			// Keep the pods already starting (they are what the queue
			// waits for); order more only if they cannot carry it.
			sized := max(int(clamp(math.Ceil(round6(need/k.target)), maxDown, maxUp)), ready+pods.NotReady)
			if sized < desiredPanic {
				desiredPanic = sized
			}
		}
	}
	if k.cfg.BacklogAwarePanic {
		if k.panicking {
			// Size for the offered load once the pods can carry it; entry
			// and exit still follow the panic window, as in Knative. The
			// panic maximum set while the backlog was counted as demand is
			// forgotten: those pods would serve a queue that is gone.
			if v := k.offeredPanic(sec, panicValue, ready, ready+pods.NotReady); v < panicValue {
				desiredPanic = int(clamp(math.Ceil(v/k.target), maxDown, maxUp))
				k.maxPanicPods = min(k.maxPanicPods, desiredPanic)
			}
		} else {
			k.learnServiceTime(sec, stable)
		}
	}
	rec := desiredStable
	if k.panicking {
		// Provision for the larger window and never scale down in panic.
		rec = max(rec, desiredPanic, k.maxPanicPods)
		k.maxPanicPods = rec
	} else if ramp := int64(k.cfg.PanicExitRamp); ramp > 0 && k.exitPods > 0 {
		if left := ramp - (ns - k.exitAt); left > 0 {
			rec = max(rec, int(math.Ceil(float64(k.exitPods)*float64(left)/float64(ramp))))
		} else {
			k.exitPods = 0
		}
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
	want, apply := k.learnedIdle(sec, want, lo)
	if p := k.predicted(sec); p > 0 && (!apply || want < p) {
		// Scale ahead of what the same phase of the last period needed;
		// a prediction outranks the idle histogram's release.
		if k.cfg.MaxScale > 0 {
			p = min(p, k.cfg.MaxScale)
		}
		want, apply = max(want, p), true
	}
	if !apply {
		want, apply = k.handleScaleToZero(ns, want)
	}
	if apply {
		k.desired = want
	}
	if (k.cfg.IdleHistogram || k.cfg.StartupAwarePanic || k.cfg.StartupBacklogDrain || k.pred != nil) && k.desired > ready && k.askAt == noWrite {
		k.askAt, k.askPods = ns, k.desired
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
		retention := int64(k.cfg.PodRetention)
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

// observeIdle learns the revision's idle times from per-second stats: an
// idle time runs from the first second without requests to the next
// second (or poke) with one.
func (k *KPA) observeIdle(sec int64, busy bool) {
	switch {
	case busy && !k.busy && k.idleFrom != noWrite:
		if gap := sec - k.idleFrom; gap > 0 {
			k.gaps[k.gapNext] = int32(min(gap, math.MaxInt32))
			k.gapNext = (k.gapNext + 1) % idleHistogramSize
			k.gapCount = min(k.gapCount+1, idleHistogramSize)
			k.learnIdleWindows()
		}
	case !busy && k.busy:
		k.idleFrom = sec
	}
	k.busy = busy
}

// learnIdleWindows derives the pre-warm and keep-alive windows from the
// idle histogram, or marks it not representative (warmUntil 0).
func (k *KPA) learnIdleWindows() {
	k.warmFrom, k.warmUntil = 0, 0
	n := k.gapCount
	if n < k.cfg.IdleMinSamples {
		return
	}
	var sorted [idleHistogramSize]int32
	copy(sorted[:], k.gaps[:n])
	sum, sq := 0.0, 0.0
	for i := 0; i < n; i++ {
		g := float64(sorted[i])
		sum += g
		sq += g * g
		for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- { // insertion sort: at most 32, no allocation
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	mean := sum / float64(n)
	if sd := math.Sqrt(max(0, sq/float64(n)-mean*mean)); sd > k.cfg.IdleMaxCV*mean {
		return // too irregular to predict: the fixed keep-alive is safer
	}
	pct := func(p float64) float64 {
		return float64(sorted[max(0, int(math.Ceil(p/100*float64(n)))-1)])
	}
	m := k.cfg.IdleMargin / 100
	// One second of slack: idle times are counted in whole seconds.
	from, until := pct(k.cfg.PreWarmPercentile)*(1-m), pct(k.cfg.KeepAlivePercentile)*(1+m)+1
	if until-from > k.cfg.KeepAliveMax.Seconds() {
		return // too wide a window to be worth a warm pod; the fixed keep-alive decides
	}
	k.warmFrom, k.warmUntil = from, until
}

// learnedIdle is the idle histogram's scale for an idle revision whose
// windowed recommendation is at most one pod: zero until the pre-warm
// window opens (a pod ordered one start-up and one tick ahead, so it is
// ready in time), one pod until the keep-alive window closes, zero after.
// ok is false when the fixed keep-alive decides instead.
func (k *KPA) learnedIdle(sec int64, want, lo int) (scale int, ok bool) {
	if !k.cfg.IdleHistogram || !k.cfg.EnableScaleToZero || lo > 0 || want > 1 ||
		k.busy || k.idleFrom == noWrite || k.warmUntil == 0 {
		return want, false
	}
	idle := float64(sec - k.idleFrom)
	lead := float64(k.startupNS+k.tickNS) / 1e9
	switch {
	case idle >= k.warmUntil:
		// Past the keep-alive window; never sooner than Knative's own
		// timing would release the pod (a stable window, then the grace
		// period), because a tail percentile learned from a few dozen
		// idle times underestimates the tail.
		if idle >= (k.cfg.StableWindow + max(k.cfg.ScaleToZeroGrace, k.cfg.PodRetention)).Seconds() {
			return 0, true
		}
		return want, false
	case k.warmFrom-lead > float64(k.tickNS)/1e9:
		// The next request is not expected before the pre-warm window:
		// release the pod now and order it back one lead ahead (a release
		// shorter than a tick is not worth it).
		if idle < k.warmFrom-lead {
			return 0, true
		}
	case k.warmUntil > k.cfg.KeepAliveMax.Seconds():
		return want, false // no pre-warm, and too long a keep-alive
	}
	return 1, true
}

// watchStartup measures how long a scale-up takes to become ready pods,
// as the ticks see it, so a pre-warm is ordered early enough.
func (k *KPA) watchStartup(ns int64, ready int) {
	if k.askAt == noWrite {
		return
	}
	switch {
	case ready >= k.askPods:
		k.startupNS = (k.startupNS + ns - k.askAt) / 2
		k.askAt = noWrite
	case k.desired <= ready:
		k.askAt = noWrite // the scale-up was called off
	}
}

// learnServiceTime keeps the revision's mean time in the system by
// Little's law (concurrency / arrival rate over the stable window), while
// not panicking, so queueing during a burst does not inflate it.
func (k *KPA) learnServiceTime(sec int64, stable float64) {
	if k.cfg.Metric != "concurrency" {
		return
	}
	if rps := k.stableRPS.average(sec); rps > 0 && stable > 0 {
		k.serviceTime = stable / rps
	}
}

// offeredPanic is the concurrency panic mode sizes for with the backlog
// discounted: the offered load (the last two seconds' arrival rate times
// the service time) when there was a backlog (a second of the panic window
// held more requests than the ready pods can run), it has begun to shrink
// (the latest second below that peak), and the pods running or starting
// can hold the offered load. Otherwise, or before a service time is known,
// the panic window's value, as in Knative: concurrency that rises because
// requests take longer is demand, not backlog.
func (k *KPA) offeredPanic(sec int64, panicValue float64, ready, pods int) float64 {
	if k.cfg.Metric != "concurrency" || k.serviceTime <= 0 {
		return panicValue
	}
	peak := k.panic.peak(sec)
	offered := max(k.lastRPS, k.prevRPS) * k.serviceTime
	if peak <= float64(ready)*k.totalValue || k.lastConc >= peak || float64(pods)*k.totalValue < offered {
		return panicValue
	}
	return offered
}

var _ Idler = (*KPA)(nil)

// Settled: the revision is at zero (desired 0, inactive, the activator in
// the path, no panic), its windows hold only zeros and the learned
// retention saw the idle gap start. A zero Record then only moves the
// windows' last write, and each Tick recommends 0 again.
func (k *KPA) Settled() bool {
	if !k.started || k.lastRec != 0 || k.desired != 0 || k.state != inactive || !k.inPath ||
		k.panicking || k.maxPanicPods != 0 || k.busy {
		return false
	}
	if !k.stable.zero() || !k.panic.zero() || k.stable.lastWrite != k.panic.lastWrite {
		return false
	}
	if k.peakWin != nil && (!k.peakWin.zero() || k.peakWin.lastWrite != k.stable.lastWrite) {
		return false
	}
	if k.cfg.BacklogAwarePanic && (!k.stableRPS.zero() || k.stableRPS.lastWrite != k.stable.lastWrite || k.lastRPS != 0 || k.prevRPS != 0) {
		return false
	}
	// A learned idle window still ahead means a pre-warm may come due: the
	// revision is waiting, not settled.
	if k.cfg.IdleHistogram && k.warmUntil != 0 && k.idleFrom != noWrite && float64(k.stable.lastWrite-k.idleFrom) < k.warmUntil {
		return false
	}
	// A periodic history with load in it will pre-warm within a period.
	if k.pred != nil && !k.pred.zero() {
		return false
	}
	return k.delay == nil || k.delay.n == 0 || k.delay.val[k.delay.first] == 0
}

// SkipIdle moves the windows' last write to lastRecord's second: writing
// zeros into zero buckets changes nothing else. The scale-down delay
// window needs nothing: it holds only zeros, which the next recorded
// decision replaces whatever their times.
func (k *KPA) SkipIdle(lastRecord, _ time.Time) {
	if !lastRecord.IsZero() {
		sec := unixSec(lastRecord.UnixNano())
		k.stable.lastWrite = max(k.stable.lastWrite, sec)
		if k.peakWin != nil {
			k.peakWin.lastWrite = max(k.peakWin.lastWrite, sec)
		}
		k.panic.lastWrite = max(k.panic.lastWrite, sec)
		if k.cfg.BacklogAwarePanic {
			k.stableRPS.lastWrite = max(k.stableRPS.lastWrite, sec)
		}
		if h := k.pred; h != nil && h.cur != noWrite {
			// Every slot is zero: only the slot being filled moves.
			h.cur = max(h.cur, floorDiv(sec, h.slot))
		}
	}
}

// stablePercentile is the PeakPercentile of the stable window's capped
// per-second values at sec (the seconds Knative's average covers), or any
// value at most below when the percentile is no higher than that. A high
// percentile is the r-th largest value for a small r, found in one pass
// that keeps the r largest; otherwise, unless no second exceeds below,
// the window is sorted. The ring is walked without a division per bucket:
// this runs every tick of every limited revision.
func (k *KPA) stablePercentile(sec int64, below float64) float64 {
	w := k.peakWin
	n := int64(len(w.buckets))
	lo, hi := max(sec-n+1, w.firstWrite), min(sec, w.lastWrite)
	m := int(hi - lo + 1)
	if m <= 0 {
		return 0
	}
	idx := max(0, int(math.Ceil(k.cfg.PeakPercentile/100*float64(m)))-1) // ascending
	start := w.slot(lo)
	if r := m - idx; r <= 16 {
		var top [16]float64 // descending; the r largest so far
		kept := 0
		for c, b := 0, start; c < m; c++ {
			v := w.buckets[b]
			if b++; b == len(w.buckets) {
				b = 0
			}
			if kept == r && v <= top[r-1] {
				continue
			}
			j := min(kept, r-1)
			for ; j > 0 && top[j-1] < v; j-- {
				top[j] = top[j-1]
			}
			top[j] = v
			kept = min(kept+1, r)
		}
		return top[r-1]
	}
	if k.peakScratch == nil {
		k.peakScratch = make([]float64, 0, len(w.buckets))
	}
	vals := k.peakScratch[:0]
	peak := 0.0
	for c, b := 0, start; c < m; c++ {
		vals = append(vals, w.buckets[b])
		peak = max(peak, w.buckets[b])
		if b++; b == len(w.buckets) {
			b = 0
		}
	}
	if peak <= below {
		return peak
	}
	slices.Sort(vals)
	return vals[idx]
}

// periodicHistory is a revision's load over its last period: the mean
// concurrency of each slot (a ring indexed by slot number), the slot
// being filled, its running sum, and the first slot ever recorded.
type periodicHistory struct {
	slot       int64 // seconds per slot
	slots      []float32
	cur, first int64
	sum        float64
}

// record adds one second's value: a slot that ends is stored as its mean,
// and slots that saw no record (an idle skip) as zeros.
func (h *periodicHistory) record(sec int64, v float64) {
	slot := floorDiv(sec, h.slot)
	n := int64(len(h.slots))
	switch {
	case h.cur == noWrite:
		h.cur, h.first = slot, slot
	case slot > h.cur:
		h.slots[h.cur%n] = float32(h.sum / float64(h.slot))
		for i := h.cur + 1; i < slot && i <= h.cur+n; i++ {
			h.slots[i%n] = 0
		}
		h.cur, h.sum = slot, 0
	case slot < h.cur:
		return
	}
	h.sum += v
}

// predicted is the pods the same phase of the last period needed, one
// measured start-up and one tick ahead of sec (the larger of that slot and
// the next, so a rise is met rather than chased); 0 before a whole period
// of history.
func (k *KPA) predicted(sec int64) int {
	h := k.pred
	if h == nil || h.cur == noWrite {
		return 0
	}
	n := int64(len(h.slots))
	if h.cur-h.first < n {
		return 0
	}
	lead := (k.startupNS + k.tickNS + 1e9 - 1) / 1e9
	j := floorDiv(sec+lead, h.slot) - n // the slot one period before
	v := 0.0
	for i := j; i <= j+1; i++ {
		if i < h.cur && i > h.cur-n {
			v = max(v, float64(h.slots[i%n]))
		}
	}
	return int(math.Ceil(round6(v / k.target)))
}

// floorDiv is a/b rounded down, b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// zero reports a history with nothing to predict: every stored slot and
// the slot being filled are zero.
func (h *periodicHistory) zero() bool {
	if h.sum != 0 {
		return false
	}
	for _, v := range h.slots {
		if v != 0 {
			return false
		}
	}
	return true
}
