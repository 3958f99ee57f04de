package autoscaler

import "math"

// noWrite marks a window that has never been written.
const noWrite = math.MinInt64

// bucketWindow is Knative's time-bucketed metric window
// (pkg/autoscaler/aggregation): one bucket per second, several records in
// the same second summed, averaged linearly or with exponential weights.
//
// Times are bucket indices (seconds since the epoch), so recording and
// reading are integer arithmetic on a preallocated ring: O(1) amortised and
// allocation-free, which is what lets one core tick 10,000 revisions.
type bucketWindow struct {
	buckets    []float64
	firstWrite int64
	lastWrite  int64
	total      float64 // sum of the ring, kept incrementally
	// alpha > 0 selects weighted-exponential averaging.
	alpha float64
}

func newBucketWindow(n int, weighted bool) bucketWindow {
	w := bucketWindow{buckets: make([]float64, n), firstWrite: noWrite, lastWrite: noWrite}
	if weighted {
		// Knative: the newest bucket weighs alpha, the next alpha(1-alpha), ...
		// chosen so a full window carries 99.99% of the weight, but never
		// less than 0.2 so long windows still react.
		w.alpha = math.Max(1-math.Pow(1-0.9999, 1/float64(n)), 0.2)
	}
	return w
}

func (w *bucketWindow) slot(i int64) int {
	n := int64(len(w.buckets))
	if i >= 0 { // wall-clock and virtual seconds alike; one division
		return int(i % n)
	}
	return int(((i % n) + n) % n)
}

// record adds v to second sec. Seconds skipped since the last write are
// zeroed; after a whole window with no writes the window starts afresh, so
// a partly filled window is averaged over the time since its first write.
func (w *bucketWindow) record(sec int64, v float64) {
	if sec != w.lastWrite {
		n := int64(len(w.buckets))
		switch {
		case w.lastWrite == noWrite || sec-w.lastWrite >= n:
			for i := range w.buckets {
				w.buckets[i] = 0
			}
			w.total = 0
			w.firstWrite = sec
			w.lastWrite = sec
		case sec > w.lastWrite:
			for i := w.lastWrite + 1; i <= sec; i++ {
				s := w.slot(i)
				w.total -= w.buckets[s]
				w.buckets[s] = 0
			}
			w.lastWrite = sec
		case sec <= w.lastWrite-n:
			return // older than the window: nothing to add to
		}
	}
	w.buckets[w.slot(sec)] += v
	w.total += v
}

// empty reports Knative's IsEmpty: no write within the last window.
func (w *bucketWindow) empty(sec int64) bool {
	return w.lastWrite == noWrite || sec-w.lastWrite > int64(len(w.buckets))
}

// average is the window's value at second sec.
func (w *bucketWindow) average(sec int64) float64 {
	if w.lastWrite == noWrite {
		return 0
	}
	if w.alpha > 0 {
		return w.weightedAverage(sec)
	}
	n := int64(len(w.buckets))
	span := w.lastWrite - w.firstWrite + 1
	switch d := sec - w.lastWrite; {
	case d <= 0:
		return round6(w.total / float64(min(span, n)))
	case d < n:
		// No writes for d seconds: the buckets those seconds would have
		// overwritten are out of the window; drop them (Knative does the
		// same rather than counting the silent seconds as zeros).
		ret := w.total
		for i := w.lastWrite + 1; i <= sec; i++ {
			ret -= w.buckets[w.slot(i)]
		}
		return round6(ret / float64(min(span, n-d)))
	default:
		return 0
	}
}

// peak is the largest single second in the window at sec.
func (w *bucketWindow) peak(sec int64) float64 {
	if w.lastWrite == noWrite {
		return 0
	}
	n := int64(len(w.buckets))
	p := 0.0
	for i := max(sec-n+1, w.firstWrite); i <= min(sec, w.lastWrite); i++ {
		p = max(p, w.buckets[w.slot(i)])
	}
	return p
}

// round6 rounds to 6 decimals as Knative's linear average does, so a
// stable window of exact multiples of the target decides exactly.
func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

func (w *bucketWindow) weightedAverage(sec int64) float64 {
	n := int64(len(w.buckets))
	numB := n
	mult := w.alpha
	if d := sec - w.lastWrite; d > 0 {
		if d >= n {
			return 0
		}
		mult *= math.Pow(1-w.alpha, float64(d))
		numB -= d
	}
	ret := 0.0
	for i := int64(0); i < numB; i++ {
		ret += w.buckets[w.slot(w.lastWrite-i)] * mult
		mult *= 1 - w.alpha
	}
	return ret
}

// maxWindow is the running maximum over a trailing window of buckets, as
// Knative's scale-down delay keeps it (aggregation/max: an ascending-minima
// deque over 2 s buckets; several records in one bucket keep the largest).
type maxWindow struct {
	idx   []int64 // bucket indices of kept entries, oldest first
	val   []int
	first int
	n     int
}

func newMaxWindow(span, granularity int64) maxWindow {
	size := int((span + granularity - 1) / granularity)
	return maxWindow{idx: make([]int64, size), val: make([]int, size)}
}

func (m *maxWindow) at(i int) int { return (m.first + i) % len(m.idx) }

// record adds v in bucket index and returns the window's maximum.
func (m *maxWindow) record(index int64, v int) int {
	// Smaller or equal values before it can never be the maximum again.
	for m.n > 0 && m.val[m.at(m.n-1)] <= v {
		m.n--
	}
	// Entries a whole window old leave.
	for m.n > 0 && index-m.idx[m.first] >= int64(len(m.idx)) {
		m.first = (m.first + 1) % len(m.idx)
		m.n--
	}
	if m.n > 0 {
		if last := m.at(m.n - 1); m.idx[last] == index {
			v = max(v, m.val[last])
			m.n--
		}
	}
	j := m.at(m.n)
	m.idx[j], m.val[j] = index, v
	m.n++
	return m.val[m.first]
}

// zero reports a written window whose buckets are all zero and whose
// running total is too small to show in a rounded average, so that more
// zero records leave its averages at exactly 0.
func (w *bucketWindow) zero() bool {
	if w.lastWrite == noWrite || math.Abs(w.total) >= 1e-9 {
		return false
	}
	for _, b := range w.buckets {
		if b != 0 {
			return false
		}
	}
	return true
}

// slope is the least-squares trend of the last span seconds of the
// window's per-second values at sec, in value per second; 0 with fewer
// than two seconds.
func (w *bucketWindow) slope(sec int64, span int) float64 {
	if w.lastWrite == noWrite {
		return 0
	}
	n := int64(min(span, len(w.buckets)))
	lo, hi := max(sec-n+1, w.firstWrite), min(sec, w.lastWrite)
	m := float64(hi - lo + 1)
	if m < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := lo; i <= hi; i++ {
		x, y := float64(i-lo), w.buckets[w.slot(i)]
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	return (m*sxy - sx*sy) / (m*sxx - sx*sx)
}
