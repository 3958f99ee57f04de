package autoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The Kubernetes Horizontal Pod Autoscaler, modelled on
// pkg/controller/podautoscaler (horizontal.go, replica_calculator.go) of
// kubernetes v1.36 at its defaults: a 15 s sync, tolerance 0.1, the replica
// calculator's treatment of unready pods and pods without metrics, and the
// spec.behavior defaults (scale-up 4 pods or 100% per 15 s, scale-down
// stabilized over 300 s at 100% per 15 s). Facts, with sources, in
// docs/readme-policies.md.

func init() {
	register("hpa", PathDirect, "Kubernetes HPA: 15 s sync, tolerance 0.1, replica calculator, default behavior (scale-down stabilization 5 min); CPU or per-pod concurrency/RPS", hpaMake)
}

type hpaConfig struct {
	metric            string
	targetUtilization int
	cpuRequest        int
	target            float64
	tolerance         float64
	upTolerance       float64
	downTolerance     float64
	syncPeriod        time.Duration
	metricWindow      time.Duration
	behavior          bool
	upWindow          time.Duration
	upPods            int
	upPercent         int
	upPeriod          time.Duration
	downWindow        time.Duration
	downPods          int
	downPercent       int
	downPeriod        time.Duration
	minReplicas       int
	maxReplicas       int
	scaleToZeroAlpha  bool
}

func hpaMake() ([]param, func() (Policy, error)) {
	c := &hpaConfig{
		metric: "cpu",
		// The HPA's default target when a spec names none is 80% CPU.
		targetUtilization: 80,
		cpuRequest:        1000,
		// The HPA has no default for custom metrics; 70 is Knative's
		// effective per-pod concurrency target (100 x 70%), so a comparison
		// with the KPA aims both at the same load per pod.
		target:    70,
		tolerance: 0.1,
		// -1: the controller-wide tolerance; the per-HPA fields are beta
		// and on by default from 1.35.
		upTolerance:   -1,
		downTolerance: -1,
		syncPeriod:    15 * time.Second,
		metricWindow:  15 * time.Second,
		behavior:      true,
		upWindow:      0,
		upPods:        4,
		upPercent:     100,
		upPeriod:      15 * time.Second,
		downWindow:    5 * time.Minute,
		downPods:      0,
		downPercent:   100,
		downPeriod:    15 * time.Second,
		minReplicas:   1,
		maxReplicas:   1000,
	}
	params := []param{
		{"metric", "scaling metric: cpu (utilization of the CPU request), concurrency or rps (average value per pod)", &c.metric},
		{"target-utilization", "metric=cpu: target average CPU utilization, integer percent of the request", &c.targetUtilization},
		{"cpu-request-millicores", "metric=cpu: each pod's CPU request in millicores", &c.cpuRequest},
		{"target", "metric=concurrency or rps: target average value per pod", &c.target},
		{"tolerance", "no change while metric/target is within 1 ± tolerance (--horizontal-pod-autoscaler-tolerance)", &c.tolerance},
		{"scale-up-tolerance", "behavior.scaleUp.tolerance: the band above 1 (-1 = tolerance)", &c.upTolerance},
		{"scale-down-tolerance", "behavior.scaleDown.tolerance: the band below 1 (-1 = tolerance)", &c.downTolerance},
		{"sync-period", "controller sync period (--horizontal-pod-autoscaler-sync-period)", &c.syncPeriod},
		{"metric-window", "window the pod metrics average over (metrics-server resolution)", &c.metricWindow},
		{"behavior", "true: spec.behavior rate limits and windows; false: legacy mode (5 min max-recommendation, up to max(2x, 4) per sync)", &c.behavior},
		{"scale-up-stabilization", "behavior.scaleUp.stabilizationWindowSeconds", &c.upWindow},
		{"scale-up-pods", "behavior.scaleUp Pods policy: pods added per period (0 = no such policy)", &c.upPods},
		{"scale-up-percent", "behavior.scaleUp Percent policy: percent added per period (0 = no such policy)", &c.upPercent},
		{"scale-up-period", "behavior.scaleUp policies' periodSeconds", &c.upPeriod},
		{"scale-down-stabilization", "behavior.scaleDown.stabilizationWindowSeconds (legacy mode: --horizontal-pod-autoscaler-downscale-stabilization)", &c.downWindow},
		{"scale-down-pods", "behavior.scaleDown Pods policy: pods removed per period (0 = no such policy)", &c.downPods},
		{"scale-down-percent", "behavior.scaleDown Percent policy: percent removed per period (0 = no such policy)", &c.downPercent},
		{"scale-down-period", "behavior.scaleDown policies' periodSeconds", &c.downPeriod},
		{"min-replicas", "minReplicas; 0 needs scale-to-zero-alpha=true and metric concurrency or rps", &c.minReplicas},
		{"max-replicas", "maxReplicas", &c.maxReplicas},
		{"scale-to-zero-alpha", "the HPAScaleToZero alpha feature gate; with min-replicas=0 the metric is read as an External AverageValue metric", &c.scaleToZeroAlpha},
	}
	return params, func() (Policy, error) { return newHPA(*c) }
}

