package platform

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalebench/scalebench/loadgen"
	"github.com/scalebench/scalebench/platform/queueproxy"
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

// BenchmarkScaleFromZeroOverhead measures first-response latency minus the
// function's configured init time (100 ms) for cold starts from zero: each
// iteration starts a platform with no pods, sends one request and stops it.
// Run with -benchtime=20x for the 20 cold starts of the README's figure.
func BenchmarkScaleFromZeroOverhead(b *testing.B) {
	const initTime = 100 * time.Millisecond
	over := make([]time.Duration, 0, b.N)
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pl, err := Start(Config{FnBinary: fnBinary, Functions: []Function{{Name: "f", Args: []string{"--init=" + initTime.String()},
			Settings: map[string]string{"initial-scale": "0", "allow-zero-initial-scale": "true"}}}})
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // let the first (zero) tick pass
		b.StartTimer()
		t0 := time.Now()
		resp, err := client.Get(pl.URL() + "/")
		took := time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get(loadgen.HeaderColdStart) != "true" {
			b.Fatalf("cold request: %d %v", resp.StatusCode, resp.Header)
		}
		over = append(over, took-initTime)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = pl.Close(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(quantile(over, 0.5))/float64(time.Millisecond), "overhead-p50-ms")
	b.ReportMetric(float64(quantile(over, 0.95))/float64(time.Millisecond), "overhead-p95-ms")
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
