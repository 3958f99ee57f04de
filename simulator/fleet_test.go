package simulator

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// unsplit hides a trace's Splitter, so Run simulates every function in one
// engine: the reference a fleet run must match.
type unsplit struct{ traffic.Pattern }

// fleetScenario is a small fleet: n functions of the sparse shape, busy
// enough (scale) that most functions see requests, cold starts and scale
// to zero within the run.
func fleetScenario(t testing.TB, n int, scale float64, d time.Duration) *scenarios.Scenario {
	t.Helper()
	tr, err := traffic.SparseTrace(traffic.SparseOptions{Functions: n, Seed: 4, Scale: scale})
	if err != nil {
		t.Fatal(err)
	}
	fns := make([]scenarios.Function, n)
	for i, tf := range tr.Functions() {
		fns[i] = scenarios.Function{
			Name: fmt.Sprintf("fl-%03d", i), ContainerConcurrency: 1 + i%3, MemoryMB: tf.MemoryMB, Service: tf.Duration,
			Startup: scenarios.Startup{
				Schedule:        mustDist(t, scenarios.DefaultSchedule),
				ContainerStart:  mustDist(t, scenarios.DefaultContainerStart),
				AppInit:         mustDist(t, scenarios.DefaultAppInit),
				ReadinessPeriod: scenarios.DefaultReadinessPeriod,
			},
		}
	}
	return &scenarios.Scenario{Name: "fleet", Duration: d, Seed: 3, Traffic: tr, Functions: fns}
}

type runOutput struct {
	summary, timeseries, requests, fleet []byte
	series                               []Second
}

