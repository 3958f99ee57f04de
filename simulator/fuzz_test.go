package simulator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// FuzzRunBounded drives the simulator with any policy, settings, pattern,
// service time and capacity that the parsers and limits accept, and wants
// every run to finish within the bounds those limits promise: pods within
// the capacity, requests accounted for, the run over no later than
// DrainLimit after its traffic, and on the Lambda path one instance start
// per cold start. The harness keeps each input small (planned requests,
// duration) so the fuzzer explores settings rather than long runs.
func FuzzRunBounded(f *testing.F) {
	f.Add(uint8(0), "min-scale=3", "poisson:rate=20", "exp:mean=200ms", uint8(30), int16(1), uint16(0))
	f.Add(uint8(1), "min-scale=100000000", "constant:rate=10", "fixed:100ms", uint8(10), int16(0), uint16(0))
	f.Add(uint8(2), "metric=concurrency,target=NaN", "spike:base=5,peak=150,at=2s,length=6s", "fixed:100ms", uint8(10), int16(2), uint16(0))
	f.Add(uint8(3), "max=-5", "onoff:rate=50,on=3s,off=5s", "lognormal:median=80ms,sigma=2", uint8(20), int16(0), uint16(3))
	f.Add(uint8(4), "min=100000000,max=100000000", "constant:rate=10", "fixed:1000000h", uint8(10), int16(1), uint16(0))
	f.Add(uint8(5), "keep-alive=1.4s,max=4", "poisson:rate=50", "exp:mean=300ms", uint8(30), int16(10), uint16(5))
	f.Add(uint8(5), "routing=first-free,min=2", "ramp:from=0,to=40,over=20s", "uniform:min=1ms,max=2s", uint8(25), int16(1), uint16(0))
	policies := autoscaler.Names()
	f.Fuzz(func(t *testing.T, pol uint8, settings, pattern, service string, seconds uint8, cc int16, capacity uint16) {
		name := policies[int(pol)%len(policies)]
		set, err := autoscaler.ParseSettings([]string{settings})
		if err != nil {
			return
		}
		if _, err := autoscaler.New(name, set); err != nil {
			return
		}
		pat, err := traffic.Parse(pattern)
		if err != nil {
			return
		}
		svc, err := dist.Parse(service)
		if err != nil {
			return
		}
		sc := &scenarios.Scenario{Name: "fuzz", Duration: time.Duration(1+int(seconds)%60) * time.Second, Seed: 1, Traffic: pat,
			Functions: []scenarios.Function{{Name: "f", ContainerConcurrency: int(cc), Service: svc,
				Startup: scenarios.Startup{AppInit: mustDist(t, "300ms"), ReadinessPeriod: 100 * time.Millisecond}}}}
		if err := scenarios.CheckLimits(sc); err != nil {
			return
		}
		planned := 0.0
		for s := time.Duration(0); s < sc.Duration; s += time.Second {
			planned += pat.Rate(s + time.Second/2)
		}
		if planned > 20_000 {
			return // the harness's bound, not the product's
		}
		limit := int(capacity) % 200
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var seconds64 int64
		res, err := Run(ctx, sc, scenarios.Policy{Name: name, Settings: set}, Options{MaxPods: limit, Series: func(Second) { seconds64++ }})
		if err != nil {
			if badinput.Is(err) && !strings.Contains(err.Error(), "\n") {
				return
			}
			t.Fatalf("%s %v on %s, %s: %v", name, set, pattern, service, err)
		}
		s := res.Summary
		capa := limit
		if capa <= 0 {
			capa = DefaultMaxPods
		}
		if s.MaxPods > capa {
			t.Fatalf("%d pods above the capacity %d", s.MaxPods, capa)
		}
		if s.Completed+s.Dropped+s.Unfinished != s.Requests {
			t.Fatalf("completed %d + dropped %d + unfinished %d != %d requests", s.Completed, s.Dropped, s.Unfinished, s.Requests)
		}
		if max := int64((sc.Duration+DrainLimit)/time.Second) + 1; seconds64 > max {
			t.Fatalf("simulated %d s, more than duration + drain limit (%d s)", seconds64, max)
		}
		if path, _ := autoscaler.PathOf(name); path == autoscaler.PathLambda && set["routing"] != "first-free" && s.ColdStarts != s.PodStarts {
			t.Fatalf("Lambda path: %d cold starts, %d pod starts", s.ColdStarts, s.PodStarts)
		}
	})
}
