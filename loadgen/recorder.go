package loadgen

import (
	"bufio"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/scalebench/scalebench/results"
)

// csvHeader names the columns of requests.csv. Times are milliseconds from
// the start of the attack; latency_ms is from the intended send time,
// sent_latency_ms from the actual send.
const csvHeader = "seq,function,intended_ms,sent_ms,latency_ms,sent_latency_ms,status,bytes,instance,cold,init_ms,error\n"

// recorder turns vegeta results into histograms, counters and CSV rows as
// they arrive, in constant memory (apart from the set of instance ids seen,
// which grows with instances, not requests). One goroutine owns it; the
// atomics are for the progress line.
type recorder struct {
	began  time.Time
	ledger *ledger
	out    *bufio.Writer
	series *series // nil: no per-second series wanted
	line   []byte

	all, cold, sent, sendDelay *results.Histogram
	errors                     map[string]int64
	seen                       map[string]struct{}
	// revs break the answered requests down by HeaderRevision, for a
	// platform that splits a function across revisions.
	revs map[revKey]*revStats
	// names and urls name the targets in revs (Config.Functions, URLs).
	names, urls []string

	requests, completed, dropped, coldStarts, failed atomic.Int64
	lastSent                                         time.Duration
	unmatched, unanswered                            int64
	writeErr                                         error
}

func newRecorder(began time.Time, l *ledger, out io.Writer) *recorder {
	r := &recorder{
		began:     began,
		ledger:    l,
		all:       results.NewHistogram(),
		cold:      results.NewHistogram(),
		sent:      results.NewHistogram(),
		sendDelay: results.NewHistogram(),
		errors:    map[string]int64{},
		seen:      map[string]struct{}{},
		revs:      map[revKey]*revStats{},
		line:      make([]byte, 0, 256),
	}
	if out != nil {
		r.out = bufio.NewWriterSize(out, 64<<10)
		_, r.writeErr = r.out.WriteString(csvHeader)
	}
	return r
}

// observation is one request as recorded.
type observation struct {
	seq       uint64
	fn        int
	intended  time.Duration // offset from began
	sentAt    time.Duration // offset from began
	latency   time.Duration // from intended send to response end
	sentLat   time.Duration // from actual send to response end
	status    int
	bytes     uint64
	instance  string
	cold      bool
	initMs    float64
	errorText string
}

// record files one result.
func (r *recorder) record(res *vegeta.Result) {
	o := observation{
		seq:     res.Seq,
		sentAt:  res.Timestamp.Sub(r.began),
		sentLat: res.Latency,
		status:  int(res.Code),
		bytes:   res.BytesIn,
	}
	if a, ok := r.ledger.take(res.Seq); ok {
		o.intended, o.fn = a.at, a.fn
	} else {
		// The request never reached the transport (it failed to build):
		// its send time is the best estimate of its intended time.
		o.intended = o.sentAt
		r.unmatched++
	}
	o.latency = res.Timestamp.Add(res.Latency).Sub(r.began) - o.intended
	r.requests.Add(1)
	if o.sentAt > r.lastSent {
		r.lastSent = o.sentAt
	}
	r.sendDelay.Record(max(o.sentAt-o.intended, 0))

	ok := res.Error == "" && o.status >= 200 && o.status < 400
	if !ok {
		o.errorText = res.Error
		r.errors[errorKey(o.status, res.Error)]++
		r.failed.Add(1)
		if o.status == 503 {
			r.dropped.Add(1)
		}
	}
	if res.Headers != nil {
		o.instance = res.Headers.Get(HeaderInstance)
		o.cold = r.isCold(o.instance, res.Headers.Get(HeaderColdStart))
		if v := res.Headers.Get(HeaderInitMs); v != "" {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
				o.initMs = f
			}
		}
	}
	if ok {
		r.completed.Add(1)
		r.all.Record(o.latency)
		r.sent.Record(o.sentLat)
		if o.cold {
			r.cold.Record(o.latency)
		}
	}
	if o.cold {
		r.coldStarts.Add(1)
	}
	if r.series != nil {
		r.series.add(o.sentAt+o.sentLat, ok, o.cold, o.latency)
	}
	if res.Headers != nil {
		if rev := res.Headers.Get(HeaderRevision); rev != "" {
			r.revision(revKey{r.fnName(o.fn), rev}, &o, ok)
		}
	}
	r.write(&o)
}

// revKey is one revision of one function, by name: a function's own
// traffic and the traffic sent to a revision's tag URL are the same
// revision's.
type revKey struct {
	fn, rev string
}

// revStats are one revision's answered requests.
type revStats struct {
	requests, completed, dropped, cold int64
	all, coldLat                       *results.Histogram
}

// fnName names target fn for the per-revision breakdown: its name, else
// its URL.
func (r *recorder) fnName(fn int) string {
	switch {
	case fn >= 0 && fn < len(r.names) && r.names[fn] != "":
		return r.names[fn]
	case fn >= 0 && fn < len(r.urls):
		return r.urls[fn]
	}
	return ""
}

