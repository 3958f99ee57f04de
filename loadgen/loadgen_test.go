package loadgen

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/traffic"
)

// fixed is a pattern with a given list of arrivals, for tests that need
// functions and work the built-in patterns do not set.
type fixed []traffic.Arrival

func (f fixed) Arrivals(_ int64, d time.Duration) traffic.Source {
	s := &fixedSource{}
	for _, a := range f {
		if a.At < d {
			s.list = append(s.list, a)
		}
	}
	return s
}
func (f fixed) Rate(time.Duration) float64 { return 0 }
func (f fixed) String() string             { return fmt.Sprintf("fixed:%d", len(f)) }

type fixedSource struct {
	list []traffic.Arrival
	i    int
}

func (s *fixedSource) Next() (traffic.Arrival, bool) {
	if s.i >= len(s.list) {
		return traffic.Arrival{}, false
	}
	s.i++
	return s.list[s.i-1], true
}

func okServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// row is one parsed requests.csv line.
type row struct {
	fn                                   int
	intended, sent, latency, sentLatency float64
	status                               int
	instance                             string
	cold                                 bool
}

func readRows(t *testing.T, b []byte) []row {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("requests.csv: %v", err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",")+"\n" != csvHeader {
		t.Fatalf("requests.csv header = %v", recs[:min(1, len(recs))])
	}
	var rows []row
	for _, r := range recs[1:] {
		f := func(i int) float64 {
			v, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				t.Fatalf("column %d of %v: %v", i, r, err)
			}
			return v
		}
		rows = append(rows, row{
			fn: int(f(1)), intended: f(2), sent: f(3), latency: f(4), sentLatency: f(5),
			status: int(f(6)), instance: r[8], cold: r[9] == "true",
		})
	}
	return rows
}

func attack(t *testing.T, cfg Config) (*Report, []row) {
	t.Helper()
	var buf bytes.Buffer
	cfg.Requests = &buf
	r, err := Attack(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Attack: %v", err)
	}
	return r, readRows(t, buf.Bytes())
}

// The intended times recorded are exactly the pattern's arrivals, and
// requests leave close to them.
func TestPacerSendsThePatternsArrivals(t *testing.T) {
	srv := okServer(t, nil)
	for _, tc := range []struct {
		name, spec string
		duration   time.Duration
	}{
		{"constant", "constant:rate=200", time.Second},
		{"poisson", "poisson:rate=200", time.Second},
		{"steps", "steps:rates=50/300,every=500ms", time.Second},
		{"onoff idle gap", "onoff:rate=100,on=200ms,off=400ms", 900 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := traffic.Parse(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			const seed = 7
			var want []float64
			src := p.Arrivals(seed, tc.duration)
			for a, ok := src.Next(); ok; a, ok = src.Next() {
				want = append(want, float64(a.At/time.Microsecond)/1000)
			}
			rep, rows := attack(t, Config{URLs: []string{srv.URL}, Pattern: p, Duration: tc.duration, Seed: seed})
			var got, lateness []float64
			for _, r := range rows {
				got = append(got, r.intended)
				if r.sent < r.intended-0.001 {
					t.Errorf("request sent at %.3fms, before its intended %.3fms", r.sent, r.intended)
				}
				lateness = append(lateness, r.sent-r.intended)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("intended times: got %d, want %d; first got %v want %v", len(got), len(want), got[:min(5, len(got))], want[:min(5, len(want))])
			}
			// The pacer's own lateness shows in the median; the tail is the
			// shared machine's scheduler (other jobs take the cores for tens
			// of milliseconds), not the pacer.
			slices.Sort(lateness)
			if med := lateness[len(lateness)/2]; med > 20 {
				t.Errorf("median request left %.1fms after its intended time", med)
			}
			s := rep.Summary
			if s.Requests != int64(len(want)) || s.Completed != s.Requests {
				t.Errorf("requests %d completed %d, want %d", s.Requests, s.Completed, len(want))
			}
			if s.AchievedRate < 0.99*s.RequestedRate || s.RequestedRate <= 0 {
				t.Errorf("achieved %.1f/s against requested %.1f/s", s.AchievedRate, s.RequestedRate)
			}
		})
	}
}

