package results

import (
	"fmt"
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency resolution: 1 µs to 1 hour at 3 significant figures (0.1% error),
// about 40 KB per histogram.
const (
	minLatencyMicros = 1
	maxLatencyMicros = int64(time.Hour / time.Microsecond)
	sigFigs          = 3
)

// Histogram is a streaming latency histogram (HDR) in microseconds.
type Histogram struct {
	h *hdrhistogram.Histogram
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.New(minLatencyMicros, maxLatencyMicros, sigFigs)}
}

// Record adds one latency. Values outside the range are clamped, so a
// pathological latency is still counted.
func (h *Histogram) Record(d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < minLatencyMicros {
		us = minLatencyMicros
	}
	if us > maxLatencyMicros {
		us = maxLatencyMicros
	}
	_ = h.h.RecordValue(us)
}

// RecordN adds n equal latencies.
func (h *Histogram) RecordN(d time.Duration, n int64) {
	us := int64(d / time.Microsecond)
	us = max(minLatencyMicros, min(us, maxLatencyMicros))
	_ = h.h.RecordValues(us, n)
}

// Merge adds other's counts.
func (h *Histogram) Merge(other *Histogram) { h.h.Merge(other.h) }

// Count is the number of recorded latencies.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile returns the q-quantile (0..1) as a duration.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.h.ValueAtQuantile(q*100)) * time.Microsecond
}

// Max is the largest recorded latency (at histogram resolution).
func (h *Histogram) Max() time.Duration {
	return time.Duration(h.h.Max()) * time.Microsecond
}

// Mean is the mean latency.
func (h *Histogram) Mean() time.Duration {
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// Percentiles summarises the histogram in milliseconds.
func (h *Histogram) Percentiles() Percentiles {
	ms := func(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }
	return Percentiles{
		P50:  ms(h.Quantile(0.50)),
		P95:  ms(h.Quantile(0.95)),
		P99:  ms(h.Quantile(0.99)),
		Max:  ms(h.Max()),
		Mean: ms(h.Mean()),
	}
}

// Buckets returns the histogram as [microseconds, count] pairs of its
// non-empty buckets, lowest first: the compact form stored in summaries.
func (h *Histogram) Buckets() [][2]int64 {
	var out [][2]int64
	for _, b := range h.h.Distribution() {
		if b.Count > 0 {
			out = append(out, [2]int64{b.To, b.Count})
		}
	}
	return out
}

// HistogramFromBuckets rebuilds a histogram from Buckets output.
func HistogramFromBuckets(buckets [][2]int64) (*Histogram, error) {
	h := NewHistogram()
	for _, b := range buckets {
		if b[0] < 0 || b[1] < 0 {
			return nil, fmt.Errorf("histogram bucket %v: want non-negative value and count", b)
		}
		v := max(minLatencyMicros, min(b[0], maxLatencyMicros))
		if err := h.h.RecordValues(v, b[1]); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
