package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/scalebench/scalebench/autoscaler"
)

// The queue-proxy metrics a scrape reads (platform/queueproxy exports them).
const (
	MetricRequestSeconds = "scalebench_queueproxy_request_seconds_total"
	MetricRequests       = "scalebench_queueproxy_requests_total"
	MetricInFlight       = "scalebench_queueproxy_in_flight_requests"
)

// Target is one pod to scrape.
type Target struct {
	// Pod is the pod's name.
	Pod string
	// URL is its queue-proxy's metrics endpoint, http://IP:PORT/metrics.
	URL string
}

// Fetcher gets one exposition. FetcherFunc adapts a function; HTTPFetcher
// is the real one.
type Fetcher interface {
	Fetch(ctx context.Context, url string) (io.ReadCloser, error)
}

// FetcherFunc is a Fetcher made of a function.
type FetcherFunc func(ctx context.Context, url string) (io.ReadCloser, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context, url string) (io.ReadCloser, error) {
	return f(ctx, url)
}

// HTTPFetcher scrapes over HTTP with client.
type HTTPFetcher struct{ Client *http.Client }

// Fetch GETs url and returns the body of a 200 answer.
func (h HTTPFetcher) Fetch(ctx context.Context, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := h.Client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}

var _ Fetcher = HTTPFetcher{}

// PodValue is one pod's latest per-second figures.
type PodValue struct {
	Pod string
	// Time is when the pod was last scraped successfully.
	Time        time.Time
	Concurrency float64
	RPS         float64
}

// Options tune a Scraper.
type Options struct {
	// Fetcher reads an exposition; nil scrapes over HTTP with a 800 ms
	// timeout (a scrape must finish within its second).
	Fetcher Fetcher
	// Workers bounds the scrapes in flight; default 64.
	Workers int
	// Registerer receives the scrape counters; nil registers nothing.
	Registerer prometheus.Registerer
	// Namespace and Subsystem prefix the scraper's metrics; defaults
	// scalebench and controller.
	Namespace, Subsystem string
	// OnError receives every failed scrape; nil drops them (they are
	// counted).
	OnError func(revision, pod string, err error)
}

// sample is one successful scrape of a pod.
type sample struct {
	at                         time.Time
	busy, requests, inFlight   float64
	hasBusy, hasRequests, seen bool
}

type pod struct {
	url       string
	last      sample
	value     PodValue
	fresh     bool // value computed in the last round
	scrapeErr error
	revision  string
	name      string
}

type revision struct {
	pods map[string]*pod
	stat autoscaler.Stat
	at   time.Time
}

// Scraper scrapes the pods of any number of revisions. It is safe for
// concurrent use.
type Scraper struct {
	opts Options

	mu   sync.Mutex
	revs map[string]*revision

	errs    *prometheus.CounterVec
	scrapes *prometheus.CounterVec
	round   prometheus.Histogram
}

var _ autoscaler.Metrics = (*Scraper)(nil)

// New makes a scraper with no targets.
func New(opts Options) (*Scraper, error) {
	if opts.Fetcher == nil {
		opts.Fetcher = HTTPFetcher{Client: &http.Client{Timeout: 800 * time.Millisecond}}
	}
	if opts.Workers <= 0 {
		opts.Workers = 64
	}
	if opts.Namespace == "" {
		opts.Namespace = "scalebench"
	}
	if opts.Subsystem == "" {
		opts.Subsystem = "controller"
	}
	s := &Scraper{opts: opts, revs: map[string]*revision{}}
	s.errs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: opts.Namespace, Subsystem: opts.Subsystem, Name: "scrape_errors_total",
		Help: "Queue-proxy scrapes that failed (unreachable, bad status or unparsable), per revision.",
	}, []string{"revision"})
	s.scrapes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: opts.Namespace, Subsystem: opts.Subsystem, Name: "scrapes_total",
		Help: "Queue-proxy scrapes attempted, per revision.",
	}, []string{"revision"})
	s.round = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: opts.Namespace, Subsystem: opts.Subsystem, Name: "scrape_round_duration_seconds",
		Help:    "Time one round of scrapes over every revision's pods took.",
		Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2},
	})
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.errs, s.scrapes, s.round} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("scrape: register metrics: %w", err)
			}
		}
	}
	return s, nil
}

// SetTargets makes targets the revision's pods. Pods still listed keep
// their history (so their next rate is over the right interval); pods no
// longer listed are forgotten.
func (s *Scraper) SetTargets(rev string, targets []Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.revs[rev]
	if r == nil {
		r = &revision{pods: map[string]*pod{}}
		s.revs[rev] = r
	}
	keep := make(map[string]*pod, len(targets))
	for _, t := range targets {
		p := r.pods[t.Pod]
		if p == nil || p.url != t.URL {
			p = &pod{url: t.URL, revision: rev, name: t.Pod}
		}
		keep[t.Pod] = p
	}
	r.pods = keep
}

// Remove forgets a revision and its series.
func (s *Scraper) Remove(rev string) {
	s.mu.Lock()
	delete(s.revs, rev)
	s.mu.Unlock()
	s.errs.DeleteLabelValues(rev)
	s.scrapes.DeleteLabelValues(rev)
}

