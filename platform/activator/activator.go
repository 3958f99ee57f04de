package activator

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/platform/queueproxy"
)

// Config describes one revision's activator.
type Config struct {
	Revision string
	// QueueDepth is the most requests held while no pod has room; more
	// get 503. 0 means the platform default, autoscaler.DefaultQueueDepth,
	// as in the simulator.
	QueueDepth int
	// Timeout is the longest a request waits for capacity. 0 means the
	// platform default, autoscaler.DefaultTimeout.
	Timeout time.Duration
	// ContainerConcurrency is the revision's per-pod limit (0 = none); it
	// chooses the load-balancing policy as Knative's activator does:
	// power of two choices for 0, first available up to 3, round robin
	// above. The queue-proxies enforce the limit itself.
	ContainerConcurrency int
	// Poke tells the autoscaler that requests wait; demand is in-flight
	// plus waiting requests.
	Poke func(demand float64)
	// Registerer receives the activator's counters; nil registers nothing.
	Registerer prometheus.Registerer
}

// Error kinds counted by the activator, as Errors reports them.
const (
	ErrQueueFull  = "queue_full"
	ErrTimeout    = "queue_timeout"
	ErrNotReached = "pod_unreachable"
	ErrUpstream   = queueproxy.ErrKindUpstream
	ErrCanceled   = "client_canceled"
)

// Sample is one collection interval of the activator.
type Sample struct {
	// Concurrency is the time-weighted average number of requests the
	// activator holds, buffered or proxied to a pod: every request of the
	// revision passes it, so this is the revision's exact in-flight plus
	// waiting average over the interval, integrated at every change.
	Concurrency float64
	// Waiting is the time-weighted average number of buffered requests.
	Waiting float64
	// MaxInFlight is the peak of buffered plus proxied requests.
	MaxInFlight int
	// Arrivals counts requests that arrived in the interval.
	Arrivals int64
}

type waiter struct {
	got     chan *queueproxy.Proxy
	exclude *queueproxy.Proxy
}

// Activator routes one revision's requests. It is safe for concurrent use.
type Activator struct {
	cfg  Config
	pods atomic.Pointer[[]*queueproxy.Proxy]

	podsMu sync.Mutex // serialises writers of pods

	rrMu sync.Mutex // guards rr, the round-robin position
	rr   int

	waitMu   sync.Mutex
	queue    []*waiter
	nwaiting atomic.Int64

	// Accounting of waiting and total in-flight requests.
	statMu      sync.Mutex
	waiting     int
	inflight    int
	area        float64 // waiting-request nanoseconds since lastCollect
	inArea      float64 // in-flight (waiting or proxied) request nanoseconds
	lastChange  time.Time
	lastCollect time.Time
	peak        int
	arrivals    int64

	errMu  sync.Mutex
	errors map[string]int64
	errVec *prometheus.CounterVec
}

