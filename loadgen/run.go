package loadgen

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/traffic"
)

// Config is one attack.
type Config struct {
	// URLs are the targets, indexed by Arrival.Function.
	URLs []string
	// Functions name the targets in the summary's per-revision breakdown
	// (Summary.Revisions, from responses carrying HeaderRevision); a
	// target without a name is named by its URL. Targets of one name are
	// one function (a tag's URL and the function's own, say).
	Functions []string
	// Method is the HTTP method; GET when empty.
	Method string
	// Header is sent with every request; a "Host" entry names the virtual
	// host, as an ingress (Kourier, say) routes by it.
	Header http.Header
	// Pattern, Duration and Seed fix the arrivals, as in the simulator.
	Pattern  traffic.Pattern
	Duration time.Duration
	Seed     int64

	// Requests receives one CSV row per request as it completes (nil: none).
	Requests io.Writer
	// Progress receives a one-line progress display each second (nil: none).
	Progress io.Writer
	// Log receives warnings as they happen (nil: none).
	Log io.Writer
	// Series, when set, is called once per elapsed second of the attack
	// (a quarter second after it ends, so late results still count), from
	// the goroutine that records results: it must return quickly.
	Series func(Second)
	// TimeSeries receives the same seconds as CSV rows (nil: none);
	// RunToDir points it at DIR/timeseries.csv.
	TimeSeries io.Writer

	// Workers is vegeta's initial number of workers (default 16); it adds
	// workers up to MaxWorkers when all are busy, which is what keeps the
	// attack open-loop while responses are slow. MaxWorkers also bounds the
	// connections and so the file descriptors (default: 10,000, or fewer
	// if the open-files limit allows fewer; more than the limit allows is
	// refused).
	Workers, MaxWorkers int
	// FilesPerRequest is how many file descriptors of this process each
	// request in flight holds (default 1: the generator's connection). A
	// target served by this same process holds its own: the local
	// platform's activator and queue-proxy hold the inbound connection and
	// the one to the pod, 3 in all.
	FilesPerRequest int
	// MaxRate is the highest planned rate, in requests per second, the
	// attack accepts (default DefaultMaxRate()). A pattern that peaks above
	// it is refused before anything is sent.
	MaxRate float64
	// Timeout is the longest a request may take (default 30s).
	Timeout time.Duration
	// AllowRemote permits targets that are not on this machine.
	AllowRemote bool
	// StdTransport sends through net/http's Transport even to http://
	// targets, instead of the leaner keep-alive transport (h1Transport)
	// used for them by default.
	StdTransport bool

	// LagWindow is the window over which the dispatched rate is compared
	// with the plan (default 5s). WarnLag and AbortLag are the fractions
	// behind at which to warn and abort (defaults 0.10 and 0.20).
	LagWindow         time.Duration
	WarnLag, AbortLag float64
	// Drain is how long requests still in flight may take once the plan
	// is over: past the planned end, or past the latest moment a request's
	// own work (Arrival.Work) is due to finish, whichever is later
	// (default 1s). Grace is the same after a stop: an interrupt (ctx), a
	// lag abort, or arrivals still unsent at the planned end (default
	// 500ms). Requests unanswered then are cut off and counted under the
	// error class "unfinished", so a run ends on time whatever the target
	// does.
	Drain, Grace time.Duration

	// Scenario and Backend label the summary.
	Scenario, Backend string
}

// DefaultTimeout is the longest a request may take unless Config.Timeout
// says otherwise.
const DefaultTimeout = 30 * time.Second

// defaultMaxWorkers bounds the requests in flight when the open-files limit
// allows more.
const defaultMaxWorkers = 10000

// RatePerCore is the planned rate, in requests per second, one core of this
// machine is credited with: the generator's best measured cost is about
// 11 µs of CPU per request (docs/readme-loadgen.md), so no core sends much
// more than 90,000 a second even with the target elsewhere. A plan above
// DefaultMaxRate is a typo, not a load test (rate=1e9 once ran a 3 s attack
// for 40 s); one below it that the machine still cannot send is stopped by
// the lag rule.
const RatePerCore = 100_000

// DefaultMaxRate is RatePerCore for each core the Go runtime may use.
func DefaultMaxRate() float64 { return RatePerCore * float64(runtime.GOMAXPROCS(0)) }

