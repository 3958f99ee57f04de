package queueproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/scalebench/scalebench/loadgen"
)

// Config describes one pod's queue-proxy.
type Config struct {
	// Pod names the pod; it becomes the "pod" label of every metric.
	Pod string
	// Addr is the pod's host:port on 127.0.0.1.
	Addr string
	// ContainerConcurrency is the most requests the pod serves at once;
	// 0 means unlimited.
	ContainerConcurrency int
	// QueueDepth bounds how many ServeHTTP callers may wait for a slot.
	QueueDepth int
	// Transport carries requests to the pod; share one across pods so idle
	// connections are pooled. Nil means a tuned default.
	Transport http.RoundTripper
	// OnRelease is called after a slot frees, so a waiting activator can
	// dispatch. It must be cheap.
	OnRelease func()
	// InitMs is the pod's start-up in milliseconds, sent as X-Init-Ms when
	// the function sends none.
	InitMs string
	// OnFirstRequest, when set, is called once, with the time the pod's
	// first request took a slot: the end of a cold start's wait.
	OnFirstRequest func(time.Time)
}

// ErrNotReached reports that a request never reached the pod (the
// connection was refused, typically because the pod died): nothing was
// written to the client and the request may be retried on another pod.
var ErrNotReached = errors.New("request did not reach the pod")

// HeaderError names, on every failure the platform answers itself, the kind
// of error, so a client (and the load generator's error counts) can tell a
// platform failure from the function's own answer.
const HeaderError = "X-Scalebench-Error"

// ErrKindUpstream is the error kind of a request that reached its pod but
// got no complete answer (the pod died or broke the connection mid-request).
const ErrKindUpstream = "pod_error"

// Sample is one collection interval of a pod.
type Sample struct {
	// Concurrency is the time-weighted average number of in-flight
	// requests over the interval.
	Concurrency float64
	// MaxConcurrency is the highest in-flight count seen in the interval.
	MaxConcurrency int
	// Requests is how many requests started in the interval.
	Requests int64
}

// Proxy is one pod's queue-proxy. It is safe for concurrent use.
type Proxy struct {
	cfg Config
	rp  *httputil.ReverseProxy
	// ready is when the proxy was made, which the platform does the moment
	// the pod is confirmed ready.
	ready time.Time

	mu       sync.Mutex
	inflight int
	area     float64 // request-nanoseconds since lastCollect
	// busy is every request-nanosecond since the proxy was made. A
	// scraper that reads it twice gets the exact average concurrency in
	// between, whoever else scrapes or collects meanwhile (Collect resets
	// area, so its gauge is only right for the one caller that collects).
	busy float64
	// idle sums the time with nothing in flight while the pod is routed
	// to, for idle_pod_seconds; it stops growing at Retire.
	idle        time.Duration
	retired     bool
	served      bool // a request has taken a slot
	lastChange  time.Time
	lastCollect time.Time
	peak        int
	requests    int64
	waiting     int
	free        chan struct{}

	avgConcurrency prometheus.Gauge
	rps            prometheus.Gauge
	total          prometheus.Counter
	registry       *prometheus.Registry
}

