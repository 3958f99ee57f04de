package queueproxy

import (
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"negative concurrency", Config{Pod: "p", Addr: "127.0.0.1:1", ContainerConcurrency: -1}},
		{"negative queue", Config{Pod: "p", Addr: "127.0.0.1:1", QueueDepth: -1}},
		{"no address", Config{Pod: "p"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestTryAcquireEnforcesContainerConcurrency(t *testing.T) {
	cases := []struct {
		name string
		cc   int
		take int
		want int
	}{
		{"limit 1", 1, 3, 1},
		{"limit 3", 3, 5, 3},
		{"unlimited", 0, 7, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Config{Pod: "p", Addr: "127.0.0.1:1", ContainerConcurrency: tc.cc})
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for i := 0; i < tc.take; i++ {
				if p.TryAcquire() {
					got++
				}
			}
			if got != tc.want || p.InFlight() != tc.want {
				t.Fatalf("acquired %d (in flight %d), want %d", got, p.InFlight(), tc.want)
			}
		})
	}
}

func TestCollectAveragesOverTime(t *testing.T) {
	p, _ := New(Config{Pod: "p", Addr: "127.0.0.1:1"})
	start := time.Now()
	p.Collect(start)
	p.TryAcquire()
	p.TryAcquire()
	time.Sleep(100 * time.Millisecond)
	p.Release()
	time.Sleep(100 * time.Millisecond)
	s := p.Collect(time.Now())
	// Two in flight for ~100ms then one for ~100ms over ~200ms: about 1.5.
	if math.Abs(s.Concurrency-1.5) > 0.25 || s.MaxConcurrency != 2 || s.Requests != 2 {
		t.Fatalf("sample %+v, want concurrency ~1.5, max 2, 2 requests", s)
	}
	if got := gaugeValue(t, p, "scalebench_queueproxy_average_concurrency_requests"); got != s.Concurrency {
		t.Fatalf("gauge %v, sample %v", got, s.Concurrency)
	}
	next := p.Collect(time.Now().Add(time.Second))
	if math.Abs(next.Concurrency-1) > 0.01 || next.Requests != 0 || next.MaxConcurrency != 1 {
		t.Fatalf("next sample %+v, want the one held request", next)
	}
}

func TestServeHTTPQueuesWithinBound(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write([]byte("done"))
	}))
	defer backend.Close()
	p, _ := New(Config{Pod: "p", Addr: strings.TrimPrefix(backend.URL, "http://"), ContainerConcurrency: 1, QueueDepth: 1})
	codes := make(chan int, 3)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			codes <- rec.Code
		}()
	}
	// One is served, one waits, the third finds the queue full.
	first := <-codes
	if first != http.StatusServiceUnavailable {
		t.Fatalf("first answer %d, want 503 for the request over the queue bound", first)
	}
	if p.InFlight() != 1 {
		t.Fatalf("in flight %d, want 1 (containerConcurrency)", p.InFlight())
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Fatalf("queued request got %d", c)
		}
	}
}

func TestForwardReportsUnreachablePod(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	p, _ := New(Config{Pod: "dead", Addr: addr})
	rec := httptest.NewRecorder()
	err := p.Forward(rec, httptest.NewRequest("GET", "/", nil))
	if !errors.Is(err, ErrNotReached) {
		t.Fatalf("error %v, want ErrNotReached", err)
	}
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Flushed {
		t.Fatalf("response was written (%d %q); a retry needs it untouched", rec.Code, rec.Body)
	}
}

// gaugeValue reads a gauge from the pod's registry as a scraper would.
func gaugeValue(t *testing.T, p *Proxy, name string) float64 {
	t.Helper()
	mfs, err := p.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func TestIdleCountsOnlyTimeWithNothingInFlight(t *testing.T) {
	// The spans are timed here rather than assumed from the sleeps: on a
	// loaded machine a 60 ms sleep can last far longer.
	t0 := time.Now()
	p, _ := New(Config{Pod: "p", Addr: "127.0.0.1:1"})
	time.Sleep(60 * time.Millisecond) // idle
	t1 := time.Now()
	p.TryAcquire()
	time.Sleep(100 * time.Millisecond) // busy
	t2 := time.Now()
	p.Release()
	time.Sleep(60 * time.Millisecond) // idle
	t3 := time.Now()
	p.Retire()
	time.Sleep(100 * time.Millisecond) // retired: not counted
	idle := p.Idle()
	// The proxy's own clock readings fall between ours, so its idle time
	// lies within the two idle spans measured outside and in.
	upper := t1.Sub(t0) + t3.Sub(t2)
	lower := upper - 10*time.Millisecond
	if idle < lower || idle > upper+10*time.Millisecond {
		t.Fatalf("idle %v, want the two idle spans, about %v (not the busy or retired time)", idle, upper)
	}
}

// TestBusySecondsSurvivesCollect: the request-seconds counter is what a
// remote scraper differentiates, so collecting (which resets the interval
// the gauges report) must not move it back.
func TestBusySecondsSurvivesCollect(t *testing.T) {
	p, _ := New(Config{Pod: "p", Addr: "127.0.0.1:1"})
	t0 := time.Now()
	p.TryAcquire()
	p.TryAcquire()
	at := t0.Add(500 * time.Millisecond)
	p.Collect(at)
	mid := p.BusySeconds(at)
	end := p.BusySeconds(at.Add(500 * time.Millisecond))
	// Two in flight throughout: 2 request-seconds per second.
	if math.Abs(end-mid-1) > 0.01 || mid < 0.9 {
		t.Fatalf("busy %v at 0.5s and %v at 1s, want ~1 and ~2", mid, end)
	}
	mfs, err := p.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "scalebench_queueproxy_request_seconds_total" {
			if v := mf.GetMetric()[0].GetCounter().GetValue(); v < end {
				t.Fatalf("counter %v below the last reading %v", v, end)
			}
			return
		}
	}
	t.Fatal("scalebench_queueproxy_request_seconds_total not registered")
}