// New makes an activator with no pods.
func New(cfg Config) (*Activator, error) {
	if cfg.QueueDepth < 0 || cfg.Timeout < 0 {
		return nil, errors.New("activator: queue depth and timeout must be >= 0")
	}
	if cfg.QueueDepth == 0 {
		cfg.QueueDepth = autoscaler.DefaultQueueDepth
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = autoscaler.DefaultTimeout
	}
	now := time.Now()
	a := &Activator{cfg: cfg, lastChange: now, lastCollect: now, errors: map[string]int64{}}
	a.pods.Store(&[]*queueproxy.Proxy{})
	a.errVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "scalebench", Subsystem: "activator", Name: "errors_total",
		Help: "Requests the activator answered with an error, by kind.", ConstLabels: prometheus.Labels{"revision": cfg.Revision},
	}, []string{"kind"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(a.errVec); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// AddPod starts routing to a ready pod.
func (a *Activator) AddPod(p *queueproxy.Proxy) {
	a.podsMu.Lock()
	old := *a.pods.Load()
	next := make([]*queueproxy.Proxy, 0, len(old)+1)
	next = append(append(next, old...), p)
	a.pods.Store(&next)
	a.podsMu.Unlock()
	a.Dispatch()
}

// RemovePod stops routing new requests to p; requests it holds continue.
func (a *Activator) RemovePod(p *queueproxy.Proxy) {
	a.podsMu.Lock()
	defer a.podsMu.Unlock()
	old := *a.pods.Load()
	next := make([]*queueproxy.Proxy, 0, len(old))
	for _, q := range old {
		if q != p {
			next = append(next, q)
		}
	}
	a.pods.Store(&next)
}

// Pods is the number of pods routed to.
func (a *Activator) Pods() int { return len(*a.pods.Load()) }

// pick takes a slot on a pod with room, or returns nil, by Knative's
// activator policy for the revision's containerConcurrency (its
// throttler's pickLBPolicy): round robin over the pods with room above 3,
// first available from 1 to 3, power of two choices when unlimited.
// Round robin is what the simulator does; power of two choices for every
// limit, as this activator did, spread a burst differently over the pods
// than both Knative and the simulator.
func (a *Activator) pick(exclude *queueproxy.Proxy) *queueproxy.Proxy {
	pods := *a.pods.Load()
	switch cc := a.cfg.ContainerConcurrency; {
	case cc > 3:
		return a.pickRoundRobin(pods, exclude)
	case cc > 0:
		for _, p := range pods {
			if p != exclude && p.TryAcquire() {
				return p
			}
		}
		return nil
	}
	return a.pickTwo(pods, exclude)
}

// pickRoundRobin takes the first pod with room from the position after the
// last pick, as Knative's roundRobinPolicy.
func (a *Activator) pickRoundRobin(pods []*queueproxy.Proxy, exclude *queueproxy.Proxy) *queueproxy.Proxy {
	a.rrMu.Lock()
	defer a.rrMu.Unlock()
	n := len(pods)
	if a.rr >= n {
		a.rr = 0
	}
	for k := 0; k < n; k++ {
		i := (a.rr + k) % n
		if p := pods[i]; p != exclude && p.TryAcquire() {
			a.rr = i + 1
			return p
		}
	}
	return nil
}

// pickTwo compares two random pods first (power of two choices); only when
// both are full are the others tried.
func (a *Activator) pickTwo(pods []*queueproxy.Proxy, exclude *queueproxy.Proxy) *queueproxy.Proxy {
	n := len(pods)
	switch n {
	case 0:
		return nil
	case 1:
		if pods[0] != exclude && pods[0].TryAcquire() {
			return pods[0]
		}
		return nil
	}
	i, j := rand.IntN(n), rand.IntN(n-1)
	if j >= i {
		j++
	}
	first, second := pods[i], pods[j]
	if second.InFlight() < first.InFlight() {
		first, second = second, first
	}
	for _, p := range [2]*queueproxy.Proxy{first, second} {
		if p != exclude && p.TryAcquire() {
			return p
		}
	}
	off := rand.IntN(n)
	for k := 0; k < n; k++ {
		p := pods[(off+k)%n]
		if p != exclude && p.TryAcquire() {
			return p
		}
	}
	return nil
}

// Dispatch hands freed capacity to waiting requests, oldest first. Queue-
// proxies call it on release.
func (a *Activator) Dispatch() {
	if a.nwaiting.Load() == 0 {
		return
	}
	a.waitMu.Lock()
	defer a.waitMu.Unlock()
	for len(a.queue) > 0 {
		w := a.queue[0]
		p := a.pick(w.exclude)
		if p == nil {
			return
		}
		a.queue[0] = nil
		a.queue = a.queue[1:]
		a.nwaiting.Add(-1)
		w.got <- p
	}
}

// ServeHTTP routes one request.
func (a *Activator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.account(time.Now(), 1, 0, true)
	defer func() { a.account(time.Now(), -1, 0, false) }()
	r = r.WithContext(queueproxy.WithArrival(r.Context(), time.Now()))
	var tried *queueproxy.Proxy
	for attempt := 0; attempt < 2; attempt++ {
		p := a.pick(tried)
		if p == nil {
			var reason string
			p, reason = a.wait(r, tried)
			if p == nil {
				a.fail(w, reason)
				return
			}
		}
		err := p.Forward(w, r)
		p.Release()
		if err == nil {
			return
		}
		if !errors.Is(err, queueproxy.ErrNotReached) {
			if r.Context().Err() != nil {
				a.count(ErrCanceled)
			} else {
				a.count(ErrUpstream)
			}
			return
		}
		// The pod is gone; it will be removed when its process is reaped.
		a.RemovePod(p)
		tried = p
	}
	a.fail(w, ErrNotReached)
}

// wait buffers the request until a pod has room.
func (a *Activator) wait(r *http.Request, exclude *queueproxy.Proxy) (*queueproxy.Proxy, string) {
	wt := &waiter{got: make(chan *queueproxy.Proxy, 1), exclude: exclude}
	a.waitMu.Lock()
	// Counted before the second look so a slot released meanwhile either
	// is seen here or sees this waiter.
	a.nwaiting.Add(1)
	if p := a.pick(exclude); p != nil {
		a.nwaiting.Add(-1)
		a.waitMu.Unlock()
		return p, ""
	}
	if len(a.queue) >= a.cfg.QueueDepth {
		a.nwaiting.Add(-1)
		a.waitMu.Unlock()
		return nil, ErrQueueFull
	}
	a.queue = append(a.queue, wt)
	a.waitMu.Unlock()

	demand := a.account(time.Now(), 0, 1, false)
	defer func() { a.account(time.Now(), 0, -1, false) }()
	if a.cfg.Poke != nil {
		a.cfg.Poke(float64(demand))
	}
	t := time.NewTimer(a.cfg.Timeout)
	defer t.Stop()
	var reason string
	select {
	case p := <-wt.got:
		return p, ""
	case <-t.C:
		reason = ErrTimeout
	case <-r.Context().Done():
		reason = ErrCanceled
	}
	a.waitMu.Lock()
	for i, q := range a.queue {
		if q == wt {
			a.queue = append(a.queue[:i], a.queue[i+1:]...)
			a.nwaiting.Add(-1)
			a.waitMu.Unlock()
			return nil, reason
		}
	}
	a.waitMu.Unlock()
	// Dispatched as the wait ended: the slot is ours, use it.
	return <-wt.got, ""
}

var reasons = map[string]string{
	ErrQueueFull:  "activator: no pod has capacity and the request queue is full\n",
	ErrTimeout:    "activator: timed out waiting for a pod with capacity\n",
	ErrNotReached: "activator: the pod died before the request reached it, and so did the retry's\n",
	ErrCanceled:   "activator: client went away while the request waited\n",
}

func (a *Activator) fail(w http.ResponseWriter, kind string) {
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

func (a *Activator) count(kind string) {
	a.errMu.Lock()
	a.errors[kind]++
	a.errMu.Unlock()
	a.errVec.WithLabelValues(kind).Inc()
}

// Errors returns the error counts by kind.
func (a *Activator) Errors() map[string]int64 {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	out := make(map[string]int64, len(a.errors))
	for k, v := range a.errors {
		out[k] = v
	}
	return out
}

// account changes the in-flight and waiting counts at now and returns the
// new in-flight total.
func (a *Activator) account(now time.Time, dInflight, dWaiting int, arrival bool) int {
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
func (a *Activator) Collect(now time.Time) Sample {
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
func (a *Activator) advance(now time.Time) {
	if dt := now.Sub(a.lastChange); dt > 0 {
		a.area += float64(a.waiting) * float64(dt)
		a.inArea += float64(a.inflight) * float64(dt)
		a.lastChange = now
	}
}