func (c hpaConfig) validate() error {
	switch c.metric {
	case "cpu", "concurrency", "rps":
	default:
		return fmt.Errorf("metric must be cpu, concurrency or rps, got %q", c.metric)
	}
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.targetUtilization > 0, "target-utilization must be positive, got %d", c.targetUtilization)
	check(c.cpuRequest > 0, "cpu-request-millicores must be positive, got %d", c.cpuRequest)
	check(c.target > 0, "target must be positive, got %g", c.target)
	check(c.tolerance >= 0 && c.tolerance < 1, "tolerance must be in [0, 1), got %g", c.tolerance)
	check(c.upTolerance == -1 || c.upTolerance >= 0, "scale-up-tolerance must be -1 or at least 0, got %g", c.upTolerance)
	check(c.downTolerance == -1 || c.downTolerance >= 0 && c.downTolerance < 1, "scale-down-tolerance must be -1 or in [0, 1), got %g", c.downTolerance)
	check(c.syncPeriod >= time.Second, "sync-period must be at least 1s, got %v", c.syncPeriod)
	check(c.metricWindow >= time.Second && c.metricWindow <= 10*time.Minute, "metric-window must be 1s to 10m, got %v", c.metricWindow)
	// The API bounds: stabilization windows up to 3600 s, periods 1–1800 s.
	check(c.upWindow >= 0 && c.upWindow <= time.Hour, "scale-up-stabilization must be 0 to 1h, got %v", c.upWindow)
	check(c.downWindow >= 0 && c.downWindow <= time.Hour, "scale-down-stabilization must be 0 to 1h, got %v", c.downWindow)
	check(c.upPeriod >= time.Second && c.upPeriod <= 30*time.Minute, "scale-up-period must be 1s to 30m, got %v", c.upPeriod)
	check(c.downPeriod >= time.Second && c.downPeriod <= 30*time.Minute, "scale-down-period must be 1s to 30m, got %v", c.downPeriod)
	check(c.upPods >= 0 && c.upPercent >= 0 && c.upPods+c.upPercent > 0, "scale-up needs a positive scale-up-pods or scale-up-percent")
	check(c.downPods >= 0 && c.downPercent >= 0 && c.downPods+c.downPercent > 0, "scale-down needs a positive scale-down-pods or scale-down-percent")
	check(c.downPercent <= 100, "scale-down-percent must be at most 100, got %d", c.downPercent)
	check(c.minReplicas >= 0, "min-replicas must not be negative, got %d", c.minReplicas)
	// Without the alpha gate the API rejects minReplicas 0, and even with it
	// the HPA needs an Object or External metric to wake from zero: CPU
	// comes from pods, and there are none.
	check(c.minReplicas > 0 || c.scaleToZeroAlpha, "min-replicas=0 needs scale-to-zero-alpha=true (the HPAScaleToZero feature gate)")
	check(c.minReplicas > 0 || c.metric != "cpu", "min-replicas=0 needs metric concurrency or rps (an External metric); CPU cannot wake a revision at zero")
	check(c.maxReplicas >= 1 && c.maxReplicas >= c.minReplicas && c.maxReplicas <= MaxPods, "max-replicas must be at least 1 and min-replicas, and at most %d, got %d", MaxPods, c.maxReplicas)
	return errors.Join(errs...)
}

// hpaSample is a timestamped integer: a recommendation or a scale event's
// replica change.
type hpaSample struct {
	t int64 // unix nanoseconds
	v int
}