// Each arrival goes to its function's URL and carries its work.
func TestTargeterRoutesFunctionsAndWork(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[name] = append(got[name], r.URL.Query().Get(WorkParam))
			mu.Unlock()
		}
	}
	a, b := okServer(t, handler("a")), okServer(t, handler("b"))
	pattern := fixed{
		{At: 0, Function: 0, Work: 250 * time.Millisecond},
		{At: 10 * time.Millisecond, Function: 1},
		{At: 20 * time.Millisecond, Function: 1, Work: 1500 * time.Microsecond},
		{At: 30 * time.Millisecond, Function: 0},
	}
	_, rows := attack(t, Config{URLs: []string{a.URL, b.URL + "/fn?x=1"}, Pattern: pattern, Duration: time.Second})
	want := map[string][]string{"a": {"250ms", ""}, "b": {"", "1.5ms"}}
	for k := range want {
		slices.Sort(got[k])
		slices.Sort(want[k])
		if !slices.Equal(got[k], want[k]) {
			t.Errorf("server %s got work %q, want %q", k, got[k], want[k])
		}
	}
	fns := map[int]int{}
	for _, r := range rows {
		fns[r.fn]++
	}
	if fns[0] != 2 || fns[1] != 2 {
		t.Errorf("requests.csv functions = %v, want 2 each", fns)
	}
}

// Cold starts come from X-Cold-Start, or from the first sight of an
// instance when a target names only its instance.
func TestColdStartDetection(t *testing.T) {
	for _, tc := range []struct {
		name     string
		headers  func(n int64) map[string]string
		wantCold int64
	}{
		{"cold header", func(n int64) map[string]string {
			// Two instances, each cold on its first request; the header is
			// believed even though instance b is first seen at n=1.
			inst := "a"
			if n%2 == 1 {
				inst = "b"
			}
			return map[string]string{HeaderInstance: inst, HeaderColdStart: strconv.FormatBool(n < 1), HeaderInitMs: "12.5"}
		}, 1},
		{"instance only", func(n int64) map[string]string {
			return map[string]string{HeaderInstance: fmt.Sprintf("pod-%d", n/10)} // a new pod every 10 requests
		}, 4},
		{"no headers", func(int64) map[string]string { return nil }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			var mu sync.Mutex // serialises requests so n orders them as sent
			srv := okServer(t, func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				for k, v := range tc.headers(n.Add(1) - 1) {
					w.Header().Set(k, v)
				}
			})
			var arrivals fixed
			for i := range 40 {
				arrivals = append(arrivals, traffic.Arrival{At: time.Duration(i) * 5 * time.Millisecond})
			}
			rep, rows := attack(t, Config{URLs: []string{srv.URL}, Pattern: arrivals, Duration: time.Second, MaxWorkers: 1})
			if rep.Summary.ColdStarts != tc.wantCold {
				t.Errorf("cold starts = %d, want %d", rep.Summary.ColdStarts, tc.wantCold)
			}
			cold := 0
			for _, r := range rows {
				if r.cold {
					cold++
				}
			}
			if int64(cold) != tc.wantCold {
				t.Errorf("requests.csv marks %d cold, want %d", cold, tc.wantCold)
			}
			if tc.wantCold > 0 && rep.Summary.ColdLatency.Max == 0 {
				t.Error("no cold latency recorded")
			}
		})
	}
}

// A server that stalls holds up a generator that cannot send more (one
// worker): latency from the intended time includes the wait, latency from
// the actual send hides it. This is coordinated omission, measured.
func TestLatencyFromIntendedTimeIncludesStall(t *testing.T) {
	var n atomic.Int64
	srv := okServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 10 {
			time.Sleep(300 * time.Millisecond)
		}
	})
	p, _ := traffic.Parse("constant:rate=100")
	rep, rows := attack(t, Config{URLs: []string{srv.URL}, Pattern: p, Duration: time.Second, MaxWorkers: 1})
	slowIntended, slowSent := 0, 0
	for _, r := range rows {
		if r.latency > 200 {
			slowIntended++
		}
		if r.sentLatency > 200 {
			slowSent++
		}
	}
	if slowSent != 1 {
		t.Errorf("%d requests slow from their send, want only the stalled one", slowSent)
	}
	if slowIntended < 10 {
		t.Errorf("%d requests slow from their intended time, want the ~20 due during the stall", slowIntended)
	}
	if rep.Summary.Latency.Max < 300 || rep.Summary.SentLatency.P99 >= rep.Summary.Latency.P99 {
		t.Errorf("latency %+v, sent latency %+v: want the stall in latency from intended time", rep.Summary.Latency, *rep.Summary.SentLatency)
	}
	if rep.SendDelay.Max() < 100*time.Millisecond {
		t.Errorf("send delay max %s, want the stall to show", rep.SendDelay.Max())
	}
}

