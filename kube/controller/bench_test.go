package controller

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scalebench/scalebench/platform/queueproxy"
)

// BenchmarkTick1000 is the controller's cost per revision per tick with
// 1,000 opted-in Deployments of one ready pod each. An op is one second of
// the controller's work: a scrape round (the queue-proxy exposition parsed
// with expfmt and turned into rates) and a Step of the autoscaler loop that
// records every revision's second and, every other second, ticks its KPA.
// A tick (the KPA's 2 s) is two ops, which the per-tick figures count.
// The scrape targets are stubbed with a real queue-proxy's exposition, so
// HTTP is not measured; the API is not written (the revisions are steady).
func BenchmarkTick1000(b *testing.B) {
	const n = 1000
	exposition := queueProxyExposition(b)
	var objs []runtime.Object
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("fn%04d", i)
		objs = append(objs, deployment(name, 1, map[string]string{ClassAnnotation: "kpa"}), pod(name, 0, true))
	}
	client := fake.NewClientset(objs...)
	clk := &fakeClock{now: time.Unix(100000, 0)}
	fetch := func(context.Context, string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(exposition)), nil
	}
	c, err := New(Config{Client: client, Namespace: "fns", Fetcher: fetcherFunc(fetch), Clock: clk, Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.factory.Start(ctx.Done())
	cache.WaitForCacheSync(ctx.Done(), c.synced...)
	for i := 0; i < n; i++ {
		if err := c.sync(ctx, fmt.Sprintf("fns/fn%04d", i)); err != nil {
			b.Fatal(err)
		}
	}
	if got := len(c.Revisions()); got != n {
		b.Fatalf("%d revisions, want %d", got, n)
	}
	now := clk.Now()
	// Warm up: every revision's first tick and a first scrape.
	c.scraper.Scrape(ctx, now)
	c.loop.Step(now)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Second)
		clk.set(now)
		c.scraper.Scrape(ctx, now)
		c.loop.Step(now)
	}
	b.StopTimer()
	// CPU time as well as wall time: on a shared machine the wall time of
	// the scrape workers includes waiting for a core.
	ticks := float64(b.N) / 2
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/ticks/n, "cpu-ns/revision-tick")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/ticks/n, "ns/revision-tick")
}

type fetcherFunc func(context.Context, string) (io.ReadCloser, error)

func (f fetcherFunc) Fetch(ctx context.Context, url string) (io.ReadCloser, error) {
	return f(ctx, url)
}

// queueProxyExposition renders a real queue-proxy's metrics after some
// traffic, in the text format it serves.
func queueProxyExposition(b *testing.B) []byte {
	qp, err := queueproxy.New(queueproxy.Config{Pod: "fn-abc12-0", Addr: "127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		qp.TryAcquire()
	}
	qp.Release()
	qp.Collect(time.Now())
	mfs, err := qp.Registry().Gather()
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			b.Fatal(err)
		}
	}
	return buf.Bytes()
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
