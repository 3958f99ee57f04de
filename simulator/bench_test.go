package simulator

import (
	"context"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// BenchmarkSteady1000rpsKPA simulates 5 minutes of Poisson traffic at
// 1000 rps (exponential 100 ms service, containerConcurrency 10) under the
// KPA per iteration, with the time series written, and reports simulated
// requests per wall-clock second.
func BenchmarkSteady1000rpsKPA(b *testing.B) {
	pat, err := traffic.Parse("poisson:rate=1000")
	if err != nil {
		b.Fatal(err)
	}
	sc := &scenarios.Scenario{
		Name: "steady-1000", Duration: 5 * time.Minute, Seed: 1, Traffic: pat,
		Functions: []scenarios.Function{{
			Name: "fn", ContainerConcurrency: 10, Service: mustDist(b, "exp:mean=100ms"),
			Startup: scenarios.Startup{
				Schedule:        mustDist(b, scenarios.DefaultSchedule),
				ContainerStart:  mustDist(b, scenarios.DefaultContainerStart),
				AppInit:         mustDist(b, scenarios.DefaultAppInit),
				ReadinessPeriod: scenarios.DefaultReadinessPeriod,
			},
		}},
	}
	var requests int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), sc, scenarios.Policy{Name: "kpa"}, Options{Timeseries: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		requests += res.Summary.Requests
	}
	b.ReportMetric(float64(requests)/time.Since(start).Seconds(), "requests/s")
}

// BenchmarkFleetDay simulates scenarios/fleet/fleet-day.yaml, issue 14's
// fleet (3,000 functions of the Azure 2019 shape, seed 2, rates scaled by
// 0.19: about 150 M invocations, containerConcurrency 1) for a whole day
// under knative, with the fleet-wide time series written, on GOMAXPROCS
// workers: compare -cpu 1,2 in one run. Each iteration takes about a
// minute of CPU per core available; -benchtime 1x.
func BenchmarkFleetDay(b *testing.B) { benchFleet(b, 24*time.Hour, "knative") }

// BenchmarkFleetHour is the first hour of the same fleet.
func BenchmarkFleetHour(b *testing.B) { benchFleet(b, time.Hour, "knative") }

// BenchmarkFleetDayKeepalive is the same day under keepalive (Lambda's
// request path, 10 min keep-alive), whose idle functions skip their seconds
// too.
func BenchmarkFleetDayKeepalive(b *testing.B) { benchFleet(b, 24*time.Hour, "keepalive") }

func benchFleet(b *testing.B, d time.Duration, policy string) {
	sc, err := scenarios.Load("../scenarios/fleet/fleet-day.yaml")
	if err != nil {
		b.Fatal(err)
	}
	sc.Duration = d
	var requests int64
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), sc, scenarios.Policy{Name: policy}, Options{FleetTimeseries: io.Discard, Workers: runtime.GOMAXPROCS(0)})
		if err != nil {
			b.Fatal(err)
		}
		requests += res.Summary.Requests
	}
	b.ReportMetric(float64(requests)/time.Since(start).Seconds(), "requests/s")
}