// A generator that cannot keep up is warned about and then stopped, with
// the reason in the summary.
func TestAbortWhenFallingBehind(t *testing.T) {
	srv := okServer(t, func(http.ResponseWriter, *http.Request) { time.Sleep(10 * time.Millisecond) })
	p, _ := traffic.Parse("constant:rate=300")
	var log bytes.Buffer
	start := time.Now()
	rep, _ := attack(t, Config{
		URLs: []string{srv.URL}, Pattern: p, Duration: 20 * time.Second,
		MaxWorkers: 1, LagWindow: 500 * time.Millisecond, Log: &log,
	})
	s := rep.Summary
	if !strings.Contains(s.Aborted, "fell behind") {
		t.Fatalf("aborted = %q, want a fell-behind reason", s.Aborted)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("abort took %s", took)
	}
	if len(s.Warnings) == 0 || !strings.Contains(log.String(), "warning") {
		t.Errorf("warnings %q, log %q: want the lag reported", s.Warnings, log.String())
	}
	if s.AchievedRate >= 0.8*s.RequestedRate {
		t.Errorf("achieved %.0f/s of %.0f/s: not behind", s.AchievedRate, s.RequestedRate)
	}
}

// A run that keeps up is not warned about.
func TestNoWarningWhenOnSchedule(t *testing.T) {
	srv := okServer(t, nil)
	p, _ := traffic.Parse("constant:rate=500")
	rep, _ := attack(t, Config{URLs: []string{srv.URL}, Pattern: p, Duration: 1500 * time.Millisecond, LagWindow: 500 * time.Millisecond})
	if rep.Summary.Aborted != "" || len(rep.Summary.Warnings) != 0 {
		t.Errorf("aborted %q warnings %q on an easy run", rep.Summary.Aborted, rep.Summary.Warnings)
	}
}