// hpaRing keeps the newest samples; when full the oldest is overwritten, as
// the controller reuses a slot whose sample has left every window.
type hpaRing struct {
	buf  []hpaSample
	head int
	n    int
}

func newHPARing(window, spacing time.Duration) hpaRing {
	// Samples are at least one sync apart, so a window holds at most
	// window/spacing of them plus the one at its edge.
	return hpaRing{buf: make([]hpaSample, int(window/spacing)+2)}
}

func (r *hpaRing) push(s hpaSample) {
	if r.n < len(r.buf) {
		r.buf[(r.head+r.n)%len(r.buf)] = s
		r.n++
		return
	}
	r.buf[r.head] = s
	r.head = (r.head + 1) % len(r.buf)
}

// all returns the samples held, in no particular order: every scan of
// them (min, max, sums over a window) is order-free.
func (r *hpaRing) all() []hpaSample { return r.buf[:r.n] }

type hpa struct {
	cfg  hpaConfig
	sync int64

	// metric holds the last metric-window seconds of the revision-wide
	// metric, the way metrics-server averages usage over its resolution.
	metric     []float64
	metricHead int
	metricN    int

	recs   hpaRing // unstabilized recommendations, for the stabilization windows
	events hpaRing // scale events (signed replica changes), for the rate policies

	synced   bool
	lastSync int64
	// spec is what the HPA last set (spec.replicas), standing in for the
	// pods while none exist yet.
	spec    int
	hasSpec bool
	last    Decision
}

var _ Policy = (*hpa)(nil)

func newHPA(c hpaConfig) (*hpa, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	recWindow := max(c.upWindow, c.downWindow)
	return &hpa{
		cfg:    c,
		sync:   int64(c.syncPeriod),
		metric: make([]float64, int((c.metricWindow+time.Second-1)/time.Second)),
		recs:   newHPARing(recWindow, c.syncPeriod),
		events: newHPARing(max(c.upPeriod, c.downPeriod), c.syncPeriod),
	}, nil
}

func (h *hpa) Name() string            { return "hpa" }
func (h *hpa) Interval() time.Duration { return h.cfg.syncPeriod }

func (h *hpa) String() string {
	if h.cfg.metric == "cpu" {
		return fmt.Sprintf("hpa: %d%% of %dm CPU, %d-%d replicas", h.cfg.targetUtilization, h.cfg.cpuRequest, h.cfg.minReplicas, h.cfg.maxReplicas)
	}
	return fmt.Sprintf("hpa: %s %g per pod, %d-%d replicas", h.cfg.metric, h.cfg.target, h.cfg.minReplicas, h.cfg.maxReplicas)
}

// Record keeps the second's value of the configured metric. The HPA has no
// request path, so it never asks for an early sync.
func (h *hpa) Record(_ time.Time, s Stat) bool {
	v := s.CPU
	switch h.cfg.metric {
	case "concurrency":
		v = s.Concurrency
	case "rps":
		v = s.RPS
	}
	if h.metricN < len(h.metric) {
		h.metric[(h.metricHead+h.metricN)%len(h.metric)] = v
		h.metricN++
	} else {
		h.metric[h.metricHead] = v
		h.metricHead = (h.metricHead + 1) % len(h.metric)
	}
	return false
}

// Poke never ticks: requests reach HPA-scaled pods directly, and there is
// no activator to hold them or to wake the controller.
func (h *hpa) Poke(time.Time, float64) bool { return false }

