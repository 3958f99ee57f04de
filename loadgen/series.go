package loadgen

import (
	"bufio"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/scalebench/scalebench/traffic"
)

// Second is one elapsed second of an attack, for charts of a run over time.
type Second struct {
	// T is the second's start, in whole seconds since the attack began.
	T int64
	// Arrivals is how many requests the plan had due in this second
	// (intended sends, whether or not the generator kept up).
	Arrivals int64
	// Completed (2xx/3xx), Errors (anything else, including transport
	// failures) and Cold count the requests that finished in this second.
	Completed, Errors, Cold int64
	// P50Ms, P95Ms and P99Ms are the latencies (from the intended send
	// time, as latency_ms in the summary) of the requests Completed in this
	// second, in milliseconds; zero when none completed.
	P50Ms, P95Ms, P99Ms float64
}

// seriesHeader names the columns of timeseries.csv; the latency columns are
// empty for a second in which nothing completed.
const seriesHeader = "t,arrivals,completed,errors,cold,p50_ms,p95_ms,p99_ms\n"

// seriesSlack is how long a second stays open after it ends: results reach
// the recorder a little after they complete, and one that completed at
// 4.999 s still belongs to second 4.
const seriesSlack = 250 * time.Millisecond

// seriesBucket is one second being filled.
type seriesBucket struct {
	completed, errors, cold int64
	lat                     *hdrhistogram.Histogram
}

// series cuts the attack into seconds by completion time. Only two seconds
// are ever open (the one ending and the current one), each with an HDR
// histogram reset when reused, so memory is constant in the run's length.
// The collect goroutine owns it.
type series struct {
	fn   func(Second)
	out  *bufio.Writer
	line []byte
	err  error

	// plan is a private copy of the arrival stream, to count what was due
	// in each second independently of what the generator managed to send.
	plan    traffic.Source
	next    traffic.Arrival
	hasNext bool

	base    int64 // the second buckets[0] holds
	buckets [2]seriesBucket
}

// newSeries returns nil when neither a callback nor a writer wants the
// series, so an attack without one pays nothing per request.
func newSeries(cfg *Config) *series {
	if cfg.Series == nil && cfg.TimeSeries == nil {
		return nil
	}
	s := &series{fn: cfg.Series, plan: cfg.Pattern.Arrivals(cfg.Seed, cfg.Duration), line: make([]byte, 0, 96)}
	s.next, s.hasNext = s.plan.Next()
	for i := range s.buckets {
		// 1 µs to 1 h at 2 significant figures: percentiles within 1%,
		// a few KB to reset each second.
		s.buckets[i].lat = hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 2)
	}
	if cfg.TimeSeries != nil {
		s.out = bufio.NewWriterSize(cfg.TimeSeries, 4<<10)
		_, s.err = s.out.WriteString(seriesHeader)
	}
	return s
}

// add files a request that completed at offset done.
func (s *series) add(done time.Duration, ok, cold bool, latency time.Duration) {
	// Results arrive about when they complete, so they also move the
	// clock on while they stream in (the ticker may not get a turn).
	s.advance(done)
	// A result later than the slack lands in the oldest second still open
	// rather than rewriting one already reported; after advance, no result
	// is more than one second ahead of it.
	sec := max(int64(done/time.Second), s.base)
	b := &s.buckets[sec-s.base]
	if ok {
		b.completed++
		us := max(1, min(int64(latency/time.Microsecond), b.lat.HighestTrackableValue()))
		_ = b.lat.RecordValue(us)
	} else {
		b.errors++
	}
	if cold {
		b.cold++
	}
}

// advance reports every second that ended more than the slack before now.
func (s *series) advance(now time.Duration) {
	for time.Duration(s.base+1)*time.Second+seriesSlack <= now {
		s.emit()
	}
}

// finish reports the remaining seconds up to end, the last one partial.
func (s *series) finish(end time.Duration) error {
	for time.Duration(s.base)*time.Second < end {
		s.emit()
	}
	if s.out != nil && s.err == nil {
		s.err = s.out.Flush()
	}
	return s.err
}

// emit reports buckets[0] and opens the next second.
func (s *series) emit() {
	b := &s.buckets[0]
	end := time.Duration(s.base+1) * time.Second
	sec := Second{T: s.base, Completed: b.completed, Errors: b.errors, Cold: b.cold}
	for s.hasNext && s.next.At < end {
		sec.Arrivals++
		s.next, s.hasNext = s.plan.Next()
	}
	if b.completed > 0 {
		sec.P50Ms = float64(b.lat.ValueAtQuantile(50)) / 1000
		sec.P95Ms = float64(b.lat.ValueAtQuantile(95)) / 1000
		sec.P99Ms = float64(b.lat.ValueAtQuantile(99)) / 1000
	}
	if s.fn != nil {
		s.fn(sec)
	}
	s.write(&sec)

	b.completed, b.errors, b.cold = 0, 0, 0
	b.lat.Reset()
	s.buckets[0], s.buckets[1] = s.buckets[1], s.buckets[0]
	s.base++
}

func (s *series) write(sec *Second) {
	if s.out == nil || s.err != nil {
		return
	}
	b := s.line[:0]
	b = strconv.AppendInt(b, sec.T, 10)
	for _, n := range []int64{sec.Arrivals, sec.Completed, sec.Errors, sec.Cold} {
		b = append(b, ',')
		b = strconv.AppendInt(b, n, 10)
	}
	for _, ms := range []float64{sec.P50Ms, sec.P95Ms, sec.P99Ms} {
		b = append(b, ',')
		if sec.Completed > 0 {
			b = strconv.AppendFloat(b, ms, 'f', -1, 64)
		}
	}
	b = append(b, '\n')
	s.line = b
	// Each second reaches the file at once: a chart of a run still going
	// (or killed) sees every second reported so far.
	if _, s.err = s.out.Write(b); s.err == nil {
		s.err = s.out.Flush()
	}
}