// DefaultTransport returns a transport tuned for many short requests to a
// few loopback pods: enough idle connections per host that a burst does not
// dial anew, and no proxy or compression work.
func DefaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// New makes the queue-proxy for one pod.
func New(cfg Config) (*Proxy, error) {
	if cfg.ContainerConcurrency < 0 {
		return nil, fmt.Errorf("queue-proxy %s: containerConcurrency must be >= 0, got %d", cfg.Pod, cfg.ContainerConcurrency)
	}
	if cfg.QueueDepth < 0 {
		return nil, fmt.Errorf("queue-proxy %s: queue depth must be >= 0, got %d", cfg.Pod, cfg.QueueDepth)
	}
	target, err := url.Parse("http://" + cfg.Addr)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("queue-proxy %s: want the pod's host:port, got %q", cfg.Pod, cfg.Addr)
	}
	if cfg.Transport == nil {
		cfg.Transport = DefaultTransport()
	}
	now := time.Now()
	p := &Proxy{cfg: cfg, ready: now, lastChange: now, lastCollect: now, free: make(chan struct{}, 1)}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = target.Host
			pr.Out.Host = target.Host
		},
		Transport:      cfg.Transport,
		ErrorHandler:   p.proxyError,
		ModifyResponse: p.markCold,
	}
	labels := prometheus.Labels{"pod": cfg.Pod}
	p.avgConcurrency = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "scalebench", Subsystem: "queueproxy", Name: "average_concurrency_requests",
		Help: "Time-weighted average in-flight requests over the last second.", ConstLabels: labels,
	})
	p.rps = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "scalebench", Subsystem: "queueproxy", Name: "requests_per_second",
		Help: "Requests started in the last second.", ConstLabels: labels,
	})
	p.total = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "scalebench", Subsystem: "queueproxy", Name: "requests_total",
		Help: "Requests forwarded to the pod.", ConstLabels: labels,
	})
	inflight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "scalebench", Subsystem: "queueproxy", Name: "in_flight_requests",
		Help: "Requests in flight at the pod now.", ConstLabels: labels,
	}, func() float64 { return float64(p.InFlight()) })
	busy := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "scalebench", Subsystem: "queueproxy", Name: "request_seconds_total",
		Help: "In-flight requests integrated over time (request-seconds): its rate is the average concurrency.", ConstLabels: labels,
	}, func() float64 { return p.BusySeconds(time.Now()) })
	p.registry = prometheus.NewRegistry()
	p.registry.MustRegister(p.avgConcurrency, p.rps, p.total, inflight, busy)
	return p, nil
}

// Pod is the pod's name.
func (p *Proxy) Pod() string { return p.cfg.Pod }

// Addr is the pod's address.
func (p *Proxy) Addr() string { return p.cfg.Addr }

// Registry holds this pod's metrics.
func (p *Proxy) Registry() *prometheus.Registry { return p.registry }

// InFlight is the number of requests holding a slot.
func (p *Proxy) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight
}

// BusySeconds is the request-seconds served up to now: in-flight requests
// integrated over the proxy's life.
func (p *Proxy) BusySeconds(now time.Time) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance(now)
	return p.busy / float64(time.Second)
}

// TryAcquire takes a slot if the pod has room.
func (p *Proxy) TryAcquire() bool {
	now := time.Now()
	p.mu.Lock()
	if cc := p.cfg.ContainerConcurrency; cc > 0 && p.inflight >= cc {
		p.mu.Unlock()
		return false
	}
	p.advance(now)
	p.inflight++
	p.requests++
	p.peak = max(p.peak, p.inflight)
	first := !p.served
	p.served = true
	p.mu.Unlock()
	p.total.Inc()
	if first && p.cfg.OnFirstRequest != nil {
		p.cfg.OnFirstRequest(now)
	}
	return true
}

// Release gives a slot back.
func (p *Proxy) Release() {
	now := time.Now()
	p.mu.Lock()
	p.advance(now)
	p.inflight--
	p.mu.Unlock()
	select {
	case p.free <- struct{}{}:
	default:
	}
	if p.cfg.OnRelease != nil {
		p.cfg.OnRelease()
	}
}

// advance integrates in-flight requests over time; callers hold mu.
func (p *Proxy) advance(now time.Time) {
	if dt := now.Sub(p.lastChange); dt > 0 {
		p.area += float64(p.inflight) * float64(dt)
		p.busy += float64(p.inflight) * float64(dt)
		if p.inflight == 0 && !p.retired {
			p.idle += dt
		}
		p.lastChange = now
	}
}

// Retire ends the pod's idle accounting: it is out of routing, so the time
// it spends draining and exiting is not idle capacity (the simulator stops
// counting a pod's idle time when it leaves the ready set, too).
func (p *Proxy) Retire() {
	now := time.Now()
	p.mu.Lock()
	p.advance(now)
	p.retired = true
	p.mu.Unlock()
}

// Idle is how long the pod has been ready with no request in flight, from
// the queue-proxy's creation (the pod's readiness) to now or to Retire.
func (p *Proxy) Idle() time.Duration {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance(now)
	return p.idle
}

// Collect closes the interval that ends at now and starts the next one.
func (p *Proxy) Collect(now time.Time) Sample {
	p.mu.Lock()
	p.advance(now)
	var s Sample
	if span := now.Sub(p.lastCollect); span > 0 {
		s.Concurrency = p.area / float64(span)
	}
	s.MaxConcurrency = p.peak
	s.Requests = p.requests
	p.area, p.requests, p.peak = 0, 0, p.inflight
	p.lastCollect = now
	p.mu.Unlock()
	p.avgConcurrency.Set(s.Concurrency)
	p.rps.Set(float64(s.Requests))
	return s
}

