package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/traffic"
)

// fuzzMaxRate keeps the fuzzer's attacks within what a shared test machine
// can take; plans above it exercise the refusal instead.
const fuzzMaxRate = 5000

// FuzzAttackEndsOnTime holds the load generator's standing bound: any
// config it accepts finishes in bounded time (the planned end, plus the end
// slack, plus Drain or Grace, whatever the target does), with its books
// balanced; any other is refused at once, before a request is sent. The
// target is on loopback and answers after a delay the fuzzer picks (or never,
// within the run), with a status it picks.
func FuzzAttackEndsOnTime(f *testing.F) {
	// kind, rate, rate2, durMs, workers, maxWorkers, timeoutMs, graceMs,
	// drainMs, method, delayMs, status, std
	f.Add(uint8(0), 1e9, 0.0, uint16(3000), uint16(0), uint16(0), uint16(0), uint16(0), uint16(0), "GET", uint16(0), uint16(200), false)
	f.Add(uint8(0), 200.0, 0.0, uint16(500), uint16(1), uint16(1), uint16(0), uint16(0), uint16(0), "GET", uint16(50), uint16(200), false)
	f.Add(uint8(5), 10.0, 400.0, uint16(800), uint16(0), uint16(8), uint16(0), uint16(300), uint16(200), "POST", uint16(2500), uint16(503), true)
	f.Add(uint8(6), 50.0, 0.0, uint16(600), uint16(0), uint16(0), uint16(100), uint16(0), uint16(0), "GE T", uint16(0), uint16(200), false)

	var delay, status, served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if d := time.Duration(delay.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		w.WriteHeader(int(status.Load()))
	}))
	f.Cleanup(srv.Close)

	f.Fuzz(func(t *testing.T, kind uint8, rate, rate2 float64, durMs, workers, maxWorkers, timeoutMs, graceMs, drainMs uint16,
		method string, delayMs, code uint16, std bool) {
		duration := time.Duration(durMs%1500+1) * time.Millisecond
		spec := fuzzSpec(kind, rate, rate2, duration)
		p, err := traffic.Parse(spec)
		if err != nil {
			return // not a pattern: traffic's own fuzz targets cover that
		}
		delay.Store(int64(time.Duration(delayMs%3000) * time.Millisecond))
		status.Store(int64(200 + int(code)%400)) // 200..599
		cfg := Config{
			URLs: []string{srv.URL}, Pattern: p, Duration: duration, Method: method,
			Workers: int(workers % 64), MaxWorkers: int(maxWorkers % 256), MaxRate: fuzzMaxRate,
			Timeout:      time.Duration(timeoutMs%3000) * time.Millisecond,
			Grace:        time.Duration(graceMs%1000) * time.Millisecond,
			Drain:        time.Duration(drainMs%1500) * time.Millisecond,
			StdTransport: std,
		}
		served.Store(0)
		// A hang must fail with its input, not stall the fuzzer.
		watchdog := time.AfterFunc(duration+30*time.Second, func() {
			panic(fmt.Sprintf("attack %s for %s (%+v) has not ended after %s", spec, duration, cfg, duration+30*time.Second))
		})
		defer watchdog.Stop()
		start := time.Now()
		rep, err := Attack(context.Background(), cfg)
		took := time.Since(start)
		if err != nil {
			if !badinput.Is(err) {
				t.Fatalf("%s: err %v, want bad input or a run", spec, err)
			}
			if took > time.Second || served.Load() != 0 {
				t.Fatalf("%s: refused after %s and %d requests", spec, took, served.Load())
			}
			return
		}
		// What defaults would have chosen, for the bound.
		resolved := cfg
		if err := resolved.defaults(); err != nil {
			t.Fatalf("accepted, but defaults now say %v", err)
		}
		bound := duration + endSlack + max(resolved.Grace, resolved.Drain) + 1500*time.Millisecond
		if took > bound {
			t.Fatalf("%s for %s (delay %dms): took %s, bound %s", spec, duration, delayMs%3000, took, bound)
		}
		s := rep.Summary
		var failed int64
		for _, n := range s.Errors {
			failed += n
		}
		if s.Requests != s.Completed+failed || s.Dropped != s.Errors["503"] {
			t.Fatalf("%s: requests %d, completed %d, errors %v, dropped %d: the books do not balance", spec, s.Requests, s.Completed, s.Errors, s.Dropped)
		}
	})
}

// fuzzSpec builds a rate pattern spec of one of the kinds traffic.Parse
// knows (file-backed traces aside) from the fuzzer's numbers.
func fuzzSpec(kind uint8, rate, rate2 float64, d time.Duration) string {
	r := strconv.FormatFloat(rate, 'g', -1, 64)
	r2 := strconv.FormatFloat(rate2, 'g', -1, 64)
	part := func(n int64) string { return (d * time.Duration(n) / 4).String() }
	switch kind % 7 {
	case 0:
		return "constant:rate=" + r
	case 1:
		return "poisson:rate=" + r
	case 2:
		return fmt.Sprintf("ramp:from=%s,to=%s,over=%s", r, r2, part(3))
	case 3:
		return fmt.Sprintf("steps:rates=%s/%s,every=%s", r, r2, part(1))
	case 4:
		return fmt.Sprintf("sine:base=%s,amplitude=%s,period=%s", r, r2, part(2))
	case 5:
		return fmt.Sprintf("spike:base=%s,peak=%s,at=%s,length=%s", r, r2, part(1), part(1))
	default:
		return fmt.Sprintf("onoff:rate=%s,on=%s,off=%s", r, part(1), part(1))
	}
}
