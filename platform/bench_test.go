package platform

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalebench/scalebench/platform/queueproxy"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/traffic"
)

// BenchmarkWarmPathOverhead measures what the activator and queue-proxy add
// to a warm request: in the same run, at 2,000 requests/s in total,
// requests alternate between the pod's own address and the platform's URL.
// Reported: p50 and p99 of each path and the difference. Run with a fixed
// count, e.g. -benchtime=20000x (10 s of traffic).
func BenchmarkWarmPathOverhead(b *testing.B) {
	p := start(b, Function{Name: "f", Settings: map[string]string{"min-scale": "1"}})
	waitReady(b, p, "f", 1)
	direct := "http://" + p.PodList("f")[0].Addr + "/"
	via := p.URL() + "/"
	client := &http.Client{Transport: queueproxy.DefaultTransport()}
	// Warm both connection pools.
	for i := 0; i < 200; i++ {
		for _, u := range []string{direct, via} {
			if err := fetch(client, u); err != nil {
				b.Fatal(err)
			}
		}
	}
	const rate = 2000
	lat := [2][]time.Duration{make([]time.Duration, b.N), make([]time.Duration, b.N)}
	var wg sync.WaitGroup
	var failed sync.Once
	var ferr error
	b.ResetTimer()
	begin := time.Now()
	for i := 0; i < 2*b.N; i++ {
		at := begin.Add(time.Duration(i) * time.Second / rate)
		time.Sleep(time.Until(at))
		path, idx := i%2, i/2
		url := direct
		if path == 1 {
			url = via
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			if err := fetch(client, url); err != nil {
				failed.Do(func() { ferr = err })
			}
			lat[path][idx] = time.Since(t0)
		}()
	}
	wg.Wait()
	b.StopTimer()
	if ferr != nil {
		b.Fatal(ferr)
	}
	d50, d99 := quantile(lat[0], 0.5), quantile(lat[0], 0.99)
	v50, v99 := quantile(lat[1], 0.5), quantile(lat[1], 0.99)
	b.ReportMetric(us(d50), "direct-p50-µs")
	b.ReportMetric(us(d99), "direct-p99-µs")
	b.ReportMetric(us(v50), "platform-p50-µs")
	b.ReportMetric(us(v99), "platform-p99-µs")
	b.ReportMetric(us(v50-d50), "added-p50-µs")
	b.ReportMetric(us(v99-d99), "added-p99-µs")
}

// BenchmarkScaleFromZeroOverhead measures what `scalebench run` adds to a
// scale from zero, on the path the command takes: RunScenario, which the
// command's local backend calls, on the scenario the command builds from
// its flags (issue 14's `--pattern 'onoff:rate=20,on=5s,off=25s' --init
// 100ms --policy knative --set stable-window=6s --set
// scale-to-zero-grace-period=6s`, fn with the same flags, 30 s per burst),
// so every burst but the first finds the revision at zero (scaled there by
// the policy, as in the command) and its first request pokes the
// autoscaler, which ticks at once, scales, and the pod manager spawns fn;
// fn's readiness line makes the pod ready and the activator releases the
// request. One iteration is one burst; run with -benchtime=10x (the
// command's 5 minutes).
//
// Reported, over the first request of each burst: its latency from the
// intended send time minus the init time the instance reports (X-Init-Ms,
// fn's measured 100 ms sleep), as the README's figure reads it from
// requests.csv; how late the load generator sent it; and the platform's
// own breakdown of the scales from zero.
func BenchmarkScaleFromZeroOverhead(b *testing.B) {
	const (
		initTime = 100 * time.Millisecond
		period   = 30 * time.Second
	)
	pat, err := traffic.Parse("onoff:rate=20,on=5s,off=25s")
	if err != nil {
		b.Fatal(err)
	}
	sc := &scenarios.Scenario{Name: "pattern " + pat.String(), Seed: scenarios.DefaultSeed, Traffic: pat,
		Duration:  time.Duration(b.N) * period,
		Functions: []scenarios.Function{{Name: "fn", MemoryMB: scenarios.DefaultMemoryMB}}}
	pol := scenarios.Policy{Name: "knative", Settings: map[string]string{"stable-window": "6s", "scale-to-zero-grace-period": "6s"}}
	// The fn flags `scalebench run --init 100ms` passes.
	args := []string{"--init=" + initTime.String(), "--init-mode=sleep", "--work=0s", "--spin=0s", "--alloc=0"}
	var csv bytes.Buffer
	b.ResetTimer()
	res, err := RunScenario(context.Background(), sc, pol, RunOptions{FnBinary: fnBinary, FnArgs: args, Requests: &csv})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	over, late, err := firstOfBurstOverhead(&csv, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	if len(over) != b.N {
		b.Fatalf("%d bursts seen in requests.csv, want %d", len(over), b.N)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(quantile(over, 0.5)), "overhead-p50-ms")
	b.ReportMetric(ms(quantile(over, 0.95)), "overhead-p95-ms")
	b.ReportMetric(ms(quantile(late, 0.5)), "send-late-p50-ms")
	if st := res.Summary.PodStartup; st != nil {
		b.ReportMetric(st.PokeToSpawn.P50, "poke-to-spawn-p50-ms")
		b.ReportMetric(st.SpawnToListening.P50-ms(initTime), "spawn-to-listening-minus-init-p50-ms")
		b.ReportMetric(st.ListeningToReady.P50, "listening-to-ready-p50-ms")
		b.ReportMetric(st.ReadyToRelease.P50, "ready-to-release-p50-ms")
	}
}

// firstOfBurstOverhead reads requests.csv and returns, for the first request
// of each burst (a request intended at least gap after the one before it,
// and the very first), its latency minus the instance's reported init time,
// and how long after its intended time it was sent.
func firstOfBurstOverhead(r io.Reader, gap time.Duration) (over, late []time.Duration, err error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, nil, err
	}
	if len(rows) < 2 {
		return nil, nil, fmt.Errorf("requests.csv: no requests")
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	type req struct{ intended, sent, latency, init float64 }
	var reqs []req
	for _, row := range rows[1:] {
		var q req
		for _, f := range []struct {
			name string
			dst  *float64
		}{{"intended_ms", &q.intended}, {"sent_ms", &q.sent}, {"latency_ms", &q.latency}, {"init_ms", &q.init}} {
			v, err := strconv.ParseFloat(row[col[f.name]], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("requests.csv: %s %q: %v", f.name, row[col[f.name]], err)
			}
			*f.dst = v
		}
		reqs = append(reqs, q)
	}
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].intended < reqs[j].intended })
	gapMs := float64(gap) / float64(time.Millisecond)
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	for i, q := range reqs {
		if i == 0 || q.intended-reqs[i-1].intended >= gapMs {
			over = append(over, d(q.latency-q.init))
			late = append(late, d(q.sent-q.intended))
		}
	}
	return over, late, nil
}

func fetch(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return &statusError{url: url, code: resp.StatusCode}
	}
	return nil
}

type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string {
	return strings.TrimSpace(e.url) + ": status " + http.StatusText(e.code)
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
