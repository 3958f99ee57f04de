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
	"github.com/scalebench/scalebench/scenarios"
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
		Scenarios: []Scenario{
			{
				Name: "spike", Description: "A flash crowd.", Traffic: "spike:base=5,peak=150,at=2m,length=60s",
				SLOs: []scenarios.SLO{{Metric: "latency_ms.p99", Max: 1000}, {Metric: "cold_start_ratio", Max: 0.01}},
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
			"Pick kpa: it meets every SLO (latency_ms.p99<=1s, cold_start_ratio<=0.01) at the lowest cost, 900 pod-seconds, 62% less than the runner-up keepalive.",
			"Missing an SLO: hpa (latency_ms.p99 2.50 s > 1.00 s).",
			"Fewest cold starts: keepalive with 5",
			"Dropped requests: hpa 120 (1.20%).",
		}},
		{"no SLOs: cheapest named", fixture().Scenarios[1], []string{
			"Cheapest: kpa at 600 pod-seconds, 9% less than the runner-up knative.",
			"Fewest cold starts: kpa with none",
			"Every policy has the same p99 latency",
		}},
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
	// Spike has all three charts; steady has no series and no cold start,
	// so only its cost chart.
	if n := strings.Count(s, "<svg"); n != 4 {
		t.Errorf("report.html has %d charts, want 4", n)
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