// Drain waits until no request holds a slot, or ctx ends.
func (p *Proxy) Drain(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for p.InFlight() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain pod %s: %d requests still in flight: %w", p.cfg.Pod, p.InFlight(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// ServeHTTP is the stand-alone queue-proxy: it waits in a bounded queue for
// a slot, forwards, and answers 503 when the queue is full.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.TryAcquire() {
		if !p.wait(r.Context()) {
			http.Error(w, "queue-proxy "+p.cfg.Pod+": pod at containerConcurrency and its queue is full", http.StatusServiceUnavailable)
			return
		}
	}
	defer p.Release()
	if err := p.Forward(w, r); errors.Is(err, ErrNotReached) {
		http.Error(w, "queue-proxy "+p.cfg.Pod+": "+err.Error(), http.StatusBadGateway)
	}
}

// wait blocks until a slot is taken or the queue is full or ctx ends.
func (p *Proxy) wait(ctx context.Context) bool {
	p.mu.Lock()
	if p.waiting >= p.cfg.QueueDepth {
		p.mu.Unlock()
		return false
	}
	p.waiting++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.waiting--
		p.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-p.free:
			if p.TryAcquire() {
				// Pass the wake-up on: another waiter may fit too when
				// several slots freed at once.
				select {
				case p.free <- struct{}{}:
				default:
				}
				return true
			}
		}
	}
}

type forwardKey struct{}

type arrivalKey struct{}

// WithArrival records when a request reached the platform, so the pod that
// serves it can tell whether the request waited for the pod to start.
func WithArrival(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, arrivalKey{}, t)
}

// markCold sets loadgen.HeaderColdStart by the simulator's definition when
// the arrival is known: a request is a cold start when the pod serving it
// became ready after the request arrived, i.e. it waited for a pod to
// start. fn's own header ("this instance's first request") would count one
// cold start per pod however many requests waited for it, and would count a
// pod's first request as cold even when the pod had long been ready.
//
// The instance is the pod, whatever the function says (a server need not
// know the headers at all), and a function that reports no init time gets
// the pod's start-up as the platform measured it.
func (p *Proxy) markCold(resp *http.Response) error {
	if t, ok := resp.Request.Context().Value(arrivalKey{}).(time.Time); ok {
		resp.Header.Set(loadgen.HeaderColdStart, strconv.FormatBool(p.ready.After(t)))
	}
	resp.Header.Set(loadgen.HeaderInstance, p.cfg.Pod)
	if p.cfg.InitMs != "" && resp.Header.Get(loadgen.HeaderInitMs) == "" {
		resp.Header.Set(loadgen.HeaderInitMs, p.cfg.InitMs)
	}
	return nil
}

// forwardState carries the outcome of one forward out of the ReverseProxy's
// error handler.
type forwardState struct {
	err error
}

// Forward sends r to the pod; the caller holds a slot. When the pod could not
// be reached (connection refused) and nothing was written, it returns
// ErrNotReached and leaves w untouched so the caller can retry elsewhere.
// Other failures are answered with 502 and returned.
func (p *Proxy) Forward(w http.ResponseWriter, r *http.Request) error {
	st := &forwardState{}
	r = r.WithContext(context.WithValue(r.Context(), forwardKey{}, st))
	if r.Body != nil && r.Body != http.NoBody {
		// The transport closes the body even when the dial fails; keep it
		// open so a retry on another pod can still send it.
		r.Body = noClose{r.Body}
	}
	p.rp.ServeHTTP(w, r)
	return st.err
}

func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	st, _ := r.Context().Value(forwardKey{}).(*forwardState)
	var op *net.OpError
	if st != nil && errors.As(err, &op) && op.Op == "dial" {
		st.err = fmt.Errorf("%w: pod %s: %v", ErrNotReached, p.cfg.Pod, err)
		return
	}
	if st != nil {
		st.err = fmt.Errorf("pod %s: %w", p.cfg.Pod, err)
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; there is no one to answer.
		w.WriteHeader(499)
		return
	}
	w.Header().Set(HeaderError, ErrKindUpstream)
	http.Error(w, "queue-proxy "+p.cfg.Pod+": "+err.Error(), http.StatusBadGateway)
}

type noClose struct{ io.Reader }

func (noClose) Close() error { return nil }
