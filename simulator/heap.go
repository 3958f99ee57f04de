package simulator

// Event kinds. The kind is also the tie-break at equal times: completions
// free slots before a pod's readiness is seen, and both are settled before
// the second's Record and the Tick that follows it.
const (
	evComplete uint8 = iota
	evPodReady
	evRelease
	evTimeout
	evExpire
	evSecond
	evTick
	evDeploy // a revision is created
	evRoute  // a split step falls due, or a gradual rollout steps
)

// event is a value in the heap: no per-event allocation. Fields beyond
// at/key/kind are per-kind payload.
type event struct {
	at   int64  // virtual nanoseconds since the start
	key  uint64 // kind<<56 | sequence: FIFO among equal times and kinds
	kind uint8
	cold bool
	fn   int32
	pod  int32
	arr  int64 // request arrival (complete, release); pod id (ready, expire); 1 = immediate (tick)
	aux  int64 // request start (complete); service work (release)
	id   int64 // request number
}

// eventHeap is a typed binary min-heap on (at, key); a typed heap avoids
// container/heap's interface boxing on the hot path.
type eventHeap struct {
	ev  []event
	seq uint64
}

func (h *eventHeap) len() int { return len(h.ev) }

func (h *eventHeap) push(e event) {
	h.seq++
	e.key = uint64(e.kind)<<56 | h.seq
	h.ev = append(h.ev, e)
	i := len(h.ev) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&h.ev[i], &h.ev[p]) {
			break
		}
		h.ev[i], h.ev[p] = h.ev[p], h.ev[i]
		i = p
	}
}

func (h *eventHeap) top() *event { return &h.ev[0] }

func (h *eventHeap) pop() event {
	e := h.ev[0]
	n := len(h.ev) - 1
	h.ev[0] = h.ev[n]
	h.ev = h.ev[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && less(&h.ev[r], &h.ev[l]) {
			m = r
		}
		if !less(&h.ev[m], &h.ev[i]) {
			break
		}
		h.ev[i], h.ev[m] = h.ev[m], h.ev[i]
		i = m
	}
	return e
}

func less(a, b *event) bool {
	return a.at < b.at || a.at == b.at && a.key < b.key
}

// waiting is a request held in a queue.
type waiting struct {
	arr      int64
	work     int64
	id       int64
	deadline int64
	buffered bool // counts against the activator's queue depth
}

// ring is a growable FIFO of waiting requests; it keeps its storage, so a
// long run reuses the same memory.
type ring struct {
	buf  []waiting
	head int
	n    int
}

func (r *ring) len() int { return r.n }

func (r *ring) push(w waiting) {
	if r.n == len(r.buf) {
		nb := make([]waiting, max(16, 2*len(r.buf)))
		for i := 0; i < r.n; i++ {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = w
	r.n++
}

func (r *ring) front() *waiting { return &r.buf[r.head] }

func (r *ring) pop() waiting {
	w := r.buf[r.head]
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return w
}
