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
	bucket int64 // seconds per point
	// max is how many points the run's duration fills; rows past it (a
	// simulator's drain after the last arrival) would draw a misleading
	// empty last bucket.
	max     int
	points  []recPoint
	partial []byte
	header  bool
	// loadgen is set when the stream is the load generator's requests.csv
	// rather than the simulator's: a real run has no per-second arrival
	// rows, so its arrivals are counted from the requests themselves.
	loadgen bool
	// revisions names the revisions seen, in order; each point keeps
	// their sums at the same index.
	revisions []string
}

type recPoint struct {
	arrivals       int64
	desired, ready float64
	seconds        int64
	cold, failed   int64
	lat            [latBins]int64
	rev            []revSum
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
	return &Recorder{bucket: b, max: int(math.Ceil(durationSeconds / float64(b)))}
}

func (r *Recorder) point(sec int64) *recPoint {
	if sec < 0 {
		sec = 0
	}
	i := int(sec / r.bucket)
	if i >= max(r.max, 1) {
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

// Write consumes a requests.csv stream, placing each request at its
// arrival (intended send) time: the simulator's (id,function,arrival_s,
// start_s,end_s,latency_ms,cold,status) or the load generator's
// (seq,function,intended_ms,sent_ms,latency_ms,sent_latency_ms,status,
// bytes,instance,cold,init_ms,error), told apart by the header.
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
		if bytes.HasPrefix(line, []byte("seq,")) {
			r.loadgen = true
			return
		}
		if bytes.HasPrefix(line, []byte("id,")) {
			return
		}
	}
	if r.loadgen {
		r.loadgenRequest(line)
		return
	}
	// Function names may be quoted and contain commas, so count fields
	// from the end: status, cold, latency_ms, end_s, start_s, arrival_s.
	fields := bytes.Split(line, []byte{','})
	if len(fields) < 8 {
		return
	}
	k := len(fields)
	status := string(fields[k-1])
	arr, err1 := strconv.ParseFloat(string(fields[k-6]), 64)
	lat, err2 := strconv.ParseFloat(string(fields[k-3]), 64)
	if err1 != nil || err2 != nil {
		return
	}
	r.add(arr, lat, status == "ok" || status == "200", string(fields[k-2]) == "true" || string(fields[k-2]) == "1")
}

// loadgenRequest reads one load-generator row. Its first eight fields are
// numbers, never quoted; the instance id after them is a pod name, which
// the load generator quotes only if it holds a comma, and then the cold
// flag cannot be found reliably, so the row counts as warm.
func (r *Recorder) loadgenRequest(line []byte) {
	fields := bytes.SplitN(line, []byte{','}, 11)
	if len(fields) < 8 {
		return
	}
	intended, err1 := strconv.ParseFloat(string(fields[2]), 64)
	lat, err2 := strconv.ParseFloat(string(fields[4]), 64)
	status, err3 := strconv.Atoi(string(fields[6]))
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	cold := len(fields) > 9 && !bytes.HasPrefix(fields[8], []byte{'"'}) && string(fields[9]) == "true"
	p := r.add(intended/1000, lat, status >= 200 && status < 400, cold)
	if p != nil {
		p.arrivals++
	}
}

// add files one request arriving at arr seconds; only completed requests
// count towards latency, because a dropped request's time is the
// activator's timeout, not the function's.
func (r *Recorder) add(arr, latMs float64, ok, cold bool) *recPoint {
	p := r.point(int64(arr))
	if p == nil {
		return nil
	}
	if cold {
		p.cold++
	}
	if !ok {
		p.failed++
		return p
	}
	p.lat[latBin(latMs)]++
	return p
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
		pt.Cold, pt.Failed = p.cold, p.failed
		if p.seconds > 0 {
			pt.Desired = p.desired / float64(p.seconds)
			pt.Ready = p.ready / float64(p.seconds)
			pt.Revisions = r.revisionPoints(&p)
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
