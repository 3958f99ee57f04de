package knative

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/serving/pkg/autoscaler/aggregation"
	am "knative.dev/serving/pkg/autoscaler/metrics"
	"knative.dev/serving/pkg/autoscaler/scaling"

	"github.com/scalebench/scalebench/autoscaler"
)

// windower is what Knative's collector keeps per metric.
type windower interface {
	Record(time.Time, float64)
	WindowAverage(time.Time) float64
	IsEmpty(time.Time) bool
}

// collector is Knative's MetricCollector reduced to one revision: the same
// bucket types, the same ErrNoData rule.
type collector struct {
	stable, panic windower
}

func newCollector(stableWindow time.Duration, panicPct float64, weighted bool) *collector {
	panicWindow := time.Duration(math.Round(float64(stableWindow)*panicPct/100/float64(time.Second))) * time.Second
	mk := func(w time.Duration) windower {
		if weighted {
			return aggregation.NewWeightedFloat64Buckets(w, time.Second)
		}
		return aggregation.NewTimedFloat64Buckets(w, time.Second)
	}
	return &collector{stable: mk(stableWindow), panic: mk(max(panicWindow, time.Second))}
}

func (c *collector) record(now time.Time, v float64) {
	c.stable.Record(now, v)
	c.panic.Record(now, v)
}

func (c *collector) StableAndPanicConcurrency(_ types.NamespacedName, now time.Time) (float64, float64, error) {
	if c.stable.IsEmpty(now) {
		return 0, 0, am.ErrNoData
	}
	return c.stable.WindowAverage(now), c.panic.WindowAverage(now), nil
}

func (c *collector) StableAndPanicRPS(key types.NamespacedName, now time.Time) (float64, float64, error) {
	return c.StableAndPanicConcurrency(key, now)
}

type podCounter struct{ ready int }

func (p *podCounter) ReadyCount() (int, error)    { return p.ready, nil }
func (p *podCounter) NotReadyCount() (int, error) { return 0, nil }

// knativeSpec builds the DeciderSpec Knative's reconciler makes from the
// same settings (pkg/reconciler/autoscaling/kpa/resources/decider.go).
func knativeSpec(t testing.TB, set map[string]string) (*scaling.DeciderSpec, autoscaler.KPAConfig) {
	p, err := autoscaler.New("knative", set)
	if err != nil {
		t.Fatal(err)
	}
	k := p.(*autoscaler.KPA)
	c := k.Config()
	total := c.ContainerConcurrencyTargetDefault
	if c.Metric == "rps" {
		total = c.RPSTargetDefault
	}
	if c.Target > 0 {
		total = c.Target
	}
	return &scaling.DeciderSpec{
		MaxScaleUpRate:      c.MaxScaleUpRate,
		MaxScaleDownRate:    c.MaxScaleDownRate,
		ScalingMetric:       c.Metric,
		TargetValue:         k.Target(),
		TotalValue:          total,
		TargetBurstCapacity: c.TargetBurstCapacity,
		ActivatorCapacity:   100,
		PanicThreshold:      c.PanicThresholdPercentage / 100,
		StableWindow:        c.StableWindow,
		ScaleDownDelay:      c.ScaleDownDelay,
		InitialScale:        int32(c.InitialScale),
		Reachable:           c.Reachable,
		ActivationScale:     int32(c.ActivationScale),
	}, c
}

// series is a random but plausible revision: load that wanders, bursts and
// goes idle, and ready pods that follow demand with lag and noise.
func series(seed uint64, n int) (conc []float64, ready []int) {
	r := rand.New(rand.NewPCG(seed, 7))
	level := r.Float64() * 300
	pods := 1
	for i := 0; i < n; i++ {
		switch x := r.Float64(); {
		case x < 0.01:
			level *= 3 + r.Float64()*5 // burst
		case x < 0.02:
			level = 0 // idle
		case x < 0.04:
			level = r.Float64() * 400
		}
		level = math.Max(0, level*(0.9+r.Float64()*0.2))
		v := level * (0.8 + r.Float64()*0.4)
		if r.Float64() < 0.05 {
			v = math.Round(v) // exact integers hit ceil() edges
		}
		conc = append(conc, v)
		if i%3 == 0 {
			want := int(math.Ceil(level / 70))
			pods += (want - pods + r.IntN(3) - 1) / 2
			pods = max(0, pods)
		}
		ready = append(ready, pods)
	}
	return conc, ready
}