func (r *recorder) revision(k revKey, o *observation, ok bool) {
	s := r.revs[k]
	if s == nil {
		s = &revStats{all: results.NewHistogram(), coldLat: results.NewHistogram()}
		r.revs[k] = s
	}
	s.requests++
	if o.cold {
		s.cold++
	}
	switch {
	case ok:
		s.completed++
		s.all.Record(o.latency)
		if o.cold {
			s.coldLat.Record(o.latency)
		}
	case o.status == 503:
		s.dropped++
	}
}

// revisions are the per-revision figures, by function then revision name.
func (r *recorder) revisions() []results.RevisionSummary {
	keys := make([]revKey, 0, len(r.revs))
	for k := range r.revs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].fn != keys[j].fn {
			return keys[i].fn < keys[j].fn
		}
		return keys[i].rev < keys[j].rev
	})
	var out []results.RevisionSummary
	for _, k := range keys {
		s := r.revs[k]
		out = append(out, results.RevisionSummary{
			Function: k.fn, Revision: k.rev, DeployAtSeconds: -1, FirstTrafficSeconds: -1,
			Requests: s.requests, Completed: s.completed, Dropped: s.dropped, ColdStarts: s.cold,
			Latency: s.all.Percentiles(), ColdLatency: s.coldLat.Percentiles(),
		})
	}
	return out
}

// errUnfinished is the error class of a request the run ended without an
// answer to (see Config.Drain and Config.Grace).
const errUnfinished = "unfinished"

// unfinished files the requests still in flight when the run was cut off at
// offset end: each is a request sent, so it counts among the requests and
// the errors, and gets its row; its latencies run to the cut (a lower
// bound), and no histogram holds them.
func (r *recorder) unfinished(left []pending, end time.Duration) {
	for _, p := range left {
		o := observation{
			seq:       p.seq,
			fn:        p.fn,
			intended:  p.at,
			sentAt:    p.sent.Sub(r.began),
			errorText: "unfinished: no answer by the end of the run",
		}
		o.latency = end - o.intended
		o.sentLat = end - o.sentAt
		r.requests.Add(1)
		r.errors[errUnfinished]++
		r.failed.Add(1)
		r.unanswered++
		r.write(&o)
	}
}

// isCold reads the cold-start header, or infers a cold start from the
// first sight of an instance id when the target names only its instance.
func (r *recorder) isCold(instance, header string) bool {
	firstSight := false
	if instance != "" {
		if _, seen := r.seen[instance]; !seen {
			r.seen[instance] = struct{}{}
			firstSight = true
		}
	}
	if header != "" {
		if b, err := strconv.ParseBool(header); err == nil {
			return b
		}
	}
	return firstSight
}

// errorKey names an error class for summary.json: the HTTP status, or a
// small fixed set of transport failures (a bounded set of keys, not one per
// message).
func errorKey(status int, msg string) string {
	if status != 0 {
		return strconv.Itoa(status)
	}
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "timeout") || strings.Contains(m, "deadline exceeded"):
		return "timeout"
	case strings.Contains(m, "connection refused"):
		return "connection_refused"
	case strings.Contains(m, "connection reset") || strings.Contains(m, "broken pipe") || strings.Contains(m, "eof"):
		return "connection_reset"
	case strings.Contains(m, "too many open files"):
		return "too_many_open_files"
	case strings.Contains(m, "cannot assign requested address"):
		// Ephemeral ports used up, typically by connections churned
		// into TIME_WAIT.
		return "no_free_ports"
	case strings.Contains(m, "not a loopback address"):
		return "refused_remote"
	case strings.Contains(m, "canceled"):
		return "canceled"
	}
	return "other"
}

func (r *recorder) write(o *observation) {
	if r.out == nil || r.writeErr != nil {
		return
	}
	b := r.line[:0]
	b = strconv.AppendUint(b, o.seq, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(o.fn), 10)
	b = append(b, ',')
	b = appendMs(b, o.intended)
	b = append(b, ',')
	b = appendMs(b, o.sentAt)
	b = append(b, ',')
	b = appendMs(b, o.latency)
	b = append(b, ',')
	b = appendMs(b, o.sentLat)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(o.status), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, o.bytes, 10)
	b = append(b, ',')
	b = appendField(b, o.instance)
	b = append(b, ',')
	b = strconv.AppendBool(b, o.cold)
	b = append(b, ',')
	b = strconv.AppendFloat(b, o.initMs, 'f', -1, 64)
	b = append(b, ',')
	b = appendField(b, o.errorText)
	b = append(b, '\n')
	r.line = b
	_, r.writeErr = r.out.Write(b)
}

// appendMs writes d in milliseconds with microsecond precision.
func appendMs(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d/time.Microsecond)/1000, 'f', -1, 64)
}

// appendField quotes a CSV field only when it needs it (RFC 4180).
func appendField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

// flush writes buffered rows out.
func (r *recorder) flush() error {
	if r.out == nil {
		return nil
	}
	if r.writeErr != nil {
		return r.writeErr
	}
	r.writeErr = r.out.Flush()
	return r.writeErr
}
