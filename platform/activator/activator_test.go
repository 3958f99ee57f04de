package activator

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scalebench/scalebench/platform/queueproxy"
)

// backend is a fake pod that holds each request for delay and remembers its
// peak concurrency.
type backend struct {
	srv       *httptest.Server
	cur, peak atomic.Int64
	served    atomic.Int64
	delay     time.Duration
}

func newBackend(t *testing.T, delay time.Duration) *backend {
	b := &backend{delay: delay}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := b.cur.Add(1)
		for {
			p := b.peak.Load()
			if n <= p || b.peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(b.delay)
		b.cur.Add(-1)
		b.served.Add(1)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) proxy(t *testing.T, a *Activator, cc int) *queueproxy.Proxy {
	p, err := queueproxy.New(queueproxy.Config{Pod: b.srv.URL, Addr: strings.TrimPrefix(b.srv.URL, "http://"), ContainerConcurrency: cc, OnRelease: a.Dispatch})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func get(a *Activator) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	return rec
}

func parallel(n int, f func()) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	wg.Wait()
}

func TestRoutesWithinContainerConcurrency(t *testing.T) {
	cases := []struct {
		name     string
		pods, cc int
		requests int
	}{
		{"one pod cc 1", 1, 1, 4},
		{"two pods cc 1", 2, 1, 6},
		{"three pods cc 2", 3, 2, 12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := New(Config{Revision: "r", Timeout: 5 * time.Second})
			var bs []*backend
			for i := 0; i < tc.pods; i++ {
				b := newBackend(t, 30*time.Millisecond)
				bs = append(bs, b)
				a.AddPod(b.proxy(t, a, tc.cc))
			}
			var bad atomic.Int64
			parallel(tc.requests, func() {
				if get(a).Code != 200 {
					bad.Add(1)
				}
			})
			if bad.Load() != 0 {
				t.Fatalf("%d requests failed", bad.Load())
			}
			for i, b := range bs {
				if b.peak.Load() > int64(tc.cc) {
					t.Fatalf("pod %d saw %d concurrent requests, limit %d", i, b.peak.Load(), tc.cc)
				}
			}
		})
	}
}

func TestBuffersAtZeroAndPokes(t *testing.T) {
	var pokes atomic.Int64
	var demand atomic.Int64
	a, _ := New(Config{Revision: "r", Timeout: 5 * time.Second, Poke: func(d float64) { pokes.Add(1); demand.Store(int64(d)) }})
	b := newBackend(t, 0)
	done := make(chan int, 1)
	go func() { done <- get(a).Code }()
	deadline := time.Now().Add(2 * time.Second)
	for pokes.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if pokes.Load() != 1 || demand.Load() != 1 {
		t.Fatalf("pokes %d demand %d, want one poke with demand 1", pokes.Load(), demand.Load())
	}
	if s := a.Collect(time.Now()); s.Arrivals != 1 || s.MaxInFlight != 1 || s.Waiting <= 0 {
		t.Fatalf("sample %+v, want one waiting arrival", s)
	}
	a.AddPod(b.proxy(t, a, 1))
	if code := <-done; code != 200 {
		t.Fatalf("buffered request got %d", code)
	}
}

func TestRejectsWithReason(t *testing.T) {
	cases := []struct {
		name   string
		depth  int
		wait   time.Duration
		sent   int
		kind   string
		counts int64
	}{
		{"timeout", 10, 50 * time.Millisecond, 2, ErrTimeout, 2},
		{"queue full", 1, 300 * time.Millisecond, 3, ErrQueueFull, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := New(Config{Revision: "r", QueueDepth: tc.depth, Timeout: tc.wait})
			var mu sync.Mutex
			var bodies []string
			parallel(tc.sent, func() {
				rec := get(a)
				mu.Lock()
				bodies = append(bodies, rec.Header().Get("X-Scalebench-Error")+": "+rec.Body.String())
				mu.Unlock()
				if rec.Code != http.StatusServiceUnavailable || !strings.HasPrefix(rec.Body.String(), "activator: ") {
					t.Errorf("got %d %q, want 503 with a reason", rec.Code, rec.Body)
				}
			})
			if got := a.Errors()[tc.kind]; got != tc.counts {
				t.Fatalf("%s counted %d, want %d (%v; %q)", tc.kind, got, tc.counts, a.Errors(), bodies)
			}
		})
	}
}

func TestRetriesOnceWhenPodUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	a, _ := New(Config{Revision: "r", Timeout: time.Second})
	deadPod, _ := queueproxy.New(queueproxy.Config{Pod: "dead", Addr: dead, OnRelease: a.Dispatch})
	live := newBackend(t, 0)
	a.AddPod(deadPod)
	a.AddPod(live.proxy(t, a, 0))
	for i := 0; i < 20; i++ {
		if rec := get(a); rec.Code != 200 {
			t.Fatalf("request %d: %d %q", i, rec.Code, rec.Body)
		}
	}
	if a.Pods() != 1 || live.served.Load() != 20 || len(a.Errors()) != 0 {
		t.Fatalf("pods %d served %d errors %v; want the dead pod dropped and all 20 served", a.Pods(), live.served.Load(), a.Errors())
	}
	// With no live pod left the retry fails too, and says so.
	a.RemovePod(a.podsSnapshot()[0])
	a.AddPod(deadPod)
	other, _ := queueproxy.New(queueproxy.Config{Pod: "dead2", Addr: dead, OnRelease: a.Dispatch})
	a.AddPod(other)
	if rec := get(a); rec.Code != http.StatusBadGateway || a.Errors()[ErrNotReached] != 1 {
		t.Fatalf("got %d %q errors %v, want 502 pod_unreachable", rec.Code, rec.Body, a.Errors())
	}
}

func (a *Activator) podsSnapshot() []*queueproxy.Proxy { return *a.pods.Load() }
