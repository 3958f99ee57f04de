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
	// platform default, autoscaler.DefaultTimeout (GatewayTimeout on the
	// gateway path).
	Timeout time.Duration
	// Path is the request path the revision's policy declared: with no
	// ready pod, the activator's buffers the request, the gateway's holds
	// it and polls for a pod every autoscaler.GatewayPoll, and the direct
	// path (a Service with no endpoints) refuses it at once. Once a pod is
	// ready, every path queues in the FIFO.
	Path autoscaler.RequestPath
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
	// ErrNoEndpoints is the direct path's refusal with no ready pod.
	ErrNoEndpoints = "no_endpoints"
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

	meter
	errorCounts
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
		if cfg.Path == autoscaler.PathGateway {
			cfg.Timeout = autoscaler.GatewayTimeout
		}
	}
	a := &Activator{cfg: cfg}
	a.start(time.Now())
	a.pods.Store(&[]*queueproxy.Proxy{})
	if err := a.errorCounts.init(cfg.Revision, cfg.Registerer); err != nil {
		return nil, err
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
	arrival := time.Now()
	r = r.WithContext(queueproxy.WithArrival(r.Context(), arrival))
	var tried *queueproxy.Proxy
	for attempt := 0; attempt < 2; attempt++ {
		p := a.pick(tried)
		if p == nil {
			var reason string
			p, reason = a.wait(r, tried, arrival)
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

// wait buffers the request until a pod has room; with no ready pod, the
// gateway and direct paths first do what their platforms do.
func (a *Activator) wait(r *http.Request, exclude *queueproxy.Proxy, arrival time.Time) (*queueproxy.Proxy, string) {
	if a.Pods() == 0 {
		switch a.cfg.Path {
		case autoscaler.PathDirect:
			if a.cfg.Poke != nil {
				a.cfg.Poke(float64(a.account(time.Now(), 0, 0, false)))
			}
			return nil, ErrNoEndpoints
		case autoscaler.PathGateway:
			return a.hold(r, exclude, arrival)
		}
	}
	return a.buffer(r, exclude, a.cfg.Timeout)
}

// hold is the OpenFaaS gateway at zero: it keeps the request and looks for
// a ready replica every GatewayPoll from the arrival, so the request is
// released on its first poll after one is ready; then it takes a slot, or
// queues for one like any other.
func (a *Activator) hold(r *http.Request, exclude *queueproxy.Proxy, arrival time.Time) (*queueproxy.Proxy, string) {
	deadline := arrival.Add(a.cfg.Timeout)
	demand := a.account(time.Now(), 0, 1, false)
	if a.cfg.Poke != nil {
		a.cfg.Poke(float64(demand))
	}
	t := time.NewTicker(autoscaler.GatewayPoll)
	defer t.Stop()
	held := true
	defer func() {
		if held {
			a.account(time.Now(), 0, -1, false)
		}
	}()
	for {
		select {
		case now := <-t.C:
			if !now.Before(deadline) {
				return nil, ErrTimeout
			}
			if a.Pods() == 0 {
				continue
			}
			held = false
			a.account(now, 0, -1, false)
			if p := a.pick(exclude); p != nil {
				return p, ""
			}
			return a.buffer(r, exclude, deadline.Sub(now))
		case <-r.Context().Done():
			return nil, ErrCanceled
		}
	}
}

// buffer queues the request in the FIFO for up to timeout.
func (a *Activator) buffer(r *http.Request, exclude *queueproxy.Proxy, timeout time.Duration) (*queueproxy.Proxy, string) {
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
	t := time.NewTimer(timeout)
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