func (c *Config) defaults() error {
	// A mistake in a Config is the caller's input, not a failure of the
	// attack.
	bad := badinput.Errorf
	switch {
	case c.Pattern == nil:
		return bad("no traffic pattern")
	case c.Duration <= 0:
		return bad("duration %s: want more than 0", c.Duration)
	case len(c.URLs) == 0:
		return bad("no target URL")
	case c.Workers < 0 || c.MaxWorkers < 0:
		return bad("workers: want 0 (default) or more")
	case c.FilesPerRequest < 0:
		return bad("files per request: want 0 (default) or more")
	case c.Timeout < 0 || c.LagWindow < 0 || c.Grace < 0 || c.Drain < 0:
		return bad("timeout, lag window, drain and grace must not be negative")
	case c.WarnLag < 0 || c.WarnLag >= 1 || c.AbortLag < 0 || c.AbortLag >= 1:
		return bad("lag fractions must lie in [0, 1)")
	case c.MaxRate < 0 || math.IsNaN(c.MaxRate):
		return bad("max rate: want 0 (default) or more")
	}
	for _, u := range c.URLs {
		if _, err := checkURL(u); err != nil {
			return bad("target %q: %v", u, err)
		}
		if !c.AllowRemote {
			if err := CheckLoopback(u); err != nil {
				return badinput.Wrap(err)
			}
		}
	}
	if c.Method == "" {
		c.Method = "GET"
	}
	// net/http refuses a method that is not an HTTP token, but only when
	// each request is built, after the attack has begun: every request
	// would then fail as "other".
	if _, err := http.NewRequest(c.Method, c.URLs[0], nil); err != nil {
		return bad("method %q: want an HTTP method such as GET or POST (one token: no spaces or separators)", c.Method)
	}
	if c.MaxRate == 0 {
		c.MaxRate = DefaultMaxRate()
	}
	if peak := peakRate(c.Pattern, c.Duration); !(peak <= c.MaxRate) {
		return bad("pattern %s: plans %s requests/s, more than this machine can send (%s/s: %s per core, %d cores); lower the rate or spread the load over several generators",
			c.Pattern, fmtRate(peak), fmtRate(c.MaxRate), fmtRate(RatePerCore), runtime.GOMAXPROCS(0))
	}
	if c.Workers == 0 {
		c.Workers = 16
	}
	if c.FilesPerRequest == 0 {
		c.FilesPerRequest = 1
	}
	b := fileBudget(c.FilesPerRequest)
	switch {
	case b.known && b.requests < 1:
		return bad("the open-files limit (%d, %d in use) leaves no room for connections; raise it (ulimit -n)", b.limit, b.open)
	case c.MaxWorkers == 0:
		c.MaxWorkers = defaultMaxWorkers
		if b.known {
			c.MaxWorkers = min(c.MaxWorkers, b.requests)
		}
	case b.known && c.MaxWorkers > b.requests:
		return bad("max workers %d: the open-files limit (%d, %d in use) allows at most %d requests in flight (%d descriptors each); lower it or raise the limit (ulimit -n)",
			c.MaxWorkers, b.limit, b.open, b.requests, c.FilesPerRequest)
	}
	c.Workers = min(c.Workers, c.MaxWorkers)
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.LagWindow == 0 {
		c.LagWindow = 5 * time.Second
	}
	if c.WarnLag == 0 {
		c.WarnLag = 0.10
	}
	if c.AbortLag == 0 {
		c.AbortLag = 0.20
	}
	if c.Drain == 0 {
		c.Drain = time.Second
	}
	if c.Grace == 0 {
		c.Grace = 500 * time.Millisecond
	}
	if c.Backend == "" {
		c.Backend = "url"
	}
	return nil
}

// rateSamples bounds how often peakRate looks at a pattern's rate.
const rateSamples = 10000

// peakRate is the highest rate p plans over [0, d), looked at every
// millisecond, or rateSamples times evenly for runs longer than 10 s: a
// cheap look that catches a mistyped rate before anything is sent. A burst
// shorter than the step can slip through; the lag rule and the planned end
// still bound such a run. NaN comes back as NaN.
func peakRate(p traffic.Pattern, d time.Duration) float64 {
	n := max(1, min(int64(d/time.Millisecond), rateSamples))
	step := d / time.Duration(n)
	peak := 0.0
	for i := range n {
		if r := p.Rate(time.Duration(i) * step); r > peak || math.IsNaN(r) {
			peak = r
			if math.IsNaN(r) {
				break
			}
		}
	}
	return peak
}

