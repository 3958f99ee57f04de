package reports

import (
	"bytes"
	"flag"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/results"
)

var update = flag.Bool("update", false, "rewrite golden files")

// summary builds a run's summary from latencies, so the fixture's
// histograms and percentiles agree the way a real run's do.
func summary(requests, cold int64, warm, coldLat time.Duration, podSeconds, idle float64, dropped int64) results.Summary {
	all, c := results.NewHistogram(), results.NewHistogram()
	all.RecordN(warm, requests-cold)
	all.RecordN(coldLat, cold)
	c.RecordN(coldLat, cold)
	s := results.Summary{Kind: "sim", Requests: requests, Completed: requests - dropped, Dropped: dropped,
		ColdStarts: cold, PodSeconds: podSeconds, IdlePodSeconds: idle, MaxPods: int(podSeconds / 60), DurationSeconds: 300}
	s.Fill(all, c)
	return s
}

func series(peak float64) []Point {
	var out []Point
	for t := 0; t < 300; t++ {
		rate := 5.0
		if t >= 120 && t < 180 {
			rate = peak
		}
		lat := 100.0
		if t == 120 {
			lat = 1200
		}
		out = append(out, Point{T: float64(t), RPS: rate, Desired: rate / 7, Ready: math.Max(0, rate/7-1), LatencyP95: lat})
	}
	return Bucket(out, 100)
}

func fixture() Suite {
	return Suite{
		Title: "scalebench report",
		Notes: []string{"Real runs: none (fixture)."},
		Setup: []Fact{{Name: "Seeds", Value: "spike 4, steady 1"}},
		Policies: []PolicyInfo{
			{Label: "kpa", Summary: "Knative's KPA"},
			{Label: "keepalive", Summary: "Lambda-style keep-alive", Settings: "keep-alive=1m"},
		},
		Scenarios: []Scenario{
			{
				Name: "spike", Description: "A flash crowd.", Setup: "5m simulated, seed 4", Traffic: "spike:base=5,peak=150,at=2m,length=60s",
				SLOs: []results.SLO{{Metric: "latency_ms.p99", Max: 1000}, {Metric: "cold_start_ratio", Max: 0.01}},
				Runs: []Run{
					{Label: "kpa", Backend: "sim", Summary: summary(10000, 40, 100*time.Millisecond, 1100*time.Millisecond, 900, 200, 0), Series: series(150)},
					{Label: "hpa", Backend: "sim", Summary: summary(10000, 300, 100*time.Millisecond, 2500*time.Millisecond, 700, 100, 120), Series: series(150)},
					{Label: "keepalive", Backend: "sim", Summary: summary(10000, 5, 100*time.Millisecond, 1000*time.Millisecond, 2400, 1500, 0), Series: series(150)},
					{Label: "kpa", Backend: "local", Err: "platform unavailable"},
				},
			},
			{
				Name: "steady", Description: "Constant load.", Traffic: "poisson:rate=50",
				Runs: []Run{
					{Label: "kpa", Backend: "sim", Summary: summary(30000, 0, 80*time.Millisecond, 0, 600, 50, 0)},
					{Label: "knative", Backend: "sim", Summary: summary(30000, 0, 80*time.Millisecond, 0, 660, 90, 0)},
				},
			},
		},
	}
}

// TestMarkdownGolden pins report.md; run with -update after an intended
// change and review the diff.
func TestMarkdownGolden(t *testing.T) {
	got := Markdown(fixture())
	const golden = "testdata/report.golden.md"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report.md differs from %s (rerun with -update to accept):\n%s", golden, got)
	}
}