func runOutputs(t *testing.T, sc *scenarios.Scenario, pol scenarios.Policy, workers int) runOutput {
	t.Helper()
	var ts, rq, fl bytes.Buffer
	var out runOutput
	res, err := Run(context.Background(), sc, pol, Options{
		Timeseries: &ts, Requests: &rq, FleetTimeseries: &fl, Workers: workers,
		Series: func(s Second) { out.series = append(out.series, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	s.SimWallSeconds, s.SimRequestsPerSecond = 0, 0
	out.summary, err = jsonBytes(struct {
		S any
		F any
	}{s, res.Functions})
	if err != nil {
		t.Fatal(err)
	}
	out.timeseries, out.requests, out.fleet = ts.Bytes(), rq.Bytes(), fl.Bytes()
	return out
}

func diffOutputs(t *testing.T, what string, a, b runOutput) {
	t.Helper()
	for _, c := range []struct {
		name string
		x, y []byte
	}{{"summary", a.summary, b.summary}, {"timeseries.csv", a.timeseries, b.timeseries}, {"requests.csv", a.requests, b.requests}, {"fleet time series", a.fleet, b.fleet}} {
		if !bytes.Equal(c.x, c.y) {
			n := 0
			for n < min(len(c.x), len(c.y)) && c.x[n] == c.y[n] {
				n++
			}
			lo := max(0, n-120)
			t.Errorf("%s: %s differs at byte %d of %d/%d:\n%q\nvs\n%q", what, c.name, n, len(c.x), len(c.y), c.x[lo:min(len(c.x), n+80)], c.y[lo:min(len(c.y), n+80)])
		}
	}
	if len(a.series) != len(b.series) {
		t.Errorf("%s: %d Series rows vs %d", what, len(a.series), len(b.series))
		return
	}
	for i := range a.series {
		if a.series[i] != b.series[i] {
			t.Errorf("%s: Series row %d: %+v vs %+v", what, i, a.series[i], b.series[i])
			return
		}
	}
}

// TestFleetMatchesOneEngine runs small fleets both ways: every function in
// one engine, and each in its own with idle functions skipping ahead. The
// summaries, time series, Series rows and request logs must be identical.
func TestFleetMatchesOneEngine(t *testing.T) {
	tests := []struct {
		name  string
		pol   scenarios.Policy
		n     int
		scale float64
		d     time.Duration
	}{
		{"knative", scenarios.Policy{Name: "knative"}, 60, 1, 30 * time.Minute},
		{"kpa learned retention", scenarios.Policy{Name: "kpa"}, 60, 1, 30 * time.Minute},
		{"knative scale-down delay", scenarios.Policy{Name: "knative", Settings: map[string]string{"scale-down-delay": "30s"}}, 40, 1, 20 * time.Minute},
		{"knative weighted, short windows", scenarios.Policy{Name: "knative", Settings: map[string]string{"metric-aggregation-algorithm": "weightedExponential", "stable-window": "10s", "scale-to-zero-grace-period": "5s"}}, 40, 1, 20 * time.Minute},
		{"knative min-scale", scenarios.Policy{Name: "knative", Settings: map[string]string{"min-scale": "1"}}, 20, 1, 10 * time.Minute},
		{"hpa", scenarios.Policy{Name: "hpa"}, 20, 1, 10 * time.Minute},
		{"openfaas-ce", scenarios.Policy{Name: "openfaas-ce"}, 20, 1, 10 * time.Minute},
		{"keepalive", scenarios.Policy{Name: "keepalive"}, 20, 1, 10 * time.Minute},
		{"keepalive, instances retired", scenarios.Policy{Name: "keepalive", Settings: map[string]string{"keep-alive": "1m"}}, 20, 1, 30 * time.Minute},
		{"keepalive first-free", scenarios.Policy{Name: "keepalive", Settings: map[string]string{"keep-alive": "1m", "routing": "first-free"}}, 20, 1, 30 * time.Minute},
		{"odd duration", scenarios.Policy{Name: "knative"}, 30, 1, 7*time.Minute + 300*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := fleetScenario(t, tt.n, tt.scale, tt.d)
			fleet := runOutputs(t, sc, tt.pol, 1)
			one := *sc
			one.Traffic = unsplit{sc.Traffic}
			if _, ok := fleetable(&one); ok {
				t.Fatal("the reference scenario would run as a fleet")
			}
			ref := runOutputs(t, &one, tt.pol, 1)
			if bytes.Count(ref.requests, []byte("\n")) < 1000 {
				t.Fatalf("only %d requests: the case tests little", bytes.Count(ref.requests, []byte("\n")))
			}
			diffOutputs(t, "fleet vs one engine", fleet, ref)
		})
	}
}

// TestFleetWorkers: the same scenario and seed give byte-identical output
// with 1, 2 and 4 workers, and with a pool shared by concurrent runs.
func TestFleetWorkers(t *testing.T) {
	sc := fleetScenario(t, 80, 1, 20*time.Minute)
	pol := scenarios.Policy{Name: "knative"}
	one := runOutputs(t, sc, pol, 1)
	for _, w := range []int{2, 4} {
		diffOutputs(t, fmt.Sprintf("workers %d vs 1", w), runOutputs(t, sc, pol, w), one)
	}
	pool := NewPool(3)
	defer pool.Close()
	done := make(chan runOutput, 3)
	for range 3 {
		go func() {
			var ts bytes.Buffer
			res, err := Run(context.Background(), sc, pol, Options{Timeseries: &ts, Pool: pool})
			if err != nil {
				t.Error(err)
				done <- runOutput{}
				return
			}
			done <- runOutput{timeseries: ts.Bytes(), summary: []byte(fmt.Sprint(res.Summary.Requests, res.Summary.MaxPods, res.Summary.PodSeconds, res.Summary.Latency))}
		}()
	}
	var first runOutput
	for k := range 3 {
		o := <-done
		if k == 0 {
			first = o
			if !bytes.Equal(o.timeseries, one.timeseries) {
				t.Error("a run on a shared pool wrote another time series")
			}
		} else if !bytes.Equal(o.timeseries, first.timeseries) || !bytes.Equal(o.summary, first.summary) {
			t.Error("concurrent runs on a shared pool differ")
		}
	}
}

// TestFleetPodCapacity: when the platform's capacity could bind, the
// functions are not independent; a fleet run gives way to one engine and
// its outputs come out as one engine's would, whatever the workers.
func TestFleetPodCapacity(t *testing.T) {
	sc := fleetScenario(t, 40, 1, 15*time.Minute)
	pol := scenarios.Policy{Name: "knative"}
	run := func(workers int, noFleet bool, maxPods int) runOutput {
		var ts, rq, fl bytes.Buffer
		var out runOutput
		res, err := Run(context.Background(), sc, pol, Options{
			Timeseries: &ts, Requests: &rq, FleetTimeseries: &fl, Workers: workers, NoFleet: noFleet, MaxPods: maxPods,
			Series: func(s Second) { out.series = append(out.series, s) },
		})
		if err != nil {
			t.Fatal(err)
		}
		s := res.Summary
		s.SimWallSeconds, s.SimRequestsPerSecond = 0, 0
		out.summary, _ = jsonBytes(struct{ S, F any }{s, res.Functions})
		out.timeseries, out.requests, out.fleet = ts.Bytes(), rq.Bytes(), fl.Bytes()
		if maxPods > 0 && s.PodsRefused == 0 {
			t.Fatalf("capacity %d never bound", maxPods)
		}
		return out
	}
	free := run(1, false, 0)
	peak := 0
	if _, err := fmt.Sscan(string(bytes.SplitN(bytes.SplitN(free.summary, []byte(`"max_pods":`), 2)[1], []byte(","), 2)[0]), &peak); err != nil || peak < 4 {
		t.Fatalf("max_pods %d (%v)", peak, err)
	}
	limit := peak - 1 // binds at the peak, late in the run
	one := run(1, true, limit)
	// 20-second chunks, so that the fleet run has written several before
	// the capacity binds and one engine must take over mid-output.
	defer func(n int) { fleetRowsPerChunk = n }(fleetRowsPerChunk)
	fleetRowsPerChunk = 20 * len(sc.Functions)
	for _, w := range []int{1, 2} {
		diffOutputs(t, fmt.Sprintf("capacity %d, workers %d", limit, w), run(w, false, limit), one)
	}
}