// Run scrapes every interval until ctx ends.
func (s *Scraper) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.Scrape(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Scrape does one round: every pod of every revision, at most Workers at a
// time, then the per-revision sums. now stamps the round.
func (s *Scraper) Scrape(ctx context.Context, now time.Time) {
	start := time.Now()
	s.mu.Lock()
	var all []*pod
	for _, r := range s.revs {
		for _, p := range r.pods {
			all = append(all, p)
		}
	}
	s.mu.Unlock()

	jobs := make(chan *pod)
	var wg sync.WaitGroup
	for w := 0; w < min(s.opts.Workers, len(all)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				s.scrapePod(ctx, p, now)
			}
		}()
	}
	for _, p := range all {
		jobs <- p
	}
	close(jobs)
	wg.Wait()

	s.mu.Lock()
	for _, r := range s.revs {
		var st autoscaler.Stat
		for _, p := range r.pods {
			if p.fresh {
				st.Concurrency += p.value.Concurrency
				st.RPS += p.value.RPS
			}
		}
		r.stat, r.at = st, now
	}
	s.mu.Unlock()
	s.round.Observe(time.Since(start).Seconds())
}

// scrapePod reads one pod. Only this round's worker touches p's history;
// the value and freshness are published under the scraper's lock.
func (s *Scraper) scrapePod(ctx context.Context, p *pod, now time.Time) {
	s.scrapes.WithLabelValues(p.revision).Inc()
	cur, err := s.read(ctx, p.url)
	if err != nil {
		s.errs.WithLabelValues(p.revision).Inc()
		if s.opts.OnError != nil {
			s.opts.OnError(p.revision, p.name, err)
		}
		s.mu.Lock()
		p.fresh, p.scrapeErr = false, err
		s.mu.Unlock()
		return
	}
	cur.at = now
	v := PodValue{Pod: p.name, Time: now}
	prev := p.last
	dt := now.Sub(prev.at).Seconds()
	switch {
	case prev.seen && dt > 0 && cur.hasBusy && prev.hasBusy:
		// A counter below its last reading means the queue-proxy restarted:
		// everything it counted since is new.
		v.Concurrency = delta(prev.busy, cur.busy) / dt
		if cur.hasRequests && prev.hasRequests {
			v.RPS = delta(prev.requests, cur.requests) / dt
		}
	default:
		v.Concurrency = cur.inFlight
	}
	p.last = cur
	s.mu.Lock()
	p.value, p.fresh, p.scrapeErr = v, true, nil
	s.mu.Unlock()
}

func delta(prev, cur float64) float64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// read fetches and parses one exposition.
func (s *Scraper) read(ctx context.Context, url string) (sample, error) {
	body, err := s.opts.Fetcher.Fetch(ctx, url)
	if err != nil {
		return sample{}, err
	}
	defer body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(body)
	if err != nil {
		return sample{}, fmt.Errorf("parse %s: %w", url, err)
	}
	var out sample
	out.seen = true
	if v, ok := single(mfs[MetricRequestSeconds]); ok {
		out.busy, out.hasBusy = v, true
	}
	if v, ok := single(mfs[MetricRequests]); ok {
		out.requests, out.hasRequests = v, true
	}
	if v, ok := single(mfs[MetricInFlight]); ok {
		out.inFlight = v
	}
	if !out.hasBusy && !out.hasRequests {
		return sample{}, fmt.Errorf("%s: no %s or %s: not a scalebench queue-proxy", url, MetricRequestSeconds, MetricRequests)
	}
	return out, nil
}

// single sums a family's series (a queue-proxy has one per metric).
func single(mf *dto.MetricFamily) (float64, bool) {
	if mf == nil || len(mf.GetMetric()) == 0 {
		return 0, false
	}
	sum := 0.0
	for _, m := range mf.GetMetric() {
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, true
}

// ErrUnknownRevision is Stat's answer for a revision never given targets.
var ErrUnknownRevision = errors.New("scrape: unknown revision")

// Stat implements autoscaler.Metrics: the revision's sums from the last
// round. A revision with no pods has a zero Stat (the activator's poke is
// how demand at zero reaches the policy). MaxConcurrency is left 0,
// unknown: a scrape a second sees no peak within the second.
func (s *Scraper) Stat(rev string, _ time.Time) (autoscaler.Stat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.revs[rev]
	if r == nil {
		return autoscaler.Stat{}, fmt.Errorf("%w %q", ErrUnknownRevision, rev)
	}
	return r.stat, nil
}

// Pods returns the latest value of every pod of the revision that was
// scraped successfully in the last round, by pod name.
func (s *Scraper) Pods(rev string) []PodValue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.revs[rev]
	if r == nil {
		return nil
	}
	out := make([]PodValue, 0, len(r.pods))
	for _, p := range r.pods {
		if p.fresh {
			out = append(out, p.value)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pod < out[j].Pod })
	return out
}

// Revisions lists the revisions with targets, sorted.
func (s *Scraper) Revisions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.revs))
	for r := range s.revs {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
