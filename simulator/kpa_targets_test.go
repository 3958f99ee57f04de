package simulator

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

// TestKPABeatsKnativeReduced reproduces issue 12's targets on a reduced
// suite (azure2019 left out, diurnal and steady cut short): the kpa preset
// at its defaults against the knative preset on the same traffic, with no
// more cold starts, at most 2% more pod-seconds and no worse p99 on each
// scenario, strictly better on cold starts or pod-seconds on at least
// half, on the spike the pods the offered load needs (15 concurrent
// requests at 7 per pod: 3) within one, and on the sparse fleet at least
// 30% fewer cold starts at no more pod-seconds. Two tuning seeds besides
// the library's (spike 9, steady 8, neither a held-out seed) are where the
// exit ramp once held pods longer than Knative's hold; the held-out suite
// is checked apart, in TestKPAHeldOut.
func TestKPABeatsKnativeReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates nine scenarios twice")
	}
	cases := []struct {
		file     string
		duration time.Duration // cut to keep the test short; 0 = as written
		seed     int64         // 0 = the scenario's
	}{
		{"onoff.yaml", 0, 0},
		{"spike.yaml", 0, 0},
		{"spike.yaml", 0, 9},
		{"steps.yaml", 0, 0},
		{"steady.yaml", 3 * time.Minute, 0},
		{"steady.yaml", 3 * time.Minute, 8},
		{"ramp.yaml", 0, 0},
		{"diurnal.yaml", 20 * time.Minute, 0},
		{"sparse.yaml", 0, 0},
	}
	better := 0
	for _, c := range cases {
		name := c.file
		if c.seed != 0 {
			name = fmt.Sprintf("%s seed %d", c.file, c.seed)
		}
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.Load("../scenarios/library/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			if c.duration > 0 {
				sc.Duration = c.duration
			}
			if c.seed != 0 {
				sc.Seed = c.seed
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
			if c.file == "spike.yaml" && c.seed == 0 && kpa.MaxPods > 3+1 {
				t.Errorf("spike: kpa peaks at %d pods, want within 1 of the 3 the offered load needs", kpa.MaxPods)
			}
			if c.file == "spike.yaml" {
				checkSpikeAfterBacklog(t, sc)
			}
			if c.file == "sparse.yaml" && (float64(kpa.ColdStarts) > 0.7*float64(kn.ColdStarts) || kpa.PodSeconds > kn.PodSeconds) {
				t.Errorf("sparse: kpa %d cold starts at %.0f pod-seconds, want at most 70%% of knative's %d at no more than its %.0f",
					kpa.ColdStarts, kpa.PodSeconds, kn.ColdStarts, kn.PodSeconds)
			}
		})
	}
	if better*2 < len(cases) {
		t.Errorf("kpa strictly better on %d of %d scenarios, want at least half", better, len(cases))
	}
}

// TestKPAHeldOut checks the same per-scenario targets on the held-out
// suite, which no default was tuned on: every scenario but the hour-long
// azure2019 and diurnal (the reduced test's runtime), as written.
func TestKPAHeldOut(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates six held-out scenarios twice")
	}
	for _, file := range []string{"onoff.yaml", "ramp.yaml", "sparse.yaml", "spike.yaml", "steady.yaml", "steps.yaml"} {
		t.Run(file, func(t *testing.T) {
			sc, err := scenarios.Load("../scenarios/heldout/" + file)
			if err != nil {
				t.Fatal(err)
			}
			run := func(policy string) *Result {
				r, err := Run(context.Background(), sc, scenarios.Policy{Name: policy}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			kpa, kn := run("kpa").Summary, run("knative").Summary
			if file == "spike.yaml" {
				checkSpikeAfterBacklog(t, sc)
			}
			t.Logf("kpa: %d cold, %.0f pod-s, p99 %.0f ms; knative: %d cold, %.0f pod-s, p99 %.0f ms",
				kpa.ColdStarts, kpa.PodSeconds, kpa.Latency.P99, kn.ColdStarts, kn.PodSeconds, kn.Latency.P99)
			if kpa.ColdStarts > kn.ColdStarts || kpa.PodSeconds > kn.PodSeconds*1.02 || kpa.Latency.P99 > kn.Latency.P99 {
				t.Errorf("kpa %d cold, %.0f pod-s, p99 %.1f ms against knative %d, %.0f, %.1f: want no more cold starts, pod-seconds within 2%%, p99 no worse",
					kpa.ColdStarts, kpa.PodSeconds, kpa.Latency.P99, kn.ColdStarts, kn.PodSeconds, kn.Latency.P99)
			}
		})
	}
}

// checkSpikeAfterBacklog runs kpa on a spike scenario (15 concurrent
// requests offered from 30 s to 90 s, 3 pods at 7 per pod) and checks the
// pods it holds once the backlog of the burst's first seconds is served:
// from two ticks after the queue first empties (Knative's scale-down rate
// halves at most per tick) to the end of the burst, within one of 3.
func checkSpikeAfterBacklog(t *testing.T, sc *scenarios.Scenario) {
	t.Helper()
	served, peak := int64(-1), 0
	_, err := Run(context.Background(), sc, scenarios.Policy{Name: "kpa"}, Options{Series: func(s Second) {
		switch {
		case s.T < 30 || s.T >= 90:
		case served < 0 && s.Queued == 0 && s.T > 31:
			served = s.T
		case served >= 0 && s.T >= served+4:
			peak = max(peak, s.Pods)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if served < 0 || peak == 0 {
		t.Fatalf("no backlog served during the burst (served at %d, peak %d)", served, peak)
	}
	if peak > 3+1 {
		t.Errorf("spike: kpa holds up to %d pods once the backlog is served (second %d), want within 1 of the 3 the offered load needs", peak, served)
	}
}

// TestKPASlowStartSpike is the library spike with a 6 s application
// start-up (the simulator's other phases as the library has them): the
// requests that queue while the first pods start must not be counted as
// concurrent demand, so kpa holds the pods the load needs once the backlog
// is served, with no more cold starts, pod-seconds or p99 than knative.
func TestKPASlowStartSpike(t *testing.T) {
	sc, err := scenarios.Load("../scenarios/library/spike.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Functions[0].Startup.AppInit, err = dist.Parse("fixed:6s"); err != nil {
		t.Fatal(err)
	}
	run := func(policy string) results.Summary {
		r, err := Run(context.Background(), sc, scenarios.Policy{Name: policy}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Summary
	}
	kpa, kn := run("kpa"), run("knative")
	t.Logf("kpa: %d cold, %.0f pod-s, p99 %.0f ms, max %d pods; knative: %d cold, %.0f pod-s, p99 %.0f ms, max %d pods",
		kpa.ColdStarts, kpa.PodSeconds, kpa.Latency.P99, kpa.MaxPods, kn.ColdStarts, kn.PodSeconds, kn.Latency.P99, kn.MaxPods)
	if kpa.ColdStarts > kn.ColdStarts || kpa.PodSeconds > kn.PodSeconds || kpa.Latency.P99 > kn.Latency.P99 {
		t.Errorf("want no more cold starts, pod-seconds or p99 than knative")
	}
	checkSpikeAfterBacklog(t, sc)
}
