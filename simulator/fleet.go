package simulator

import (
	"bufio"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// A fleet run simulates each function of a many-function scenario in an
// engine of its own. Functions do not interact in the model (each has its
// own revision, pods, queues and random streams, and traffic.Splitter
// gives each its own arrivals), so they can run apart and in parallel. The
// engines advance together in stretches of simulated time (chunks); after
// each chunk the per-function outputs are merged in a fixed order, so the
// output is the same whatever the number of workers:
//
//   - timeseries rows: by second, then function, as the single engine
//     writes them;
//   - requests.csv rows: by completion time, then function, then the
//     function's own order;
//   - pods alive at once (max_pods): changes in time order, functions in
//     index order at equal times.
//
// The last rule and the second are the only places where a fleet run can
// differ from one engine running every function: that engine orders
// simultaneous events of different functions by when they were scheduled.
//
// The platform's pod capacity (Options.MaxPods) is the one thing functions
// share. Each engine has the whole capacity; the merged pod log bounds how
// many pods could have existed at once under any order of simultaneous
// changes, and if that bound ever reaches the capacity (or an engine was
// refused a pod) the fleet run is abandoned and the scenario runs in one
// engine, where the capacity binds as it should.
//
// A function settled at zero (no pods, no requests, its policy an
// autoscaler.Idler that reports Settled, or on the Lambda path, where no
// policy is recorded or ticked) skips the seconds until its next arrival
// in O(1) instead of a Record each second and a Tick each interval; most
// of a fleet's functions spend most of the day there.

// fleetChunk is how far in simulated time the engines go between merges
// when nothing is written per function: long enough that merging costs
// nothing, short enough that progress shows and the pod log stays small.
const fleetChunk = 600 * second

// fleetRowsPerChunk bounds the rows buffered per chunk when a time series
// is written per function: the chunk shrinks as the fleet grows. A
// variable so that a test can make chunks short.
var fleetRowsPerChunk = 100_000

// fleetable reports whether sc's functions can run apart: several
// functions and traffic that splits into exactly their streams.
func fleetable(sc *scenarios.Scenario) (traffic.Splitter, bool) {
	sp, ok := sc.Traffic.(traffic.Splitter)
	if !ok || len(sc.Functions) < 2 {
		return nil, false
	}
	// A function's revisions share its route; their engine is one.
	for _, f := range sc.Functions {
		if len(f.Revisions) > 0 {
			return nil, false
		}
	}
	if _, ok := sp.FunctionArrivals(sc.Seed, sc.Duration, 0); !ok {
		return nil, false
	}
	// Traffic for more functions than the scenario has is an input error
	// the single engine reports at the first such arrival.
	if _, more := sp.FunctionArrivals(sc.Seed, sc.Duration, len(sc.Functions)); more {
		return nil, false
	}
	return sp, true
}

// fleetFn is one function's engine and its outputs for the current chunk.
type fleetFn struct {
	i      int
	e      *engine
	f      *fnState
	src    traffic.Source
	next   traffic.Arrival
	more   bool
	lastAt time.Duration
	idler  autoscaler.Idler
	err    error

	ts   *lineBuf // timeseries rows
	req  *lineBuf // requests.csv rows
	ends []int64  // each request row's end time
	secs []Second
	pods []podChange
	acc  *fleetAcc // the running slot's fleet-wide sums
}

type podChange struct {
	at    int64
	delta int32
}

// lineBuf collects CSV rows in memory until the chunk is merged.
type lineBuf struct{ b []byte }

func (l *lineBuf) Write(p []byte) (int, error) { l.b = append(l.b, p...); return len(p), nil }

// fleetSlot is a worker slot's scratch state: histograms (merged at the
// end, which only adds counts) and fleet-wide sums (integers, so the order
// of addition cannot show).
type fleetSlot struct {
	all, cold *results.Histogram
	acc       fleetAcc
}

// fleetAcc sums one chunk's seconds over the functions that ran in a slot.
type fleetAcc struct {
	from int64 // T of the chunk's first second
	rows []fleetRow
}

type fleetRow struct {
	arrivals, concNS, queued, desired, ready, pods, panic int64
}

func (a *fleetAcc) reset(from int64, n int) {
	a.from = from
	a.rows = append(a.rows[:0], make([]fleetRow, n)...)
}

func (a *fleetAcc) add(s *Second) {
	r := &a.rows[s.T-a.from]
	r.arrivals += s.Arrivals
	// Concurrency is a request-nanosecond integral over one second, so
	// this recovers it exactly and the sum is an integer.
	r.concNS += int64(math.Round(s.Concurrency * float64(second)))
	r.queued += int64(s.Queued)
	r.desired += int64(s.Desired)
	r.ready += int64(s.Ready)
	r.pods += int64(s.Pods)
	if s.Panic {
		r.panic++
	}
}

func (r *fleetRow) addRow(o *fleetRow) {
	r.arrivals += o.arrivals
	r.concNS += o.concNS
	r.queued += o.queued
	r.desired += o.desired
	r.ready += o.ready
	r.pods += o.pods
	r.panic += o.panic
}

const fleetHeader = "t,arrivals,in_flight,queued,desired,ready,pods,panic\n"

func appendFleetRow(b []byte, t int64, r *fleetRow) []byte {
	b = strconv.AppendInt(b, t, 10)
	for _, v := range []int64{r.arrivals} {
		b = append(b, ',')
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, ',')
	b = strconv.AppendFloat(b, float64(r.concNS)/float64(second), 'f', 3, 64)
	for _, v := range []int64{r.queued, r.desired, r.ready, r.pods, r.panic} {
		b = append(b, ',')
		b = strconv.AppendInt(b, v, 10)
	}
	return append(b, '\n')
}

// fleetSeries sums the rows of the single engine, which come second by
// second, into fleet rows: the FleetTimeseries of a run that is not split.
type fleetSeries struct {
	w    *bufio.Writer
	t    int64
	row  fleetRow
	have bool
	buf  []byte
}

func (s *fleetSeries) add(r Second) {
	if s.have && r.T != s.t {
		s.flush()
	}
	s.t, s.have = r.T, true
	a := fleetAcc{from: r.T, rows: []fleetRow{{}}}
	a.add(&r)
	s.row.addRow(&a.rows[0])
}

func (s *fleetSeries) flush() {
	if s.have {
		s.buf = appendFleetRow(s.buf[:0], s.t, &s.row)
		s.w.Write(s.buf)
	}
	s.row, s.have = fleetRow{}, false
}

// runFleet is Run for a scenario whose functions run apart.
// fits is false when the pod capacity could have bound: the caller then
// runs the scenario in one engine, resuming the outputs (resume) where the
// fleet run left them.
func runFleet(ctx context.Context, sc *scenarios.Scenario, pol scenarios.Policy, opt Options, sp traffic.Splitter, pool *Pool) (res *Result, fits bool, resume *written, err error) {
	wallStart := time.Now()
	podLimit := opt.MaxPods
	if podLimit <= 0 {
		podLimit = DefaultMaxPods
	}
	perFunction := opt.Timeseries != nil || opt.Series != nil || opt.Requests != nil
	fns := make([]*fleetFn, len(sc.Functions))
	for i, fn := range sc.Functions {
		f, err := newFunction(i, fn, sc, pol, opt)
		if err != nil {
			return nil, true, nil, err
		}
		x := &fleetFn{i: i, f: f}
		f.idx = 0 // the only function of its engine
		e := &engine{
			fns:      []*fnState{f},
			multi:    true,
			duration: math.MaxInt64, // the fleet decides when to stop
			buf:      make([]byte, 0, 128),
			podLimit: podLimit,
		}
		e.podLog = func(now int64, delta int) { x.pods = append(x.pods, podChange{now, int32(delta)}) }
		if opt.Timeseries != nil {
			x.ts = &lineBuf{}
			e.tsW = bufio.NewWriterSize(x.ts, 16)
		}
		if opt.Requests != nil {
			x.req = &lineBuf{}
			e.reqW = bufio.NewWriterSize(x.req, 16)
			e.rowEnd = func(end int64) { x.ends = append(x.ends, end) }
		}
		if opt.Series != nil || opt.FleetTimeseries != nil {
			e.series = func(s Second) {
				s.Function = x.i
				if opt.Series != nil {
					x.secs = append(x.secs, s)
				}
				if opt.FleetTimeseries != nil {
					x.acc.add(&s)
				}
			}
		}
		x.e = e
		x.idler, _ = f.pol.(autoscaler.Idler)
		src, _ := sp.FunctionArrivals(sc.Seed, sc.Duration, i)
		x.src = src
		fns[i] = x
	}

	slots := make([]fleetSlot, pool.slots())
	for s := range slots {
		slots[s].all, slots[s].cold = results.NewHistogram(), results.NewHistogram()
	}
	m := &fleetMerge{fns: fns, multi: true}
	out := &written{}
	if opt.Timeseries != nil {
		m.tsW = bufio.NewWriterSize(out.ts.wrap(opt.Timeseries), 64<<10)
		m.tsW.WriteString("t,function,arrivals,in_flight,queued,desired,ready,pods,panic\n")
	}
	if opt.Requests != nil {
		m.reqW = bufio.NewWriterSize(out.req.wrap(opt.Requests), 64<<10)
		m.reqW.WriteString("id,function,arrival_s,start_s,end_s,latency_ms,cold,status\n")
	}
	if opt.FleetTimeseries != nil {
		m.fleetW = bufio.NewWriterSize(out.fleet.wrap(opt.FleetTimeseries), 64<<10)
		m.fleetW.WriteString(fleetHeader)
	}
	if opt.Series != nil {
		m.series = func(r Second) { out.series++; opt.Series(r) }
	}

	// The engines deploy at time 0 before any chunk, as the single engine
	// does for all functions first.
	pool.each(len(fns), func(slot, i int) {
		x := fns[i]
		x.e.all, x.e.cold = slots[slot].all, slots[slot].cold
		x.e.start()
		x.next, x.more = x.src.Next()
	})

	chunk := fleetChunk
	if perFunction {
		chunk = min(fleetChunk, max(1, int64(fleetRowsPerChunk/len(fns)))*second)
	}
	duration := int64(sc.Duration)
	end := (duration + second - 1) / second * second // the first second the run may stop at
	wallNext := wallStart.Add(time.Second)
	for from := int64(0); ; {
		limit := from + chunk
		if from >= end {
			limit = from + second // draining: stop at the first second with nothing left
		} else if limit > end {
			limit = end
		}
		if opt.FleetTimeseries != nil {
			for s := range slots {
				slots[s].acc.reset(from/second, int((limit-from)/second))
			}
		}
		pool.each(len(fns), func(slot, i int) {
			x := fns[i]
			if x.err != nil || ctx.Err() != nil {
				return
			}
			x.e.all, x.e.cold = slots[slot].all, slots[slot].cold
			x.acc = &slots[slot].acc
			x.err = x.runUntil(ctx, limit)
		})
		if err := ctx.Err(); err != nil {
			return nil, true, nil, err
		}
		for _, x := range fns {
			if x.err != nil {
				return nil, true, nil, x.err
			}
		}
		// The pods first: a chunk in which the capacity could have bound
		// is not written.
		m.mergePods()
		if m.bound >= podLimit {
			return nil, false, out, nil
		}
		for _, x := range fns {
			if x.e.podsRefused > 0 {
				return nil, false, out, nil
			}
		}
		m.merge(from, limit, slots)
		from = limit
		if opt.Progress != nil {
			if now := time.Now(); now.After(wallNext) {
				wallNext = now.Add(time.Second)
				opt.Progress(time.Duration(min(limit, duration)), sc.Duration)
			}
		}
		if limit >= end {
			var outstanding int64
			for _, x := range fns {
				outstanding += x.e.outstanding
			}
			if outstanding == 0 || limit >= duration+int64(DrainLimit) {
				break
			}
		}
	}
	for _, w := range []*bufio.Writer{m.tsW, m.reqW, m.fleetW} {
		if w != nil {
			if err := w.Flush(); err != nil {
				return nil, true, nil, fmt.Errorf("simulator: write output: %w", err)
			}
		}
	}

	all, cold := results.NewHistogram(), results.NewHistogram()
	for s := range slots {
		all.Merge(slots[s].all)
		cold.Merge(slots[s].cold)
	}
	states := make([]*fnState, len(fns))
	t := runTotals{maxPods: m.maxPods, podLimit: podLimit}
	for i, x := range fns {
		states[i] = x.f
		t.outstanding += x.e.outstanding
	}
	return summarise(sc, pol, states, all, cold, t, wallStart), true, nil, nil
}

// runUntil advances the function's engine through the second that ends at
// limit and stops before anything else at limit, where the single engine
// might stop the run.
func (x *fleetFn) runUntil(ctx context.Context, limit int64) error {
	e, f := x.e, x.f
	// ctx is checked every 64k events, as the single engine does, so an
	// interrupt ends even a busy function's chunk.
	steps := 0
	for {
		if steps++; steps&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if x.more && int64(x.next.At) < e.h.top().at {
			if x.next.At < x.lastAt {
				return badInput("traffic: arrival at %v comes before the previous one at %v; want arrivals in time order", x.next.At, x.lastAt)
			}
			x.lastAt = x.next.At
			e.arrive(f, int64(x.next.At), int64(x.next.Work))
			x.next, x.more = x.src.Next()
			continue
		}
		ev := e.h.pop()
		if ev.kind != evSecond {
			e.handle(&ev)
			if ev.kind == evTick {
				x.skipIdle(limit)
			}
			continue
		}
		e.second(ev.at, !x.more)
		if ev.at >= limit {
			return nil
		}
		x.skipIdle(limit)
	}
}

// skipIdle jumps a function settled at zero to the last whole second before
// its next arrival (or to limit): the Records and Ticks in between would
// change nothing, and their time-series rows are all zeros. On the Lambda
// path the policy is neither recorded nor ticked (the platform sizes the
// revision per request), so a function there with no instance and nothing
// pending but its second is settled whatever its policy.
func (x *fleetFn) skipIdle(limit int64) {
	e, f := x.e, x.f
	pending := 2 // the second and the tick
	if f.lambda {
		pending = 1 // the second
	}
	if x.idler == nil && !f.lambda || f.nPods() != 0 || f.inflight != 0 || f.waiting() != 0 || f.desired != 0 ||
		f.panic || f.tickNowPending || e.h.len() != pending {
		return
	}
	sec, tick := &e.h.ev[0], (*event)(nil)
	if pending == 2 {
		tick = &e.h.ev[1]
		if sec.kind != evSecond {
			sec, tick = tick, sec
		}
		if tick.kind != evTick {
			return
		}
	}
	if sec.kind != evSecond {
		return
	}
	to := limit
	if x.more {
		to = min(to, int64(x.next.At)/second*second)
	}
	if sec.at >= to || !f.lambda && !x.idler.Settled() {
		return
	}
	for t := sec.at; t < to; t += second {
		if e.tsW != nil || e.series != nil {
			row := Second{T: t/second - 1, Name: f.name, Desired: f.desired, Panic: f.panic}
			if e.tsW != nil {
				e.seriesRow(&row)
			}
			if e.series != nil {
				e.series(row)
			}
		}
	}
	f.last = to - second
	if tick == nil {
		e.h.ev = e.h.ev[:0]
		e.h.push(event{at: to, kind: evSecond})
		return
	}
	var lastTick time.Time
	lastRecord := epoch.Add(time.Duration(to - second))
	interval := int64(f.pol.Interval())
	nextTick := tick.at
	if tick.at < to {
		n := (to - tick.at + interval - 1) / interval
		nextTick = tick.at + n*interval
		lastTick = epoch.Add(time.Duration(nextTick - interval))
	}
	x.idler.SkipIdle(lastRecord, lastTick)
	// sec and tick point into the heap: rebuilt only now.
	e.h.ev = e.h.ev[:0]
	e.h.push(event{at: to, kind: evSecond})
	e.h.push(event{at: nextTick, kind: evTick, fn: f.idx})
}

// fleetMerge writes each chunk's per-function outputs in the fixed order.
type fleetMerge struct {
	fns                []*fleetFn
	multi              bool
	tsW, reqW, fleetW  *bufio.Writer
	series             func(Second)
	totalPods, maxPods int
	// bound is the most pods that could have existed at once whatever
	// the order of simultaneous changes: every creation of an instant
	// counted before its removals.
	bound int
	buf   []byte
}

func (m *fleetMerge) merge(from, limit int64, slots []fleetSlot) {
	// Time series rows: every function has one per second of the chunk.
	if m.tsW != nil {
		pos := make([]int, len(m.fns))
		for range (limit - from) / second {
			for i, x := range m.fns {
				b := x.ts.b[pos[i]:]
				n := 0
				for n < len(b) && b[n] != '\n' {
					n++
				}
				m.tsW.Write(b[:min(n+1, len(b))])
				pos[i] += n + 1
			}
		}
		for _, x := range m.fns {
			x.ts.b = x.ts.b[:0]
		}
	}
	if m.series != nil {
		for r := 0; ; r++ {
			wrote := false
			for _, x := range m.fns {
				if r < len(x.secs) {
					m.series(x.secs[r])
					wrote = true
				}
			}
			if !wrote {
				break
			}
		}
		for _, x := range m.fns {
			x.secs = x.secs[:0]
		}
	}
	if m.fleetW != nil {
		for k := range (limit - from) / second {
			var r fleetRow
			for s := range slots {
				r.addRow(&slots[s].acc.rows[k])
			}
			m.buf = appendFleetRow(m.buf[:0], from/second+k, &r)
			m.fleetW.Write(m.buf)
		}
	}
	if m.reqW != nil {
		m.mergeRequests()
	}
}

// mergeRequests writes the chunk's request rows by end time, then function.
func (m *fleetMerge) mergeRequests() {
	h := &rowHeap{}
	for i, x := range m.fns {
		if len(x.req.b) > 0 {
			h.items = append(h.items, rowCursor{fn: i, b: x.req.b, ends: x.ends})
		}
	}
	for k := range h.items {
		h.items[k].load()
	}
	heap.Init(h)
	for h.Len() > 0 {
		c := &h.items[0]
		m.reqW.Write(c.row)
		c.b = c.b[len(c.row):]
		if len(c.b) == 0 {
			heap.Pop(h)
			continue
		}
		c.load()
		heap.Fix(h, 0)
	}
	for _, x := range m.fns {
		x.req.b, x.ends = x.req.b[:0], x.ends[:0]
	}
}

// mergePods replays the chunk's pod changes in time order, functions in
// index order at equal times, for the fleet's most pods alive at once.
func (m *fleetMerge) mergePods() {
	h := &podHeap{}
	for i, x := range m.fns {
		if len(x.pods) > 0 {
			h.items = append(h.items, podCursor{fn: i, log: x.pods})
		}
	}
	heap.Init(h)
	at, base, created := int64(-1), 0, 0
	for h.Len() > 0 {
		c := &h.items[0]
		if c.log[0].at != at {
			at, base, created = c.log[0].at, m.totalPods, 0
		}
		if d := int(c.log[0].delta); d > 0 {
			created += d
			m.bound = max(m.bound, base+created)
		}
		m.totalPods += int(c.log[0].delta)
		m.maxPods = max(m.maxPods, m.totalPods)
		c.log = c.log[1:]
		if len(c.log) == 0 {
			heap.Pop(h)
			continue
		}
		heap.Fix(h, 0)
	}
	for _, x := range m.fns {
		x.pods = x.pods[:0]
	}
}

// rowCursor is the next request row of one function's chunk.
type rowCursor struct {
	fn   int
	b    []byte
	row  []byte
	ends []int64
	end  int64
}

func (c *rowCursor) load() {
	n := 0
	for n < len(c.b) && c.b[n] != '\n' {
		n++
	}
	c.row = c.b[:min(n+1, len(c.b))]
	c.end, c.ends = c.ends[0], c.ends[1:]
}

type rowHeap struct{ items []rowCursor }

func (h *rowHeap) Len() int { return len(h.items) }
func (h *rowHeap) Less(a, b int) bool {
	x, y := &h.items[a], &h.items[b]
	return x.end < y.end || x.end == y.end && x.fn < y.fn
}
func (h *rowHeap) Swap(a, b int) { h.items[a], h.items[b] = h.items[b], h.items[a] }
func (h *rowHeap) Push(x any)    { h.items = append(h.items, x.(rowCursor)) }
func (h *rowHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

type podCursor struct {
	fn  int
	log []podChange
}

type podHeap struct{ items []podCursor }

func (h *podHeap) Len() int { return len(h.items) }
func (h *podHeap) Less(a, b int) bool {
	x, y := &h.items[a], &h.items[b]
	return x.log[0].at < y.log[0].at || x.log[0].at == y.log[0].at && x.fn < y.fn
}
func (h *podHeap) Swap(a, b int) { h.items[a], h.items[b] = h.items[b], h.items[a] }
func (h *podHeap) Push(x any)    { h.items = append(h.items, x.(podCursor)) }
func (h *podHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

var _ io.Writer = (*lineBuf)(nil)

// written is what a fleet run has handed its caller when it gives way to
// one engine: bytes of each output and Series calls. Up to the chunk in
// which the pod capacity could first bind, one engine writes the same, so
// it skips that much and goes on; a hash of the skipped bytes checks it.
type written struct {
	ts, req, fleet countedWriter
	series         int
}

type countedWriter struct {
	n int64
	h uint64
}

const fnvOffset, fnvPrime = 14695981039346656037, 1099511628211

func (c *countedWriter) wrap(w io.Writer) io.Writer {
	c.h = fnvOffset
	return writerFunc(func(p []byte) (int, error) {
		n, err := w.Write(p)
		for _, b := range p[:n] {
			c.h = (c.h ^ uint64(b)) * fnvPrime
		}
		c.n += int64(n)
		return n, err
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// skipWriter drops the first n bytes written to w, checking them against
// the hash of what the fleet run wrote.
type skipWriter struct {
	w        io.Writer
	n        int64
	h, want  uint64
	mismatch bool
}

func (c *countedWriter) resume(w io.Writer) *skipWriter {
	return &skipWriter{w: w, n: c.n, h: fnvOffset, want: c.h}
}

func (s *skipWriter) Write(p []byte) (int, error) {
	k := int(min(s.n, int64(len(p))))
	for _, b := range p[:k] {
		s.h = (s.h ^ uint64(b)) * fnvPrime
	}
	s.n -= int64(k)
	if k > 0 && s.n == 0 && s.h != s.want {
		s.mismatch = true
	}
	if _, err := s.w.Write(p[k:]); err != nil {
		return k, err
	}
	return len(p), nil
}

// resumeOptions gives one engine the caller's outputs past what the fleet
// run wrote; check reports, after the run, whether the skipped part was
// the same.
func (o *written) resumeOptions(opt Options) (Options, func() error) {
	var skips []*skipWriter
	for _, c := range []struct {
		w  *io.Writer
		cw *countedWriter
	}{{&opt.Timeseries, &o.ts}, {&opt.Requests, &o.req}, {&opt.FleetTimeseries, &o.fleet}} {
		if *c.w != nil {
			sw := c.cw.resume(*c.w)
			skips = append(skips, sw)
			*c.w = sw
		}
	}
	if user, k := opt.Series, o.series; user != nil {
		opt.Series = func(r Second) {
			if k > 0 {
				k--
				return
			}
			user(r)
		}
	}
	return opt, func() error {
		for _, s := range skips {
			if s.mismatch || s.n > 0 {
				return errors.New("simulator: the functions had to be simulated together once the platform's pod capacity could bind, and the output already written differs from theirs; rerun with a larger capacity or without the time series and request log")
			}
		}
		return nil
	}
}
