package traffic

import (
	"time"

	"github.com/scalebench/scalebench/dist"
)

var _ Pattern = (*Trace)(nil)

// TraceFunction describes one function of a trace, enough for a scenario
// to build the revision that serves it.
type TraceFunction struct {
	// Name identifies the function: the HashFunction of the 2019 trace,
	// "app/func" for 2021, "sparse-0007" for a synthetic trace.
	Name string
	// App is the application (HashApp, app) the function belongs to.
	App string
	// Trigger is the 2019 trigger (http, timer, event, queue, ...), or "".
	Trigger string
	// MeanRate is the function's mean request rate over the replay, in
	// requests per second of replay time (after compression and scaling).
	MeanRate float64
	// Duration is the per-request execution time distribution, nil when
	// the trace has none for this function.
	Duration dist.Dist
	// MemoryMB is the function's memory, 0 when unknown.
	MemoryMB float64
}

// Trace replays many functions' arrivals; Arrival.Function indexes
// Functions().
type Trace struct {
	spec   string
	funcs  []TraceFunction
	length time.Duration
	model  traceModel
}

// traceModel is what differs between trace kinds.
type traceModel interface {
	arrivals(seed int64, end time.Duration) Source
	rate(t time.Duration) float64
}

// Functions lists the trace's functions in Arrival.Function order.
func (t *Trace) Functions() []TraceFunction { return append([]TraceFunction(nil), t.funcs...) }

// Length is how long the replay lasts (after compression); a synthetic
// trace, which has no end, reports 0.
func (t *Trace) Length() time.Duration { return t.length }

// Arrivals merges the functions' streams in time order.
func (t *Trace) Arrivals(seed int64, duration time.Duration) Source {
	return t.model.arrivals(seed, endOf(duration))
}

// FunctionArrivals is function fn's share of Arrivals(seed, duration):
// exactly its arrivals, in the same order. Every function draws from random
// streams of its own, so its arrivals do not depend on the others', which
// is what lets a simulator run a fleet's functions apart, in parallel. ok is
// false for a trace that cannot be split (azure2021 replays rows in time
// order across functions).
func (t *Trace) FunctionArrivals(seed int64, duration time.Duration, fn int) (Source, bool) {
	sm, ok := t.model.(splitModel)
	if !ok || fn < 0 || fn >= len(t.funcs) {
		return nil, false
	}
	return sm.functionArrivals(seed, endOf(duration), fn), true
}

// splitModel is a trace model whose functions' streams are independent.
type splitModel interface {
	functionArrivals(seed int64, end time.Duration, fn int) Source
}

// Rate is the planned rate summed over functions.
func (t *Trace) Rate(at time.Duration) float64 { return t.model.rate(at) }

// String is the spec that loads this trace again.
func (t *Trace) String() string { return t.spec }

// streamSet yields each function's next arrival; the merger calls it
// with the index of the function whose pending arrival it just emitted.
type streamSet interface {
	advance(fn int) (Arrival, bool)
}

// oneStream is one function's stream of a streamSet, cut at end as the
// merger cuts it.
type oneStream struct {
	set  streamSet
	fn   int
	end  time.Duration
	done bool
}

func (o *oneStream) Next() (Arrival, bool) {
	if o.done {
		return Arrival{}, false
	}
	a, ok := o.set.advance(o.fn)
	if !ok || a.At >= o.end {
		o.done = true
		return Arrival{}, false
	}
	return a, true
}

// merger interleaves per-function streams with a binary heap keyed by each
// function's pending arrival: O(log n) per arrival, no allocation after
// start, and memory proportional to the number of functions, not requests.
type merger struct {
	set     streamSet
	pending []Arrival
	heap    []int32
	end     time.Duration
}

func newMerger(set streamSet, n int, end time.Duration) *merger {
	m := &merger{set: set, pending: make([]Arrival, n), heap: make([]int32, 0, n), end: end}
	for i := range n {
		if a, ok := set.advance(i); ok && a.At < end {
			m.pending[i] = a
			m.heap = append(m.heap, int32(i))
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m
}

func (m *merger) Next() (Arrival, bool) {
	if len(m.heap) == 0 {
		return Arrival{}, false
	}
	fn := m.heap[0]
	a := m.pending[fn]
	if na, ok := m.set.advance(int(fn)); ok && na.At < m.end {
		m.pending[fn] = na
	} else {
		last := len(m.heap) - 1
		m.heap[0] = m.heap[last]
		m.heap = m.heap[:last]
	}
	m.down(0)
	return a, true
}

// less orders by time, then by function index so that simultaneous
// arrivals come out in the same order on every run.
func (m *merger) less(i, j int) bool {
	a, b := m.heap[i], m.heap[j]
	ta, tb := m.pending[a].At, m.pending[b].At
	return ta < tb || ta == tb && a < b
}

func (m *merger) down(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && m.less(r, l) {
			c = r
		}
		if !m.less(c, i) {
			return
		}
		m.heap[i], m.heap[c] = m.heap[c], m.heap[i]
		i = c
	}
}