// TestKPAMatchesKnative feeds identical stats and ready counts to Knative's
// autoscaler and ours and compares every tick's decision: desired pods
// (before the reconciler), validity and excess burst capacity.
func TestKPAMatchesKnative(t *testing.T) {
	settings := []map[string]string{
		nil,
		{"metric-aggregation-algorithm": "weightedExponential"},
		{"scale-down-delay": "20s"},
		{"activation-scale": "3"},
		{"stable-window": "20s", "panic-window-percentage": "25", "panic-threshold-percentage": "150"},
		{"max-scale-up-rate": "1.5", "max-scale-down-rate": "1.2"},
		{"target-burst-capacity": "0"},
		{"target-burst-capacity": "-1"},
		{"target": "30", "target-utilization-percentage": "90"},
		{"reachable": "false"},
		{"metric": "rps"},
	}
	logger := zap.NewNop().Sugar()
	ticks := 0
	for si, set := range settings {
		for seed := uint64(0); seed < 40; seed++ {
			name := fmt.Sprintf("settings%d/%v/seed%d", si, set, seed)
			spec, cfg := knativeSpec(t, set)
			coll := newCollector(cfg.StableWindow, cfg.PanicWindowPercentage, cfg.Aggregation == "weightedExponential")
			conc, ready := series(seed+uint64(si)*1000, 1500)
			pc := &podCounter{ready: ready[0]}
			// Knative's autoscaler takes time.Now() as its panic start when
			// it is created with several pods ready, so each series starts
			// now, just before it is created. (One epoch for the whole test
			// let the wall clock run up to 2 s ahead of the series by the
			// later ones, and their panic ended a tick early: the test
			// failed about every other run.)
			epoch := time.Now().Truncate(time.Second)
			kn := scaling.New(attribute.NewSet(), noop.NewMeterProvider(), "ns", "rev", coll, pc, spec)
			ours, _ := autoscaler.New("knative", set)

			for s := range conc {
				now := epoch.Add(time.Duration(s) * time.Second)
				coll.record(now, conc[s])
				ours.Record(now, autoscaler.Stat{Concurrency: conc[s], RPS: conc[s]})
				if s%2 != 0 {
					continue
				}
				pc.ready = ready[s]
				want := kn.Scale(logger, now)
				got := ours.Tick(now, autoscaler.Pods{Ready: ready[s]})
				ticks++
				if want.ScaleValid != got.Valid {
					t.Fatalf("%s t=%d: valid %v, Knative %v", name, s, got.Valid, want.ScaleValid)
				}
				if !got.Valid {
					continue
				}
				if int32(got.Recommended) != want.DesiredPodCount || int32(got.ExcessBurstCapacity) != want.ExcessBurstCapacity {
					t.Fatalf("%s t=%d (ready %d, conc %.3f): ours desired %d ebc %g, Knative desired %d ebc %d",
						name, s, ready[s], conc[s], got.Recommended, got.ExcessBurstCapacity, want.DesiredPodCount, want.ExcessBurstCapacity)
				}
			}
		}
	}
	t.Logf("%d ticks compared", ticks)
}

var errSink error

// BenchmarkKnativeTick is Knative's own per-revision cost for one tick:
// two seconds of stats into its collector buckets, then Scale().
func BenchmarkKnativeTick(b *testing.B) {
	spec, cfg := knativeSpec(b, nil)
	coll := newCollector(cfg.StableWindow, cfg.PanicWindowPercentage, false)
	pc := &podCounter{ready: 2}
	kn := scaling.New(attribute.NewSet(), noop.NewMeterProvider(), "ns", "rev", coll, pc, spec)
	logger := zap.NewNop().Sugar()
	epoch := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	for i := range b.N {
		now := epoch.Add(time.Duration(2*i) * time.Second)
		coll.record(now.Add(-time.Second), 140+float64(i%7))
		coll.record(now, 150-float64(i%5))
		pc.ready = 2 + i%2
		if r := kn.Scale(logger, now); !r.ScaleValid {
			errSink = errors.New("invalid")
		}
	}
}

// BenchmarkScalebenchTick is the same work for scalebench's KPA.
func BenchmarkScalebenchTick(b *testing.B) {
	p, _ := autoscaler.New("knative", nil)
	epoch := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	for i := range b.N {
		now := epoch.Add(time.Duration(2*i) * time.Second)
		p.Record(now.Add(-time.Second), autoscaler.Stat{Concurrency: 140 + float64(i%7)})
		p.Record(now, autoscaler.Stat{Concurrency: 150 - float64(i%5)})
		if d := p.Tick(now, autoscaler.Pods{Ready: 2 + i%2}); !d.Valid {
			errSink = errors.New("invalid " + strconv.Itoa(i))
		}
	}
}
