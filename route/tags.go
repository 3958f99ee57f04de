package route

import (
	"strings"
	"time"

	"github.com/scalebench/scalebench/traffic"
)

// TagStream is traffic sent to a revision's tag URL. It starts when the
// revision is created (Start), because the tag's URL exists from then on,
// and its arrivals carry Function, which tells them from the function's
// own (the simulator uses -1-k for the k-th tag, the load generator the
// index of the tag's URL).
type TagStream struct {
	Pattern  traffic.Pattern
	Start    time.Duration
	Function int
}

// WithTags is a scenario's traffic with its tag streams merged in, in time
// order: the k-th tag's arrivals come from a stream of its own, seeded
// from the scenario's seed and k, so that tagged arrivals are independent
// of the main traffic and the same in every world. Without tags it is
// main itself.
func WithTags(main traffic.Pattern, tags []TagStream) traffic.Pattern {
	if len(tags) == 0 {
		return main
	}
	return &tagged{main: main, tags: tags}
}

type tagged struct {
	main traffic.Pattern
	tags []TagStream
}

func (t *tagged) Arrivals(seed int64, d time.Duration) traffic.Source {
	m := &mergedSource{}
	m.add(t.main.Arrivals(seed, d), 0, 0, false)
	for k, tg := range t.tags {
		if d > 0 && tg.Start >= d {
			continue
		}
		rest := d - tg.Start
		if d <= 0 {
			rest = d
		}
		m.add(tg.Pattern.Arrivals(seed^int64(0x5bd1e995*(k+1)), rest), tg.Start, tg.Function, true)
	}
	return m
}

func (t *tagged) Rate(at time.Duration) float64 {
	r := t.main.Rate(at)
	for _, tg := range t.tags {
		if at >= tg.Start {
			r += tg.Pattern.Rate(at - tg.Start)
		}
	}
	return r
}

func (t *tagged) String() string {
	parts := []string{t.main.String()}
	for _, tg := range t.tags {
		parts = append(parts, "tag "+tg.Pattern.String()+" from "+tg.Start.String())
	}
	return strings.Join(parts, " + ")
}

// mergedSource interleaves sources by arrival time; equal times go to the
// source added first, so the order is fixed.
type mergedSource struct {
	srcs  []traffic.Source
	heads []traffic.Arrival
	more  []bool
	shift []time.Duration
	fn    []int
	retag []bool // set the arrival's Function to fn
}

func (m *mergedSource) add(s traffic.Source, shift time.Duration, fn int, retag bool) {
	m.srcs = append(m.srcs, s)
	m.shift = append(m.shift, shift)
	m.fn = append(m.fn, fn)
	m.retag = append(m.retag, retag)
	a, ok := s.Next()
	m.heads = append(m.heads, a)
	m.more = append(m.more, ok)
}

func (m *mergedSource) Next() (traffic.Arrival, bool) {
	best := -1
	for i := range m.srcs {
		if m.more[i] && (best < 0 || m.heads[i].At+m.shift[i] < m.heads[best].At+m.shift[best]) {
			best = i
		}
	}
	if best < 0 {
		return traffic.Arrival{}, false
	}
	a := m.heads[best]
	a.At += m.shift[best]
	if m.retag[best] {
		a.Function = m.fn[best]
	}
	m.heads[best], m.more[best] = m.srcs[best].Next()
	return a, true
}