// Cancelling stops the attack promptly, even with requests stuck in
// flight, and the output directory still gets both files.
func TestInterruptStillWritesSummary(t *testing.T) {
	var n atomic.Int64
	release := make(chan struct{})
	srv := okServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%5 == 0 {
			select { // a stuck request
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	defer close(release)
	p, _ := traffic.Parse("constant:rate=100")
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err := RunToDir(ctx, Config{URLs: []string{srv.URL}, Pattern: p, Duration: time.Minute, Grace: 200 * time.Millisecond}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("interrupted run took %s", took)
	}
	if s.Aborted != "interrupted" {
		t.Errorf("aborted = %q", s.Aborted)
	}
	disk, err := results.ReadSummary(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if disk.Aborted != "interrupted" || disk.Requests == 0 || disk.Requests > 60 {
		t.Errorf("summary.json: aborted %q, %d requests", disk.Aborted, disk.Requests)
	}
	b, err := os.ReadFile(filepath.Join(dir, "requests.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := readRows(t, b); int64(len(rows)) != disk.Requests {
		t.Errorf("requests.csv has %d rows, summary %d requests", len(rows), disk.Requests)
	}
}

// Errors are counted by status and kept out of the latency histogram.
func TestErrorsByStatus(t *testing.T) {
	var n atomic.Int64
	srv := okServer(t, func(w http.ResponseWriter, _ *http.Request) {
		switch n.Add(1) % 4 {
		case 0:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	var arrivals fixed
	for i := range 40 {
		arrivals = append(arrivals, traffic.Arrival{At: time.Duration(i) * 2 * time.Millisecond})
	}
	rep, _ := attack(t, Config{URLs: []string{srv.URL}, Pattern: arrivals, Duration: time.Second})
	s := rep.Summary
	if s.Errors["503"] != 10 || s.Errors["500"] != 10 || s.Dropped != 10 || s.Completed != 20 {
		t.Errorf("errors %v dropped %d completed %d", s.Errors, s.Dropped, s.Completed)
	}
	if got := int64(len(s.LatencyHistogram)); got == 0 {
		t.Error("no latency histogram")
	}
}

// Non-loopback targets are refused before any traffic, and the dialer
// refuses them even if a name slipped through.
func TestRemoteTargetsRefused(t *testing.T) {
	p, _ := traffic.Parse("constant:rate=10")
	for _, tc := range []struct{ name, url string }{
		{"private address", "http://10.1.2.3/"},
		{"public name", "http://example.com/"},
		{"unspecified", "http://0.0.0.0:8080/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Attack(context.Background(), Config{URLs: []string{tc.url}, Pattern: p, Duration: time.Second})
			if !badinput.Is(err) || !strings.Contains(err.Error(), "--allow-remote") {
				t.Errorf("err = %v, want a bad-input error naming --allow-remote", err)
			}
		})
	}
	for _, plain := range []bool{false, true} {
		c := newClient(time.Second, 1, false, plain, &ledger{m: map[uint64]arrivalRef{}}, nil)
		if _, err := c.Get("http://localtest.me.invalid:1/"); err == nil {
			t.Errorf("dial of a non-loopback name succeeded (h1 transport %v)", plain)
		}
		if _, err := c.Get("http://10.1.2.3:1/"); err == nil || !strings.Contains(err.Error(), "not a loopback") {
			t.Errorf("dial of a non-loopback address: %v (h1 transport %v)", err, plain)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	p, _ := traffic.Parse("constant:rate=10")
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no pattern", Config{URLs: []string{"http://127.0.0.1:1/"}, Duration: time.Second}},
		{"no duration", Config{URLs: []string{"http://127.0.0.1:1/"}, Pattern: p}},
		{"no url", Config{Pattern: p, Duration: time.Second}},
		{"bad scheme", Config{URLs: []string{"ftp://127.0.0.1/"}, Pattern: p, Duration: time.Second}},
		{"lag fraction", Config{URLs: []string{"http://127.0.0.1:1/"}, Pattern: p, Duration: time.Second, AbortLag: 1.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Attack(context.Background(), tc.cfg)
			if !badinput.Is(err) {
				t.Errorf("err = %v, want a bad-input error", err)
			}
		})
	}
}

// A Host header picks the virtual host (an ingress routes by it) through
// both transports, sent once, with the other headers as given.
func TestHeaderReachesTheServer(t *testing.T) {
	for _, std := range []bool{false, true} {
		var mu sync.Mutex
		hosts := map[string]int{}
		var traces []string
		srv := okServer(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hosts[r.Host]++
			traces = append(traces, strings.Join(r.Header.Values("X-Trace"), ","))
			mu.Unlock()
			w.Write([]byte("ok"))
		})
		p, err := traffic.Parse("constant:rate=50")
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{"Host": {"api.bench.kind.local"}, "X-Trace": {"1"}}
		rep, _ := attack(t, Config{URLs: []string{srv.URL}, Pattern: p, Duration: 200 * time.Millisecond, Seed: 1, Header: h, StdTransport: std})
		if rep.Summary.Completed == 0 {
			t.Fatalf("std=%v: nothing completed", std)
		}
		if len(hosts) != 1 || hosts["api.bench.kind.local"] != int(rep.Summary.Completed) {
			t.Errorf("std=%v: hosts seen %v, want all %d on api.bench.kind.local", std, hosts, rep.Summary.Completed)
		}
		for _, tr := range traces {
			if tr != "1" {
				t.Errorf("std=%v: X-Trace %q, want exactly one 1", std, tr)
				break
			}
		}
	}
}

// Answers naming a revision are broken down by it, per function name: a
// tag's URL and the function's own count for the same revision; a 503
// is a drop of the revision that answered.
func TestRevisionBreakdown(t *testing.T) {
	srv := okServer(t, func(w http.ResponseWriter, r *http.Request) {
		rev := "v1"
		if r.URL.Path == "/tag/" || r.URL.Query().Get("n") == "odd" {
			rev = "v2"
		}
		w.Header().Set(HeaderRevision, rev)
		if r.URL.Path == "/tag/" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	var arrivals fixed
	for i := range 30 {
		arrivals = append(arrivals, traffic.Arrival{At: time.Duration(i) * 2 * time.Millisecond, Function: i % 3})
	}
	rep, _ := attack(t, Config{URLs: []string{srv.URL + "/fn/", srv.URL + "/fn/?n=odd", srv.URL + "/tag/"},
		Functions: []string{"api", "api", "api"}, Pattern: arrivals, Duration: time.Second})
	got := fmt.Sprint(rep.Summary.Revisions)
	revs := rep.Summary.Revisions
	if len(revs) != 2 || revs[0].Function != "api" || revs[0].Revision != "v1" || revs[0].Requests != 10 || revs[0].Completed != 10 ||
		revs[1].Revision != "v2" || revs[1].Requests != 20 || revs[1].Completed != 10 || revs[1].Dropped != 10 {
		t.Errorf("revisions %s; want api/v1 with 10 and api/v2 with 20, 10 of them dropped", got)
	}
}