// Tick runs one controller sync (reconcileAutoscaler). Calls closer than a
// sync period to the last sync return the last decision, since the
// controller only acts on its own period.
func (h *hpa) Tick(now time.Time, pods Pods) Decision {
	t := now.UnixNano()
	if h.synced && t-h.lastSync < h.sync {
		return h.last
	}
	h.synced, h.lastSync = true, t

	// currentReplicas is the scale subresource's replicas. The pods that
	// exist stand for it, which also keeps an open-loop replay (ready pods
	// from a recorded series) consistent with the pods the metric is spread
	// over; with no pods yet, it is what the HPA last set.
	current := pods.Ready + pods.NotReady
	if pods.Metrics != nil {
		current = len(pods.Metrics)
	}
	if current == 0 && h.hasSpec {
		current = h.spec
	}
	c := &h.cfg
	var d Decision
	switch {
	case current == 0 && c.minReplicas != 0:
		// "Scaling is disabled since the replica count of the target is
		// zero": a workload at zero that the HPA did not put there.
		h.last = Decision{}
		return h.last
	case h.metricN == 0:
		// No metrics yet: the sync fails and nothing changes.
		h.last = Decision{}
		return h.last
	case current > c.maxReplicas:
		d.Desired, d.Recommended = c.maxReplicas, c.maxReplicas
	case current < c.minReplicas:
		d.Desired, d.Recommended = c.minReplicas, c.minReplicas
	default:
		rec, perPod, ok := h.replicas(current, pods)
		if !ok {
			h.last = Decision{}
			return h.last
		}
		d.Recommended, d.Stable = rec, perPod
		if c.behavior {
			d.Desired = h.normalizeWithBehaviors(t, current, rec)
		} else {
			d.Desired = h.normalizeLegacy(t, current, rec)
		}
	}
	d.Valid = true
	d.PanicValue = h.average()
	if d.Desired != current && c.behavior {
		h.events.push(hpaSample{t: t, v: d.Desired - current})
	}
	h.spec, h.hasSpec = d.Desired, true
	d.ActivatorInPath = d.Desired == 0
	h.last = d
	return d
}

// average is the revision-wide metric over the metric window.
func (h *hpa) average() float64 {
	if h.metricN == 0 {
		return 0
	}
	sum := 0.0
	for _, v := range h.metric[:h.metricN] {
		sum += v
	}
	return sum / float64(h.metricN)
}

// within is Tolerances.isWithin: the ratio is inside the band around 1
// where the calculator keeps the current count.
func (h *hpa) within(ratio float64) bool {
	up, down := h.cfg.upTolerance, h.cfg.downTolerance
	if up < 0 {
		up = h.cfg.tolerance
	}
	if down < 0 {
		down = h.cfg.tolerance
	}
	return 1-down <= ratio && ratio <= 1+up
}

// replicas is the replica calculator. It returns the proposal and the value
// compared with the target (CPU utilization percent, or the per-pod
// average), and false when there are no usable metrics.
func (h *hpa) replicas(current int, pods Pods) (int, float64, bool) {
	c := &h.cfg
	avg := h.average()
	if c.minReplicas == 0 {
		return h.externalReplicas(current, avg)
	}
	// Pod values as the metrics APIs report them: integer millicores for
	// CPU, milli-units for custom metrics (the calculator reads MilliValue).
	scale := 1000.0
	if c.metric == "cpu" {
		scale = 1
	}
	var ready, unready, missing int
	var sum int64
	if pods.Metrics != nil {
		for _, m := range pods.Metrics {
			switch {
			case !m.Ready:
				unready++
			case !m.HasMetric:
				missing++
			default:
				ready++
				sum += int64(math.Round(m.Value * scale))
			}
		}
	} else if pods.Ready > 0 {
		// Spread the revision-wide metric evenly over the ready pods;
		// pods still starting are unready and report nothing useful. Each
		// share truncates, as the calculator's own integer average does, so
		// the spreading cannot push ceil() up by a pod.
		ready, unready = pods.Ready, pods.NotReady
		sum = int64(ready) * int64(avg*scale/float64(ready)+1e-6)
	}
	if ready == 0 {
		// "did not receive metrics for targeted pods (pods might be unready)"
		return 0, 0, false
	}

	// ratioOf is GetResourceUtilizationRatio (integer percent of the
	// requests) or GetMetricUsageRatio (integer average), over n pods.
	target := float64(c.targetUtilization)
	targetMilli := int64(math.Round(c.target * 1000))
	ratioOf := func(sum int64, n int) (ratio, value float64) {
		if c.metric == "cpu" {
			util := sum * 100 / (int64(n) * int64(c.cpuRequest))
			return float64(util) / target, float64(util)
		}
		usage := sum / int64(n)
		return float64(usage) / float64(targetMilli), float64(usage) / 1000
	}
	ratio, value := ratioOf(sum, ready)
	scaleUpWithUnready := unready > 0 && ratio > 1
	if !scaleUpWithUnready && missing == 0 {
		if h.within(ratio) {
			return current, value, true
		}
		return int(math.Ceil(ratio * float64(ready))), value, true
	}

	// Assume the worst for the direction: pods without metrics use 100% on a
	// scale-down (of the request for CPU, at least the target) and nothing
	// on a scale-up; unready pods use nothing on a scale-up.
	n := ready
	if missing > 0 {
		switch {
		case ratio < 1:
			if c.metric == "cpu" {
				sum += int64(missing) * int64(c.cpuRequest) * int64(max(100, c.targetUtilization)) / 100
			} else {
				sum += int64(missing) * targetMilli
			}
			n += missing
		case ratio > 1:
			n += missing
		}
	}
	if scaleUpWithUnready {
		n += unready
	}
	newRatio, _ := ratioOf(sum, n)
	if h.within(newRatio) || ratio > 1 && newRatio < 1 || ratio < 1 && newRatio > 1 {
		return current, value, true
	}
	proposal := int(math.Ceil(newRatio * float64(n)))
	if newRatio < 1 && proposal > current || newRatio > 1 && proposal < current {
		return current, value, true
	}
	return proposal, value, true
}

