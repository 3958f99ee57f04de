package simulator

import (
	"context"
	"testing"
	"time"

	"github.com/scalebench/scalebench/scenarios"
)

// TestKPABeatsKnativeReduced reproduces issue 12's targets on a reduced
// library suite (the two hour-long traces left out): the kpa preset at its defaults against the knative preset
// on the same traffic, with no more cold starts, at most 2% more
// pod-seconds and no worse p99 on each scenario, strictly better on cold
// starts or pod-seconds on at least half, and on the spike the pods the
// offered load needs (15 concurrent requests at 7 per pod: 3) within one.
func TestKPABeatsKnativeReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates four library scenarios twice")
	}
	cases := []struct {
		file     string
		duration time.Duration // cut to keep the test short; 0 = as written
	}{
		{"onoff.yaml", 0},
		{"spike.yaml", 0},
		{"steps.yaml", 0},
		{"steady.yaml", 3 * time.Minute},
		{"ramp.yaml", 0},
		{"diurnal.yaml", 20 * time.Minute},
	}
	better := 0
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			sc, err := scenarios.Load("../scenarios/library/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			if c.duration > 0 {
				sc.Duration = c.duration
			}
			run := func(policy string) *Result {
				r, err := Run(context.Background(), sc, scenarios.Policy{Name: policy}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			kpa, kn := run("kpa").Summary, run("knative").Summary
			t.Logf("kpa: %d cold, %.0f pod-s, p99 %.0f ms, max %d pods; knative: %d cold, %.0f pod-s, p99 %.0f ms, max %d pods",
				kpa.ColdStarts, kpa.PodSeconds, kpa.Latency.P99, kpa.MaxPods, kn.ColdStarts, kn.PodSeconds, kn.Latency.P99, kn.MaxPods)
			if kpa.ColdStarts > kn.ColdStarts {
				t.Errorf("cold starts: kpa %d > knative %d", kpa.ColdStarts, kn.ColdStarts)
			}
			if kpa.PodSeconds > kn.PodSeconds*1.02 {
				t.Errorf("pod-seconds: kpa %.0f > knative %.0f + 2%%", kpa.PodSeconds, kn.PodSeconds)
			}
			if kpa.Latency.P99 > kn.Latency.P99 {
				t.Errorf("p99: kpa %.1f ms > knative %.1f ms", kpa.Latency.P99, kn.Latency.P99)
			}
			if kpa.ColdStarts < kn.ColdStarts || kpa.PodSeconds < kn.PodSeconds {
				better++
			}
			if c.file == "spike.yaml" && kpa.MaxPods > 3+1 {
				t.Errorf("spike: kpa peaks at %d pods, want within 1 of the 3 the offered load needs", kpa.MaxPods)
			}
		})
	}
	if better*2 < len(cases) {
		t.Errorf("kpa strictly better on %d of %d scenarios, want at least half", better, len(cases))
	}
}
