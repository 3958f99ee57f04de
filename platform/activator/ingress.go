package activator

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/scalebench/scalebench/platform/queueproxy"
)

// The parts every ingress of a revision shares, whichever request path it
// follows (the activator's or Lambda's front end): the revision's stat,
// integrated at every change, and the error answers with their counts.

var reasons = map[string]string{
	ErrQueueFull:  "activator: no pod has capacity and the request queue is full\n",
	ErrTimeout:    "activator: timed out waiting for a pod with capacity\n",
	ErrNotReached: "activator: the pod died before the request reached it, and so did the retry's\n",
	ErrCanceled:   "activator: client went away while the request waited\n",
	// What a client of a Service with no endpoints sees as a refused
	// connection.
	ErrNoEndpoints: "activator: no ready pod behind the service (direct path: nothing holds the request)\n",
}

// errorCounts answers failed requests and counts them by kind.
type errorCounts struct {
	errMu  sync.Mutex
	errors map[string]int64
	errVec *prometheus.CounterVec
}

// init makes the counters and registers them on reg, if any.
func (e *errorCounts) init(revision string, reg prometheus.Registerer) error {
	e.errors = map[string]int64{}
	e.errVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "scalebench", Subsystem: "activator", Name: "errors_total",
		Help: "Requests the activator answered with an error, by kind.", ConstLabels: prometheus.Labels{"revision": revision},
	}, []string{"kind"})
	if reg != nil {
		return reg.Register(e.errVec)
	}
	return nil
}

func (a *errorCounts) fail(w http.ResponseWriter, kind string) {
	a.count(kind)
	code := http.StatusServiceUnavailable
	if kind == ErrNotReached {
		code = http.StatusBadGateway
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set(queueproxy.HeaderError, kind)
	w.WriteHeader(code)
	w.Write([]byte(reasons[kind]))
}

func (a *errorCounts) count(kind string) {
	a.errMu.Lock()
	a.errors[kind]++
	a.errMu.Unlock()
	a.errVec.WithLabelValues(kind).Inc()
}

// Errors returns the error counts by kind.
func (a *errorCounts) Errors() map[string]int64 {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	out := make(map[string]int64, len(a.errors))
	for k, v := range a.errors {
		out[k] = v
	}
	return out
}

// meter is the accounting of a revision's waiting and total in-flight
// requests.
type meter struct {
	statMu      sync.Mutex
	waiting     int
	inflight    int
	area        float64 // waiting-request nanoseconds since lastCollect
	inArea      float64 // in-flight (waiting or proxied) request nanoseconds
	lastChange  time.Time
	lastCollect time.Time
	peak        int
	arrivals    int64
}

// start begins the first interval at now.
func (a *meter) start(now time.Time) { a.lastChange, a.lastCollect = now, now }

// account changes the in-flight and waiting counts at now and returns the
// new in-flight total.
func (a *meter) account(now time.Time, dInflight, dWaiting int, arrival bool) int {
	a.statMu.Lock()
	a.advance(now)
	a.inflight += dInflight
	a.waiting += dWaiting
	a.peak = max(a.peak, a.inflight)
	if arrival {
		a.arrivals++
	}
	n := a.inflight
	a.statMu.Unlock()
	return n
}

// Collect closes the interval that ends at now.
func (a *meter) Collect(now time.Time) Sample {
	a.statMu.Lock()
	defer a.statMu.Unlock()
	a.advance(now)
	var s Sample
	if span := now.Sub(a.lastCollect); span > 0 {
		s.Waiting = a.area / float64(span)
		s.Concurrency = a.inArea / float64(span)
	}
	s.MaxInFlight, s.Arrivals = a.peak, a.arrivals
	a.area, a.inArea, a.peak, a.arrivals, a.lastCollect = 0, 0, a.inflight, 0, now
	return s
}

// advance integrates the waiting and in-flight counts up to now; callers
// hold statMu. A change stamped before the last one (time.Now read before
// another goroutine took the lock) adds nothing rather than a negative area.
func (a *meter) advance(now time.Time) {
	if dt := now.Sub(a.lastChange); dt > 0 {
		a.area += float64(a.waiting) * float64(dt)
		a.inArea += float64(a.inflight) * float64(dt)
		a.lastChange = now
	}
}
