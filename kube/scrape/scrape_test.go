package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scalebench/scalebench/platform/queueproxy"
)

// exposition is a queue-proxy's text exposition with the given readings.
func exposition(busy, requests, inFlight float64) string {
	return fmt.Sprintf(`# TYPE scalebench_queueproxy_request_seconds_total counter
scalebench_queueproxy_request_seconds_total{pod="p"} %g
# TYPE scalebench_queueproxy_requests_total counter
scalebench_queueproxy_requests_total{pod="p"} %g
# TYPE scalebench_queueproxy_in_flight_requests gauge
scalebench_queueproxy_in_flight_requests{pod="p"} %g
`, busy, requests, inFlight)
}

// stub serves, per URL, the next of a list of bodies (or errors).
type stub map[string][]string

func (s stub) Fetch(_ context.Context, url string) (io.ReadCloser, error) {
	bodies := s[url]
	if len(bodies) == 0 {
		return nil, errors.New("connection refused")
	}
	b := bodies[0]
	s[url] = bodies[1:]
	if b == "" {
		return nil, errors.New("connection refused")
	}
	return io.NopCloser(strings.NewReader(b)), nil
}

func TestRatesFromCounters(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cases := []struct {
		name        string
		bodies      map[string][]string
		rounds      int
		wantConc    float64
		wantRPS     float64
		wantErrors  float64
		wantPodsNow int
	}{
		{"first scrape uses in-flight", map[string][]string{"a": {exposition(10, 5, 3)}}, 1, 3, 0, 0, 1},
		{"rate over a second", map[string][]string{"a": {exposition(10, 5, 3), exposition(12.5, 9, 2)}}, 2, 2.5, 4, 0, 1},
		{"rate over two seconds after a failed scrape", map[string][]string{"a": {exposition(10, 5, 0), "", exposition(14, 9, 0)}}, 3, 2, 2, 1, 1},
		{"two pods sum", map[string][]string{
			"a": {exposition(0, 0, 0), exposition(1, 10, 1)},
			"b": {exposition(5, 5, 0), exposition(8, 25, 3)},
		}, 2, 4, 30, 0, 2},
		{"restarted queue-proxy counts from zero", map[string][]string{"a": {exposition(100, 50, 0), exposition(0.5, 2, 1)}}, 2, 0.5, 2, 0, 1},
		{"not a queue-proxy", map[string][]string{"a": {"# TYPE up gauge\nup 1\n"}}, 1, 0, 0, 1, 0},
		{"unparsable", map[string][]string{"a": {"this is { not prometheus\n"}}, 1, 0, 0, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			s, err := New(Options{Fetcher: stub(tc.bodies), Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			var targets []Target
			for url := range tc.bodies {
				targets = append(targets, Target{Pod: "pod-" + url, URL: url})
			}
			s.SetTargets("ns/fn", targets)
			for i := 0; i < tc.rounds; i++ {
				s.Scrape(context.Background(), t0.Add(time.Duration(i)*time.Second))
			}
			st, err := s.Stat("ns/fn", t0)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(st.Concurrency-tc.wantConc) > 1e-9 || math.Abs(st.RPS-tc.wantRPS) > 1e-9 {
				t.Fatalf("stat %+v, want concurrency %g rps %g", st, tc.wantConc, tc.wantRPS)
			}
			if got := testutil.ToFloat64(s.errs.WithLabelValues("ns/fn")); got != tc.wantErrors {
				t.Fatalf("%g scrape errors, want %g", got, tc.wantErrors)
			}
			if got := len(s.Pods("ns/fn")); got != tc.wantPodsNow {
				t.Fatalf("%d pods with values, want %d", got, tc.wantPodsNow)
			}
		})
	}
}

func TestTargetsAndRevisions(t *testing.T) {
	s, _ := New(Options{Fetcher: stub{}})
	if _, err := s.Stat("ns/none", time.Now()); !errors.Is(err, ErrUnknownRevision) {
		t.Fatalf("unknown revision: %v", err)
	}
	s.SetTargets("ns/b", nil)
	s.SetTargets("ns/a", []Target{{Pod: "p", URL: "u"}})
	if got := s.Revisions(); len(got) != 2 || got[0] != "ns/a" {
		t.Fatalf("revisions %v", got)
	}
	s.Remove("ns/a")
	if got := s.Revisions(); len(got) != 1 || got[0] != "ns/b" {
		t.Fatalf("revisions after Remove %v", got)
	}
	st, err := s.Stat("ns/b", time.Now())
	if err != nil || st.Concurrency != 0 {
		t.Fatalf("a revision without pods: %+v %v", st, err)
	}
}

// TestRealQueueProxy scrapes a real queue-proxy's registry over loopback
// HTTP: two requests held for the whole interval read as concurrency 2.
func TestRealQueueProxy(t *testing.T) {
	qp, err := queueproxy.New(queueproxy.Config{Pod: "p", Addr: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(qp.Registry(), promhttp.HandlerOpts{}))
	defer srv.Close()
	s, _ := New(Options{})
	s.SetTargets("ns/fn", []Target{{Pod: "p", URL: srv.URL + "/metrics"}})
	qp.TryAcquire()
	qp.TryAcquire()
	s.Scrape(context.Background(), time.Now())
	time.Sleep(300 * time.Millisecond)
	s.Scrape(context.Background(), time.Now())
	st, _ := s.Stat("ns/fn", time.Now())
	if math.Abs(st.Concurrency-2) > 0.2 {
		t.Fatalf("concurrency %v, want about 2", st.Concurrency)
	}
	pods := s.Pods("ns/fn")
	if len(pods) != 1 || pods[0].Pod != "p" {
		t.Fatalf("pods %+v", pods)
	}
}