// fmtRate prints a rate readably: 1e+09 for a typo, 200000 for a limit.
func fmtRate(r float64) string {
	if r >= 1e7 || math.IsNaN(r) || math.IsInf(r, 0) {
		return strconv.FormatFloat(r, 'g', 3, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// Report is an attack's outcome: the summary plus what only the load
// generator can tell.
type Report struct {
	Summary *results.Summary
	// SendDelay is how late requests left after their intended time: the
	// generator's own lag, which latency from the intended time includes.
	SendDelay *results.Histogram
	// Interrupted is true when ctx ended the attack.
	Interrupted bool
}

// Run attacks cfg's targets with cfg's traffic and returns the summary.
// Cancelling ctx stops the attack; the summary then covers what was sent
// and says so in Aborted.
func Run(ctx context.Context, cfg Config) (*results.Summary, error) {
	r, err := Attack(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return r.Summary, nil
}

// Attack is Run with the generator's own figures.
func Attack(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	var stopOnce sync.Once
	var (
		reasonMu sync.Mutex
		reason   string
	)
	halt := func(why string) {
		stopOnce.Do(func() {
			reasonMu.Lock()
			reason = why
			reasonMu.Unlock()
			close(stop)
		})
	}

	l := &ledger{m: make(map[uint64]arrivalRef, 1024)}
	plain := true
	for _, u := range cfg.URLs {
		plain = plain && strings.HasPrefix(u, "http://")
	}
	conns := newConnSet()
	client := newClient(cfg.Timeout, cfg.MaxWorkers, cfg.AllowRemote, plain && !cfg.StdTransport, l, conns)
	defer closeIdle(client)
	defer conns.closeAll()
	pacer := NewPacer(cfg.Pattern, cfg.Seed, cfg.Duration, cfg.MaxWorkers+2, stop)
	targeter, err := NewTargeter(pacer, cfg.Method, cfg.URLs)
	if err != nil {
		return nil, badinput.Wrap(err)
	}
	targeter = withHeader(targeter, cfg.Header)
	attacker := vegeta.NewAttacker(
		vegeta.Client(client),
		vegeta.Workers(uint64(cfg.Workers)),
		vegeta.MaxWorkers(uint64(cfg.MaxWorkers)),
	)
	resultsCh := attacker.Attack(targeter, pacer, 0, "scalebench")
	began := pacer.Began()

	// Stopping: an ended ctx or a lag abort closes stop (which ends any
	// idle wait in the pacer) and stops vegeta's loop.
	go func() {
		select {
		case <-ctx.Done():
			halt("interrupted")
		case <-stop:
		}
		attacker.Stop()
	}()

	rec := newRecorder(began, l, cfg.Requests)
	rec.names, rec.urls = cfg.Functions, cfg.URLs
	rec.series = newSeries(&cfg)
	mon := newMonitor(cfg, pacer, began, halt)
	monDone := make(chan struct{})
	go func() { mon.run(stop); close(monDone) }()

	var progressWG sync.WaitGroup
	progressStop := make(chan struct{})
	if cfg.Progress != nil {
		progressWG.Add(1)
		go func() {
			defer progressWG.Done()
			progress(cfg, pacer, rec, began, progressStop)
		}()
	}

	// Collect until vegeta closes the channel, which it does once every
	// request is answered. The run also ends on time without that: once
	// the plan is over, requests in flight get Drain past the later of the
	// planned end and the end of their own work; after a stop (ctx, a lag
	// abort, arrivals unsent at the planned end: see monitor) they get
	// Grace. Then the rest are cut off and summarised as unfinished.
	flushTick := time.NewTicker(time.Second)
	defer flushTick.Stop()
	endTimer := time.NewTimer(time.Until(began.Add(cfg.Duration + cfg.Drain)))
	defer endTimer.Stop()
	var graceC <-chan time.Time
	stopC := (<-chan struct{})(stop)
	closed := false
	lastFlush := time.Now()
collect:
	for {
		// Fast path while results stream in: a lone non-blocking receive
		// costs a fraction of the full select below, which at 20,000
		// requests a second is the generator's own CPU budget.
		select {
		case res, ok := <-resultsCh:
			if !ok {
				closed = true
				break collect
			}
			rec.record(res)
			if rec.requests.Load()%4096 == 0 && time.Since(lastFlush) > time.Second {
				rec.flush()
				lastFlush = time.Now()
			}
			continue
		default:
		}
		select {
		case res, ok := <-resultsCh:
			if !ok {
				closed = true
				break collect
			}
			rec.record(res)
		case <-flushTick.C:
			lastFlush = time.Now()
			rec.flush()
			if rec.series != nil {
				rec.series.advance(time.Since(began))
			}
		case <-stopC:
			stopC = nil
			graceC = time.After(cfg.Grace)
		case <-endTimer.C:
			if !pacer.done.Load() {
				// Still sending: the monitor stops a generator that is
				// behind at the planned end, which starts the grace.
				endTimer.Reset(50 * time.Millisecond)
				continue
			}
			due := began.Add(max(cfg.Duration, pacer.LatestEnd()) + cfg.Drain)
			if left := time.Until(due); left > 0 {
				endTimer.Reset(left)
				continue
			}
			break collect
		case <-graceC:
			break collect
		}
	}
	end := time.Since(began)
	halt("")
	if !closed {
		// Nothing more leaves; what is still in flight is cut off and
		// counted, and its connections closed so vegeta's workers finish.
		rec.unfinished(l.cutOff(), end)
		conns.closeAll()
		go func() {
			for range resultsCh {
			}
		}()
	}
	<-monDone
	close(progressStop)
	progressWG.Wait()
	if err := rec.flush(); err != nil {
		return nil, fmt.Errorf("writing requests: %w", err)
	}
	if rec.series != nil {
		if err := rec.series.finish(end); err != nil {
			return nil, fmt.Errorf("writing time series: %w", err)
		}
	}

	reasonMu.Lock()
	why := reason
	reasonMu.Unlock()
	sum := &results.Summary{
		Kind:            "load",
		Scenario:        cfg.Scenario,
		Backend:         cfg.Backend,
		Seed:            cfg.Seed,
		DurationSeconds: cfg.Duration.Seconds(),
		Requests:        rec.requests.Load(),
		Completed:       rec.completed.Load(),
		Dropped:         rec.dropped.Load(),
		ColdStarts:      rec.coldStarts.Load(),
		Aborted:         why,
		Warnings:        mon.warnings,
	}
	sum.Fill(rec.all, rec.cold)
	sum.Revisions = rec.revisions()
	sp := rec.sent.Percentiles()
	sum.SentLatency = &sp
	if len(rec.errors) > 0 {
		sum.Errors = rec.errors
	}
	// The rates cover the planned duration, or the part of it before an
	// abort; a generator that finished late achieved less than planned.
	span := cfg.Duration
	if why != "" {
		span = min(end, cfg.Duration)
	}
	if span > 0 {
		sum.RequestedRate = round3(float64(mon.plannedBy(span)) / span.Seconds())
		sum.AchievedRate = round3(float64(sum.Requests) / max(span, rec.lastSent).Seconds())
	}
	if rec.unanswered > 0 {
		sum.Warnings = append(sum.Warnings, fmt.Sprintf("%d requests were still unanswered when the run ended at %.1fs and count as errors (%s)", rec.unanswered, end.Seconds(), errUnfinished))
	}
	if rec.unmatched > 0 {
		sum.Warnings = append(sum.Warnings, fmt.Sprintf("%d requests could not be matched to their arrival; their send time stood in for the intended time", rec.unmatched))
	}
	return &Report{Summary: sum, SendDelay: rec.sendDelay, Interrupted: why == "interrupted"}, nil
}

// RunToDir runs the attack and writes dir/requests.csv, dir/timeseries.csv
// (one row per second, see Second) and dir/summary.json, atomically: dir
// appears complete or not at all. An interrupted attack still writes all
// three. cfg.Series, if set, is still called.
//
// opts say what may be replaced (results.Force) and where cleaning up is
// reported (results.LogTo).
func RunToDir(ctx context.Context, cfg Config, dir string, opts ...results.OutOption) (*results.Summary, error) {
	out, err := results.CreateOutDir(dir, opts...)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(out.Path("requests.csv"))
	if err != nil {
		out.Abort()
		return nil, err
	}
	ts, err := os.Create(out.Path("timeseries.csv"))
	if err != nil {
		f.Close()
		out.Abort()
		return nil, err
	}
	cfg.Requests, cfg.TimeSeries = f, ts
	sum, err := Run(ctx, cfg)
	for _, c := range []*os.File{f, ts} {
		if cerr := c.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err == nil {
		err = results.WriteJSON(out.Path("summary.json"), sum)
	}
	if err == nil {
		err = out.Commit()
	}
	if err != nil {
		out.Abort()
		return nil, err
	}
	return sum, nil
}

// progress writes a one-line display each second until stop.
func progress(cfg Config, p *Pacer, rec *recorder, began time.Time, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last uint64
	for {
		select {
		case <-stop:
			fmt.Fprintln(cfg.Progress)
			return
		case <-t.C:
		}
		n := p.Dispatched()
		fmt.Fprintf(cfg.Progress, "\r%6.1fs/%s  %8d req/s  sent %d  errors %d  cold starts %d   ",
			time.Since(began).Seconds(), cfg.Duration, n-last, n, rec.failed.Load(), rec.coldStarts.Load())
		last = n
	}
}

// monitor compares the dispatched rate with the plan over a sliding window:
// a warning when the generator falls WarnLag behind, an abort at AbortLag.
// The plan is a second copy of the same deterministic arrival stream, so a
// Poisson pattern is judged by its own draws, not by its mean rate.
type monitor struct {
	cfg     Config
	pacer   *Pacer
	began   time.Time
	halt    func(string)
	plan    traffic.Source
	next    traffic.Arrival
	hasNext bool
	planned int64

	warned   bool
	warnings []string
	mu       sync.Mutex
}

// minPlanned is the fewest planned requests in a window worth judging: below
// it, one late request is a large fraction.
const minPlanned = 20

// endSlack is how late the last planned requests may leave before the
// generator counts as behind at the planned end: far above the few
// milliseconds of send delay of a generator that keeps up, well inside the
// second by which a run may overrun its plan.
const endSlack = 250 * time.Millisecond

// maxWarnings bounds the warnings a summary carries.
const maxWarnings = 20

func newMonitor(cfg Config, p *Pacer, began time.Time, halt func(string)) *monitor {
	m := &monitor{cfg: cfg, pacer: p, began: began, halt: halt, plan: cfg.Pattern.Arrivals(cfg.Seed, cfg.Duration)}
	m.next, m.hasNext = m.plan.Next()
	return m
}

// plannedBy counts the arrivals due by t. t must not decrease between calls.
func (m *monitor) plannedBy(t time.Duration) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.hasNext && m.next.At <= t {
		m.planned++
		m.next, m.hasNext = m.plan.Next()
	}
	return m.planned
}

type sample struct {
	planned, sent int64
}

func (m *monitor) run(stop <-chan struct{}) {
	const slices = 5
	step := m.cfg.LagWindow / slices
	t := time.NewTicker(step)
	defer t.Stop()
	ring := make([]sample, 0, slices+1)
	// The planned end is judged on its own: a run shorter than the window
	// would never be, and a generator that cannot send would go on past
	// the end with the rest of the plan (rate=1e9 for 3 s ran for 40 s).
	late := time.NewTimer(time.Until(m.began.Add(m.cfg.Duration + endSlack)))
	defer late.Stop()
	for {
		select {
		case <-stop:
			return
		case <-late.C:
			if m.pacer.done.Load() {
				return
			}
			msg := fmt.Sprintf("by its planned end (%s) the generator had sent %d of the %d requests planned",
				m.cfg.Duration, m.pacer.Dispatched(), m.plannedBy(m.cfg.Duration))
			m.warn(msg)
			m.halt("load generator fell behind the plan: " + msg)
			return
		case <-t.C:
		}
		if m.pacer.done.Load() {
			return
		}
		now := time.Since(m.began)
		s := sample{planned: m.plannedBy(now), sent: int64(m.pacer.Dispatched())}
		ring = append(ring, s)
		if len(ring) > slices+1 {
			ring = ring[1:]
		}
		if len(ring) < slices+1 {
			continue
		}
		planned := ring[len(ring)-1].planned - ring[0].planned
		sent := ring[len(ring)-1].sent - ring[0].sent
		if planned < minPlanned {
			continue
		}
		behind := 1 - float64(sent)/float64(planned)
		msg := fmt.Sprintf("at %.1fs the generator sent %d requests in %s against %d planned (%.0f%% behind)",
			now.Seconds(), sent, m.cfg.LagWindow, planned, 100*behind)
		switch {
		case behind >= m.cfg.AbortLag:
			m.warn(msg)
			m.halt(fmt.Sprintf("load generator fell behind the plan: %s, abort threshold %.0f%%", msg, 100*m.cfg.AbortLag))
			return
		case behind >= m.cfg.WarnLag && !m.warned:
			m.warned = true
			m.warn(msg)
		case behind < m.cfg.WarnLag/2:
			// Recovered: a later fall behind is worth a new warning.
			m.warned = false
		}
	}
}

func (m *monitor) warn(msg string) {
	if m.cfg.Log != nil {
		fmt.Fprintln(m.cfg.Log, "scalebench load: warning:", msg)
	}
	if len(m.warnings) < maxWarnings {
		m.warnings = append(m.warnings, msg)
	}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