// externalReplicas is GetExternalPerPodMetricReplicas: with scale to zero
// the metric must be an External (or Object) metric with an AverageValue
// target, which needs no pods to read.
func (h *hpa) externalReplicas(current int, total float64) (int, float64, bool) {
	usage := int64(math.Round(total * 1000))
	perPod := int64(math.Round(h.cfg.target * 1000))
	ratio := float64(usage) / (float64(perPod) * float64(current))
	if current != 0 && h.within(ratio) {
		return current, total / float64(current), true
	}
	value := 0.0
	if current > 0 {
		value = total / float64(current)
	}
	return int(math.Ceil(float64(usage) / float64(perPod))), value, true
}

// normalizeWithBehaviors is stabilizeRecommendationWithBehaviors followed by
// convertDesiredReplicasWithBehaviorRate.
func (h *hpa) normalizeWithBehaviors(t int64, current, desired int) int {
	c := &h.cfg
	up, down := desired, desired
	upCut, downCut := t-int64(c.upWindow), t-int64(c.downWindow)
	for _, r := range h.recs.all() {
		if r.t > upCut {
			up = min(up, r.v)
		}
		if r.t > downCut {
			down = max(down, r.v)
		}
	}
	h.recs.push(hpaSample{t: t, v: desired})
	rec := max(current, up)
	rec = min(rec, down)

	switch {
	case rec > current:
		added, deleted := h.changes(t, c.upPeriod)
		start := current - added + deleted
		limit := math.MinInt
		if c.upPods > 0 {
			limit = max(limit, start+c.upPods)
		}
		if c.upPercent > 0 {
			// Rounded up, or a percent policy could never add a pod.
			limit = max(limit, int(math.Ceil(float64(start)*(1+float64(c.upPercent)/100))))
		}
		limit = max(limit, current)
		rec = min(rec, c.maxReplicas, limit)
	case rec < current:
		added, deleted := h.changes(t, c.downPeriod)
		start := current - added + deleted
		limit := math.MaxInt
		if c.downPods > 0 {
			limit = min(limit, start-c.downPods)
		}
		if c.downPercent > 0 {
			limit = min(limit, int(float64(start)*(1-float64(c.downPercent)/100)))
		}
		limit = min(limit, current)
		rec = max(rec, c.minReplicas, limit)
	}
	return rec
}

// changes sums the scale events within the period before t (a policy's
// periodStartReplicas is current - added + deleted).
func (h *hpa) changes(t int64, period time.Duration) (added, deleted int) {
	cut := t - int64(period)
	for _, e := range h.events.all() {
		if e.t <= cut {
			continue
		}
		if e.v > 0 {
			added += e.v
		} else {
			deleted -= e.v
		}
	}
	return added, deleted
}

// normalizeLegacy is the pre-behavior path (stabilizeRecommendation and
// convertDesiredReplicasWithRules): the highest recommendation of the
// downscale-stabilization window, and a scale-up capped at max(2x, 4).
func (h *hpa) normalizeLegacy(t int64, current, desired int) int {
	c := &h.cfg
	rec := desired
	cut := t - int64(c.downWindow)
	for _, r := range h.recs.all() {
		if r.t >= cut && r.v > rec {
			rec = r.v
		}
	}
	h.recs.push(hpaSample{t: t, v: desired})
	upper := min(c.maxReplicas, max(2*current, 4))
	return max(c.minReplicas, min(rec, upper))
}
