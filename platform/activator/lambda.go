package activator

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/platform/queueproxy"
)

// LambdaConfig describes one revision's front end on the Lambda request
// path (autoscaler.PathLambda).
type LambdaConfig struct {
	Revision string
	// Instances are the policy's keep-alive and limits
	// (autoscaler.InstancePolicy); FirstFree is not for this front end.
	Instances autoscaler.Instances
	// QueueDepth and Timeout bound the requests that wait at the
	// concurrency limit, as the activator's buffer; 0 means the platform
	// defaults.
	QueueDepth int
	Timeout    time.Duration
	// Start creates one instance (a pod); the platform calls AddInstance
	// when it is ready and Gone when its process has exited.
	Start func() (*pods.Pod, error)
	// Retire stops an instance the front end no longer uses: its
	// keep-alive passed, or it failed a request or its readiness probe.
	// It must not wait for the pod to exit.
	Retire func(*pods.Pod)
	// Registerer receives the error counters; nil registers nothing.
	Registerer prometheus.Registerer
}

// Lambda is the front end of a revision on the Lambda request path, the
// simulator's rules on real pods (see package simulator, "The Lambda
// path"): an instance serves one request at a time; a request that finds an
// idle instance takes the most recently used one; one that finds none is
// bound to a new instance and waits for exactly that one, even if another
// frees first, and is a cold start; at Max instances it waits in a bounded
// FIFO for the first instance that frees and is not cold. Every instance
// but the Min provisioned ones is retired KeepAlive after it went idle.
// No autoscaler tick sizes the revision.
//
// It is safe for concurrent use.
type Lambda struct {
	cfg LambdaConfig

	mu    sync.Mutex
	mru   *instance // the idle instances, most recently used first
	byPod map[*pods.Pod]*instance
	alive int             // instances starting or ready, not retired
	queue []*lambdaWaiter // requests waiting at the concurrency limit
	// pending are requests whose instance died before it was ready,
	// waiting out the back-off before they are bound to another.
	pending map[*lambdaWaiter]struct{}
	// backoff is how long a crash holds back the next start: a function
	// that cannot start must not be restarted in a tight loop.
	backoff time.Duration
	timers  map[*instance]struct{} // instances with a keep-alive running
	closed  bool

	meter
	errorCounts
}

// instance is one pod of a Lambda revision.
type instance struct {
	pod         *pods.Pod
	qp          *queueproxy.Proxy // set once ready
	provisioned bool
	// bound is the request this instance was started for, until it is
	// handed the instance.
	bound *lambdaWaiter
	// idle is set while the instance is in the idle list (prev, next).
	idle       bool
	prev, next *instance
	// gen counts idle periods: the keep-alive timer of an earlier one
	// finds it changed and does nothing.
	gen     uint64
	timer   *time.Timer
	retired bool // retired or gone: takes no more requests
}

// handoff is an instance given to a waiting request; cold is set when the
// request was bound to it as a new instance.
type handoff struct {
	inst *instance
	cold bool
}

type lambdaWaiter struct{ got chan handoff }