func TestVerdict(t *testing.T) {
	cases := []struct {
		name string
		sc   Scenario
		want []string
	}{
		{"cheapest meeting SLOs wins", fixture().Scenarios[0], []string{
			"Pick kpa: meets every SLO (latency_ms.p99<=1s, cold_start_ratio<=0.01) at the lowest cost, 900 pod-seconds, 62% less than the runner-up keepalive.",
			"Missing an SLO: hpa (latency_ms.p99 2.50 s > 1.00 s).",
			"Cold starts: keepalive has the fewest, 5 (0.050% of requests).",
			"Cost: hpa is the cheapest at 700 pod-seconds, 22% less than the runner-up kpa.",
			"Trade-off: keepalive avoids 295 of hpa's 300 cold starts but uses 3.43× its pod-seconds.",
			"Dropped requests: hpa 120 (1.20%).",
		}},
		{"no SLOs: ties named together", fixture().Scenarios[1], []string{
			"Cost: kpa is the cheapest at 600 pod-seconds, 9% less than the runner-up knative.",
			"Cold starts: kpa and knative have none.",
			"Latency: every policy has the same p99",
			"Trade-off: none between cost and cold starts; kpa is both the cheapest and has the fewest cold starts.",
		}},
		{"near tie", Scenario{Name: "x", Runs: []Run{
			{Label: "a", Backend: "sim", Summary: summary(1000, 1, 100*time.Millisecond, time.Second, 1000, 0, 0)},
			{Label: "b", Backend: "sim", Summary: summary(1000, 1, 100*time.Millisecond, time.Second, 1004, 0, 0)},
		}}, []string{"Cost: a is the cheapest at 1000 pod-seconds, within 1% of the runner-up b."}},
		{"nothing ran", Scenario{Name: "x", Runs: []Run{{Label: "kpa", Err: "boom"}}}, []string{"No run of this scenario completed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(Verdict(c.sc), "\n")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("verdict lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestHTMLSelfContained(t *testing.T) {
	page, err := HTML(fixture())
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, bad := range []string{"<script", "<link", "src=\"http", "href=\"http", "@import"} {
		if strings.Contains(s, bad) {
			t.Errorf("report.html contains %q; it must be self-contained", bad)
		}
	}
	// Spike has its four charts (over time, pods, CDF, cost; its one real
	// run failed, so no real-run chart); steady has no series and no cold
	// start, so only its cost chart.
	if n := strings.Count(s, "<svg"); n != 5 {
		t.Errorf("report.html has %d charts, want 5", n)
	}
}

func TestBenchSummary(t *testing.T) {
	b := BenchSummary(fixture())
	if b.Kind != "bench" || len(b.Runs) != 5 {
		t.Fatalf("bench summary kind %q with %d runs, want bench with the 5 completed runs", b.Kind, len(b.Runs))
	}
	if b.Runs[0].Scenario != "spike" || b.Runs[0].Policy != "kpa" || b.Runs[0].Backend != "sim" {
		t.Errorf("first run %+v lacks its scenario, policy or backend", b.Runs[0])
	}
}

// TestRecorderLoadgenCSV feeds the load generator's requests.csv: arrivals,
// cold starts and failures land at the intended send time, and only
// completed requests count towards latency.
func TestRecorderLoadgenCSV(t *testing.T) {
	rec := NewRecorder(4, 4)
	csv := "seq,function,intended_ms,sent_ms,latency_ms,sent_latency_ms,status,bytes,instance,cold,init_ms,error\n" +
		"0,0,100,101,900,899,200,2,pod-1,true,600,\n" +
		"1,0,1500,1500,100,100,200,2,pod-1,false,0,\n" +
		"2,0,1600,1600,30000,30000,503,0,,false,0,\"queue, full\"\n" +
		"3,0,2500,2500,120,120,200,2,pod-1,false,0,\n"
	// Split mid-row, as a buffered writer may.
	rec.Write([]byte(csv[:130]))
	rec.Write([]byte(csv[130:]))
	pts := rec.Points()
	if len(pts) != 3 {
		t.Fatalf("%d points, want 3 (seconds 0-2)", len(pts))
	}
	want := []struct {
		rps          float64
		cold, failed int64
		p95          float64
	}{{1, 1, 0, 900}, {2, 0, 1, 100}, {1, 0, 0, 120}}
	for i, w := range want {
		p := pts[i]
		if p.RPS != w.rps || p.Cold != w.cold || p.Failed != w.failed {
			t.Errorf("second %d: rps %g cold %d failed %d, want %g %d %d", i, p.RPS, p.Cold, p.Failed, w.rps, w.cold, w.failed)
		}
		// Bins are 10% wide.
		if p.LatencyP95 < w.p95 || p.LatencyP95 > w.p95*1.1 {
			t.Errorf("second %d: p95 %g ms, want %g within a 10%% bin", i, p.LatencyP95, w.p95)
		}
	}
}

// TestRecorderIgnoresDrain checks rows after the run's end (the
// simulator's drain) make no extra, empty point.
func TestRecorderIgnoresDrain(t *testing.T) {
	rec := NewRecorder(10, 5)
	for s := int64(0); s <= 12; s++ {
		rec.Second(s, 3, 1, 1)
		rec.EndSecond(s)
	}
	pts := rec.Points()
	if len(pts) != 5 {
		t.Fatalf("%d points, want 5", len(pts))
	}
	if last := pts[len(pts)-1]; last.RPS != 3 {
		t.Errorf("last point %g req/s, want 3", last.RPS)
	}
}

func TestOverviewAndScores(t *testing.T) {
	f := fixture()
	ov := Overviews(f)
	if len(ov) != 2 || ov[0].Pick != "kpa" || ov[0].FewestCold != "keepalive" || ov[1].Pick != "—" || ov[1].Cheapest != "kpa" {
		t.Errorf("overviews %+v", ov)
	}
	sc := PolicyScores(f)
	byLabel := map[string]PolicyScore{}
	for _, p := range sc {
		byLabel[p.Label] = p
	}
	// kpa: 900/700 in spike, 600/600 in steady: geometric mean sqrt(9/7).
	if k := byLabel["kpa"]; k.Judged != 1 || k.Met != 1 || math.Abs(k.RelCost-math.Sqrt(900.0/700)) > 1e-9 {
		t.Errorf("kpa score %+v", k)
	}
	if h := byLabel["hpa"]; h.Met != 0 || h.RelCost != 1 {
		t.Errorf("hpa score %+v", h)
	}
}
