package reports

import (
	"bytes"
	"math"
	"strconv"
)

// Recorder folds a run's per-second rows and its requests.csv stream into
// at most a few hundred chart points, in constant memory per point: a long
// simulation's millions of requests never sit in memory at once.
type Recorder struct {
	bucket  int64 // seconds per point
	points  []recPoint
	partial []byte
	header  bool
}

type recPoint struct {
	arrivals       int64
	desired, ready float64
	seconds        int64
	lat            [latBins]int64
}

// Latency bins grow by 10% from 0.1 ms: p95 per point is read to within
// 10%, plenty for a chart, for 8 bytes a bin.
const (
	latBins   = 160
	latBase   = 0.1
	latGrowth = 1.1
)

// NewRecorder prepares for a run of duration seconds drawn as about n points.
func NewRecorder(durationSeconds float64, n int) *Recorder {
	if n < 1 {
		n = 1
	}
	b := int64(math.Ceil(durationSeconds / float64(n)))
	if b < 1 {
		b = 1
	}
	return &Recorder{bucket: b}
}

func (r *Recorder) point(sec int64) *recPoint {
	if sec < 0 {
		sec = 0
	}
	i := int(sec / r.bucket)
	// A malformed time far in the future must not allocate gigabytes.
	if i > 1<<16 {
		return nil
	}
	for len(r.points) <= i {
		r.points = append(r.points, recPoint{})
	}
	return &r.points[i]
}

// Second records one function's row for the simulated second t; rows of
// several functions for the same second add up.
func (r *Recorder) Second(t, arrivals int64, desired, ready int) {
	p := r.point(t)
	if p == nil {
		return
	}
	p.arrivals += arrivals
	p.desired += float64(desired)
	p.ready += float64(ready)
}

// EndSecond marks the end of simulated second t (after all its functions'
// rows), so pod counts average over seconds, not rows.
func (r *Recorder) EndSecond(t int64) {
	if p := r.point(t); p != nil {
		p.seconds++
	}
}

// Write consumes requests.csv (id,function,arrival_s,start_s,end_s,
// latency_ms,cold,status), placing each completed request's latency at its
// arrival time.
func (r *Recorder) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			r.partial = append(r.partial, b...)
			break
		}
		line := b[:i]
		if len(r.partial) > 0 {
			r.partial = append(r.partial, line...)
			line = r.partial
		}
		r.request(line)
		r.partial = r.partial[:0]
		b = b[i+1:]
	}
	return n, nil
}

func (r *Recorder) request(line []byte) {
	if !r.header {
		r.header = true
		if bytes.HasPrefix(line, []byte("id,")) {
			return
		}
	}
	// Function names may be quoted and contain commas, so count fields
	// from the end: status, cold, latency_ms, end_s, start_s, arrival_s.
	fields := bytes.Split(line, []byte{','})
	if len(fields) < 8 {
		return
	}
	k := len(fields)
	status := string(fields[k-1])
	if status != "ok" && status != "200" {
		return
	}
	arr, err1 := strconv.ParseFloat(string(fields[k-6]), 64)
	lat, err2 := strconv.ParseFloat(string(fields[k-3]), 64)
	if err1 != nil || err2 != nil {
		return
	}
	p := r.point(int64(arr))
	if p == nil {
		return
	}
	p.lat[latBin(lat)]++
}

func latBin(ms float64) int {
	if ms <= latBase {
		return 0
	}
	i := int(math.Log(ms/latBase)/math.Log(latGrowth)) + 1
	return min(i, latBins-1)
}

// binUpper is the upper edge of bin i in ms.
func binUpper(i int) float64 { return latBase * math.Pow(latGrowth, float64(i)) }

// Points returns the chart points.
func (r *Recorder) Points() []Point {
	out := make([]Point, 0, len(r.points))
	for i, p := range r.points {
		pt := Point{T: float64(int64(i) * r.bucket), LatencyP95: math.NaN()}
		pt.RPS = float64(p.arrivals) / float64(r.bucket)
		if p.seconds > 0 {
			pt.Desired = p.desired / float64(p.seconds)
			pt.Ready = p.ready / float64(p.seconds)
		}
		var total int64
		for _, c := range p.lat {
			total += c
		}
		if total > 0 {
			want := int64(math.Ceil(0.95 * float64(total)))
			var cum int64
			for j, c := range p.lat {
				cum += c
				if cum >= want {
					pt.LatencyP95 = binUpper(j)
					break
				}
			}
		}
		out = append(out, pt)
	}
	return out
}