// NewLambda makes the front end and starts the Min provisioned instances.
func NewLambda(cfg LambdaConfig) (*Lambda, error) {
	in := cfg.Instances
	switch {
	case in.FirstFree:
		return nil, errors.New("lambda front end: first-free routing is the activator's, not Lambda's")
	case in.KeepAlive <= 0 || in.Min < 0 || in.Max < 1 || in.Max < in.Min:
		return nil, fmt.Errorf("lambda front end: instances %+v: want keep-alive > 0 and 0 <= min <= max, max >= 1", in)
	case cfg.QueueDepth < 0 || cfg.Timeout < 0:
		return nil, errors.New("lambda front end: queue depth and timeout must be >= 0")
	case cfg.Start == nil || cfg.Retire == nil:
		return nil, errors.New("lambda front end: want Start and Retire")
	}
	if cfg.QueueDepth == 0 {
		cfg.QueueDepth = autoscaler.DefaultQueueDepth
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = autoscaler.DefaultTimeout
	}
	l := &Lambda{cfg: cfg, byPod: map[*pods.Pod]*instance{}, timers: map[*instance]struct{}{},
		pending: map[*lambdaWaiter]struct{}{}}
	l.start(time.Now())
	if err := l.errorCounts.init(cfg.Revision, cfg.Registerer); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for range in.Min {
		if _, err := l.startLocked(nil, true); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// startLocked starts a new instance, bound to w when a request waits for
// it; l.mu is held.
func (l *Lambda) startLocked(w *lambdaWaiter, provisioned bool) (*instance, error) {
	pod, err := l.cfg.Start()
	if err != nil {
		return nil, err
	}
	inst := &instance{pod: pod, bound: w, provisioned: provisioned}
	l.byPod[pod] = inst
	l.alive++
	return inst, nil
}

// AddInstance is the platform's word that an instance's pod is ready and
// routed through qp: its bound request starts on it, or it goes idle.
func (l *Lambda) AddInstance(pod *pods.Pod, qp *queueproxy.Proxy) {
	l.mu.Lock()
	defer l.mu.Unlock()
	inst := l.byPod[pod]
	if inst == nil || inst.retired {
		return
	}
	inst.qp = qp
	l.backoff = 0
	if w := inst.bound; w != nil {
		inst.bound = nil
		w.got <- handoff{inst, true}
		return
	}
	l.idleLocked(inst)
}

// idleLocked is an instance with nothing to do: the oldest request
// waiting at the limit takes it, or it goes to the head of the idle list
// and, unless provisioned, its keep-alive starts.
func (l *Lambda) idleLocked(inst *instance) {
	if len(l.queue) > 0 {
		w := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		w.got <- handoff{inst, false}
		return
	}
	inst.idle, inst.prev, inst.next = true, nil, l.mru
	if l.mru != nil {
		l.mru.prev = inst
	}
	l.mru = inst
	inst.gen++
	if inst.provisioned || l.closed {
		return
	}
	gen := inst.gen
	inst.timer = time.AfterFunc(l.cfg.Instances.KeepAlive, func() { l.expire(inst, gen) })
	l.timers[inst] = struct{}{}
}

// takeLocked removes an instance from the idle list and stops its
// keep-alive.
func (l *Lambda) takeLocked(inst *instance) {
	if !inst.idle {
		return
	}
	if inst.prev != nil {
		inst.prev.next = inst.next
	} else {
		l.mru = inst.next
	}
	if inst.next != nil {
		inst.next.prev = inst.prev
	}
	inst.idle, inst.prev, inst.next = false, nil, nil
	if inst.timer != nil {
		inst.timer.Stop()
		inst.timer = nil
		delete(l.timers, inst)
	}
}

// expire retires an instance that stayed idle for the keep-alive.
func (l *Lambda) expire(inst *instance, gen uint64) {
	l.mu.Lock()
	if !inst.idle || inst.gen != gen || inst.retired || l.closed {
		l.mu.Unlock()
		return
	}
	l.takeLocked(inst)
	inst.retired = true
	l.alive--
	l.mu.Unlock()
	l.cfg.Retire(inst.pod)
}

// Gone is the platform's word that an instance's process has exited. An
// instance that was not retired crashed (or never started): a request
// bound to it is bound to another new instance, a provisioned one is
// replaced, and a request waiting at the limit gets the room it left. After
// a crash before readiness, or of a provisioned instance, that waits out a
// back-off (100 ms doubling to 5 s, reset when an instance is ready), so a
// function that cannot start is not restarted in a tight loop.
func (l *Lambda) Gone(pod *pods.Pod) {
	l.mu.Lock()
	defer l.mu.Unlock()
	inst := l.byPod[pod]
	if inst == nil {
		return
	}
	delete(l.byPod, pod)
	if inst.retired {
		return
	}
	l.takeLocked(inst)
	inst.retired = true
	l.alive--
	if l.closed {
		return
	}
	w := inst.bound
	inst.bound = nil
	if inst.qp != nil && !inst.provisioned {
		if w != nil {
			l.rebindLocked(w)
		}
		l.refillLocked(false)
		return
	}
	if w != nil {
		l.pending[w] = struct{}{}
	}
	l.backoff = min(max(2*l.backoff, 100*time.Millisecond), 5*time.Second)
	time.AfterFunc(l.backoff, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed {
			return
		}
		if _, waiting := l.pending[w]; w != nil && waiting {
			// Still waiting: it did not give up during the back-off.
			delete(l.pending, w)
			l.rebindLocked(w)
		}
		l.refillLocked(inst.provisioned)
	})
}

// refillLocked starts the provisioned instance a dead one was, and
// instances for the requests waiting at the limit while there is room.
func (l *Lambda) refillLocked(provisioned bool) {
	if provisioned {
		l.provisionLocked()
	}
	for len(l.queue) > 0 && l.alive < l.cfg.Instances.Max {
		if _, err := l.startLocked(l.queue[0], false); err != nil {
			break
		}
		l.queue[0] = nil
		l.queue = l.queue[1:]
	}
}

// rebindLocked finds a request whose instance died another new one, or
// puts it first in line at the limit.
func (l *Lambda) rebindLocked(w *lambdaWaiter) {
	if l.alive < l.cfg.Instances.Max {
		if _, err := l.startLocked(w, false); err == nil {
			return
		}
	}
	l.queue = append([]*lambdaWaiter{w}, l.queue...)
}

// provisionLocked replaces a provisioned instance that crashed.
func (l *Lambda) provisionLocked() {
	n := 0
	for _, inst := range l.byPod {
		if inst.provisioned && !inst.retired {
			n++
		}
	}
	if n < l.cfg.Instances.Min && l.alive < l.cfg.Instances.Max {
		l.startLocked(nil, true)
	}
}

// Close stops the keep-alive timers: the platform stops the pods.
func (l *Lambda) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for inst := range l.timers {
		inst.timer.Stop()
	}
	clear(l.timers)
}

