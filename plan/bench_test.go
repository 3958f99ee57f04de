package plan

import (
	"context"
	"runtime"
	"testing"

	"github.com/scalebench/scalebench/scenarios"
)

// BenchmarkPlanOnOff is one whole plan (search and the three traffic
// scales) on a two-minute on/off scenario.
func BenchmarkPlanOnOff(b *testing.B) {
	sc := scenario(b, "onoff:rate=30,on=10s,off=30s,arrivals=poisson", "2m")
	o := slos(b, "p99<=1s,cold_start_ratio<=0.01")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, err := Run(context.Background(), sc, Options{Policy: "kpa", SLOs: o, Budget: 200})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(p.Simulations), "sims/op")
	}
}

// BenchmarkPlanSparse is the whole default plan (DefaultBudget) of the
// library's sparse fleet, 200 functions for an hour, on GOMAXPROCS workers
// sharing one pool: compare -cpu 1,2 in one run.
func BenchmarkPlanSparse(b *testing.B) {
	sc, err := scenarios.Load("../scenarios/library/sparse.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		p, err := Run(context.Background(), sc, Options{Policy: "kpa", SLOs: sc.SLOs, Workers: runtime.GOMAXPROCS(0)})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(p.Simulations), "sims/op")
	}
}