// ServeHTTP routes one request.
func (l *Lambda) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrival := time.Now()
	l.account(arrival, 1, 0, true)
	defer func() { l.account(time.Now(), -1, 0, false) }()
	for attempt := 0; attempt < 2; attempt++ {
		h, reason := l.acquire(r)
		if h.inst == nil {
			l.fail(w, reason)
			return
		}
		// The queue-proxy calls a request cold when its pod became ready
		// after the arrival it is given. Only a request bound to its own
		// new instance is cold here: one that waited at the limit for a
		// busy instance to free is queued, as in the simulator, so its
		// wait is not counted as the instance's start.
		at := arrival
		if !h.cold {
			at = time.Now()
		}
		req := r.WithContext(queueproxy.WithArrival(r.Context(), at))
		qp := h.inst.qp
		if !qp.TryAcquire() {
			// Cannot happen while this front end is the pod's only
			// ingress: an instance is handed to one request at a time.
			l.dead(h.inst)
			continue
		}
		err := qp.Forward(w, req)
		qp.Release()
		if err == nil {
			l.freed(h.inst)
			return
		}
		if !errors.Is(err, queueproxy.ErrNotReached) {
			if r.Context().Err() != nil {
				l.count(ErrCanceled)
			} else {
				l.count(ErrUpstream)
			}
			l.freed(h.inst)
			return
		}
		// The instance died; Gone accounts for it when its process is
		// reaped. The request never reached it: try once more.
		l.dead(h.inst)
	}
	l.fail(w, ErrNotReached)
}

// freed is an instance whose request has ended.
func (l *Lambda) freed(inst *instance) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !inst.retired {
		l.idleLocked(inst)
	}
}

// Unroute takes an instance whose pod failed its readiness probe out of
// use and retires it; a request it is serving finishes.
func (l *Lambda) Unroute(pod *pods.Pod) {
	l.mu.Lock()
	inst := l.byPod[pod]
	l.mu.Unlock()
	if inst != nil {
		l.dead(inst)
	}
}

// dead takes an instance that failed a request out of use; its pod is
// stopped, and Gone follows.
func (l *Lambda) dead(inst *instance) {
	l.mu.Lock()
	if inst.retired {
		l.mu.Unlock()
		return
	}
	l.takeLocked(inst)
	inst.retired = true
	l.alive--
	if !l.closed {
		l.refillLocked(inst.provisioned)
	}
	l.mu.Unlock()
	l.cfg.Retire(inst.pod)
}

// acquire gives the request an instance: the most recently used idle one,
// a new one of its own, or at the limit the first that frees.
func (l *Lambda) acquire(r *http.Request) (handoff, string) {
	wt := &lambdaWaiter{got: make(chan handoff, 1)}
	l.mu.Lock()
	if inst := l.mru; inst != nil {
		l.takeLocked(inst)
		l.mu.Unlock()
		return handoff{inst, false}, ""
	}
	if l.alive < l.cfg.Instances.Max {
		if _, err := l.startLocked(wt, false); err != nil {
			l.mu.Unlock()
			return handoff{}, ErrNotReached
		}
	} else {
		if len(l.queue) >= l.cfg.QueueDepth {
			l.mu.Unlock()
			return handoff{}, ErrQueueFull
		}
		l.queue = append(l.queue, wt)
	}
	l.mu.Unlock()

	l.account(time.Now(), 0, 1, false)
	defer func() { l.account(time.Now(), 0, -1, false) }()
	t := time.NewTimer(l.cfg.Timeout)
	defer t.Stop()
	var reason string
	select {
	case h := <-wt.got:
		return h, ""
	case <-t.C:
		reason = ErrTimeout
	case <-r.Context().Done():
		reason = ErrCanceled
	}
	l.mu.Lock()
	// Give up the wait: a starting instance no longer bound goes idle
	// when ready (it was bound to this request and may have been
	// rebound since, so look it up by its waiter).
	for _, inst := range l.byPod {
		if inst.bound == wt {
			inst.bound = nil
			l.mu.Unlock()
			return handoff{}, reason
		}
	}
	if _, ok := l.pending[wt]; ok {
		delete(l.pending, wt)
		l.mu.Unlock()
		return handoff{}, reason
	}
	for i, q := range l.queue {
		if q == wt {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
			l.mu.Unlock()
			return handoff{}, reason
		}
	}
	l.mu.Unlock()
	// Handed an instance as the wait ended: it is ours, use it.
	return <-wt.got, ""
}
