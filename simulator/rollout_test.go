package simulator

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

// blueGreen is a switch from blue to green at 5 minutes under 100 rps,
// with every autoscaler setting at Knative's defaults: green starts at the
// default initial scale of 1 while the load needs about five pods.
const blueGreen = `
name: bg
duration: 10m
seed: 13
functions:
  - name: api
    containerConcurrency: 10
    service: lognormal:median=250ms,sigma=0.4
    revisions:
      - name: blue
      - name: green
    split:
      - at: 5m
        rollout: green
traffic: poisson:rate=100
policies: [knative]
rollouts:
  - name: instant
  - name: gradual
    duration: 5m
  - name: prescaled
    initialScale: match
    minScale: match
`

func parse(t *testing.T, src string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func policyLabelled(t *testing.T, sc *scenarios.Scenario, label string) scenarios.Policy {
	t.Helper()
	for _, p := range sc.Policies {
		if p.Label == label {
			return p
		}
	}
	t.Fatalf("no policy %s in %v", label, sc.Policies)
	return scenarios.Policy{}
}

func revisionOf(t *testing.T, s results.Summary, name string) results.RevisionSummary {
	t.Helper()
	for _, r := range s.Revisions {
		if r.Revision == name {
			return r
		}
	}
	t.Fatalf("no revision %s in the summary", name)
	return results.RevisionSummary{}
}

// TestRolloutColdStarts is the claim on fixed seeds: an instant
// switch at 100 rps under Knative's defaults makes green cold-start, a
// gradual rollout fewer, and pre-scaling none, at a pod-seconds cost the
// test logs.
func TestRolloutColdStarts(t *testing.T) {
	sc := parse(t, blueGreen)
	got := map[string]results.Summary{}
	for _, v := range []string{"instant", "gradual", "prescaled"} {
		res, err := Run(context.Background(), sc, policyLabelled(t, sc, "knative/"+v), Options{})
		if err != nil {
			t.Fatal(err)
		}
		s := res.Summary
		got[v] = s
		g := revisionOf(t, s, "green")
		if *s.RolloutColdStarts != g.ColdStarts {
			t.Errorf("%s: rollout_cold_starts %d, want green's %d", v, *s.RolloutColdStarts, g.ColdStarts)
		}
		if n := g.Requests + revisionOf(t, s, "blue").Requests; n != s.Requests {
			t.Errorf("%s: revisions' requests add up to %d, want the total %d", v, n, s.Requests)
		}
		t.Logf("%-9s green cold starts %4d, pod-seconds %.1f (green %.1f), p99 %.0f ms",
			v, g.ColdStarts, s.PodSeconds, g.PodSeconds, s.Latency.P99)
	}
	instant := revisionOf(t, got["instant"], "green").ColdStarts
	gradual := revisionOf(t, got["gradual"], "green").ColdStarts
	prescaled := revisionOf(t, got["prescaled"], "green").ColdStarts
	if instant == 0 {
		t.Errorf("instant switch: no cold starts in green; want some (one pod at initial scale against five pods' load)")
	}
	if gradual >= instant {
		t.Errorf("gradual rollout: %d cold starts in green, want fewer than the instant switch's %d", gradual, instant)
	}
	if prescaled != 0 {
		t.Errorf("pre-scaled: %d cold starts in green, want none", prescaled)
	}
	// The cost of pre-scaling: green holds blue's pods from its creation,
	// which under steady load costs less than the instant switch's panic
	// over-shoot (2863 against 3226 pod-seconds on this seed).
	if pre, inst := got["prescaled"].PodSeconds, got["instant"].PodSeconds; pre > inst {
		t.Errorf("pre-scaled: %.1f pod-seconds, want no more than the instant switch's %.1f", pre, inst)
	}
}

// TestRolloutOutputDeterministic checks that the split is a function of the
// scenario and seed alone: two runs write the same bytes.
func TestRolloutOutputDeterministic(t *testing.T) {
	sc := parse(t, canary)
	run := func() (string, string) {
		var ts, req bytes.Buffer
		if _, err := Run(context.Background(), sc, sc.Policies[0], Options{Timeseries: &ts, Requests: &req}); err != nil {
			t.Fatal(err)
		}
		return ts.String(), req.String()
	}
	ts1, req1 := run()
	ts2, req2 := run()
	if ts1 != ts2 || req1 != req2 {
		t.Fatal("two runs of the same scenario and seed differ")
	}
	if !strings.HasPrefix(ts1, "t,function,revision,percent,") || !strings.HasPrefix(req1, "id,function,revision,") {
		t.Errorf("headers %q / %q, want revision columns", ts1[:40], req1[:30])
	}
}

const canary = `
duration: 6m
seed: 3
functions:
  - name: api
    containerConcurrency: 10
    revisions:
      - name: v1
      - name: v2
        tag: canary
        tagTraffic: constant:rate=1
        deployAt: 30s
    split:
      - {at: 1m, percent: {v1: 90, v2: 10}}
      - {at: 2m, percent: {v1: 50, v2: 50}}
      - {at: 3m, percent: {v2: 100}}
traffic: constant:rate=100
policies: [knative]
`

// TestCanarySplit checks that each step's share reaches its revision, that
// tag traffic goes to the tagged revision whatever the split, and that the
// old revision, at 0%, goes to zero through the normal scale-to-zero path.
func TestCanarySplit(t *testing.T) {
	sc := parse(t, canary)
	var ts bytes.Buffer
	res, err := Run(context.Background(), sc, sc.Policies[0], Options{Timeseries: &ts})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&ts).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Arrivals per revision in each step's window, skipping the seconds
	// around a change.
	arrivals := map[string][4]int64{}
	var lastV1Pods int
	for _, r := range rows[1:] {
		sec, _ := strconv.Atoi(r[0])
		n, _ := strconv.ParseInt(r[4], 10, 64)
		win := -1
		switch {
		case sec >= 35 && sec < 60:
			win = 0
		case sec >= 65 && sec < 120:
			win = 1
		case sec >= 125 && sec < 180:
			win = 2
		case sec >= 185 && sec < 360:
			win = 3
		}
		if win >= 0 {
			a := arrivals[r[2]]
			a[win] += n
			arrivals[r[2]] = a
		}
		if r[2] == "v1" {
			lastV1Pods, _ = strconv.Atoi(r[9])
		}
	}
	v1, v2 := arrivals["v1"], arrivals["v2"]
	for i, want := range []float64{0, 0.10, 0.50, 1} {
		// The tag's 1 rps goes to v2 on top of the split.
		secs := []float64{25, 55, 55, 175}[i]
		share := (float64(v2[i]) - secs) / float64(v1[i]+v2[i]-int64(secs))
		if share < want-0.03 || share > want+0.03 {
			t.Errorf("window %d: v2 has %.3f of the route's traffic, want %.2f (v1 %d, v2 %d)", i, share, want, v1[i], v2[i])
		}
	}
	if lastV1Pods != 0 {
		t.Errorf("v1 ends with %d pods at 0%% of the traffic; want it scaled to zero", lastV1Pods)
	}
	if v2 := revisionOf(t, res.Summary, "v2"); v2.FirstTrafficSeconds < 30 || v2.DeployAtSeconds != 30 {
		t.Errorf("v2 deployed at %gs, first traffic at %gs; want 30s and after", v2.DeployAtSeconds, v2.FirstTrafficSeconds)
	}
}

// TestGradualRolloutSteps checks the step rule against Knative's
// computeProperties: 1% when the new revision is Ready, then, from the
// ingress's observation 1 s later, round(99/n) percent every (d-1)/n
// seconds with n = min(99, d-1).
func TestGradualRolloutSteps(t *testing.T) {
	for _, tc := range []struct {
		name     string
		duration string
		// percent of green at seconds after the rollout's start
		want map[int]int
	}{
		{"10s: 9 steps of 11% a second", "10s", map[int]int{0: 1, 1: 1, 2: 12, 3: 23, 5: 45, 9: 89, 10: 100, 12: 100}},
		{"2s: one step of 99%", "2s", map[int]int{0: 1, 1: 1, 2: 100}},
		{"300s: 99 steps of 1% every 3.02 s", "300s", map[int]int{0: 1, 3: 1, 5: 2, 8: 3, 150: 50, 298: 99, 301: 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(blueGreen, "duration: 5m", "duration: "+tc.duration, 1)
			src = strings.Replace(src, "duration: 10m", "duration: 11m", 1)
			sc := parse(t, src)
			var ts bytes.Buffer
			res, err := Run(context.Background(), sc, policyLabelled(t, sc, "knative/gradual"), Options{Timeseries: &ts})
			if err != nil {
				t.Fatal(err)
			}
			start := revisionOf(t, res.Summary, "green").FirstTrafficSeconds
			rows, _ := csv.NewReader(&ts).ReadAll()
			green := map[int]int{}
			for _, r := range rows[1:] {
				if r[2] != "green" {
					continue
				}
				sec, _ := strconv.Atoi(r[0])
				p, _ := strconv.Atoi(r[3])
				// The row of second s shows the split at its end, s+1.
				green[sec+1] = p
			}
			for after, want := range tc.want {
				// Sample just before the next whole second after start+after.
				at := int(start) + after + 1
				if got := green[at]; got != want {
					t.Errorf("%d s after the start (%.2f s): green at %d%%, want %d%%", after, start, got, want)
				}
			}
		})
	}
}

// BenchmarkGradualRollout1000rps is BenchmarkSteady1000rpsKPA's load split
// between two revisions by a 5-minute gradual rollout, so every arrival
// goes through the route's draw: simulated requests per wall-clock second,
// to compare with the one-revision figure in the same run.
func BenchmarkGradualRollout1000rps(b *testing.B) {
	sc, err := scenarios.Parse("bench.yaml", []byte(`
duration: 5m
seed: 1
functions:
  - name: fn
    containerConcurrency: 10
    service: exp:mean=100ms
    revisions: [{name: v1}, {name: v2}]
    split: [{at: 10s, rollout: v2, duration: 5m}]
traffic: poisson:rate=1000
policies: [kpa]
`))
	if err != nil {
		b.Fatal(err)
	}
	var requests int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), sc, sc.Policies[0], Options{Timeseries: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		requests += res.Summary.Requests
	}
	b.ReportMetric(float64(requests)/time.Since(start).Seconds(), "requests/s")
}

// TestTraceWithRevisions: a trace's functions take the template's
// revisions and split. v1 inherits each trace function's measured service
// time; v2 sets its own, which the trace does not replace; each function
// rolls out to v2 at 30 s, and every request lands on one revision.
func TestTraceWithRevisions(t *testing.T) {
	dir := t.TempDir()
	var csvText strings.Builder
	csvText.WriteString("app,func,end_timestamp,duration\n")
	for i := 0; i < 120; i++ {
		end := 1 + float64(i)*0.5
		fmt.Fprintf(&csvText, "a,f1,%.3f,0.200\na,f2,%.3f,0.050\n", end+0.2, end+0.05)
	}
	if err := os.WriteFile(filepath.Join(dir, "inv.csv"), []byte(csvText.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `name: trace-rollout
duration: 70s
seed: 3
functions:
  - name: fn
    containerConcurrency: 1
    revisions:
      - name: v1
      - name: v2
        service: fixed:10ms
    split:
      - {at: 30s, rollout: v2}
traffic:
  trace:
    format: azure2021
    path: inv.csv
policies: [knative]
`
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Functions) != 2 {
		t.Fatalf("%d functions, want the trace's 2", len(sc.Functions))
	}
	for _, f := range sc.Functions {
		if len(f.Revisions) != 2 {
			t.Fatalf("%s: %d revisions, want the template's 2", f.Name, len(f.Revisions))
		}
		if got, want := f.Revisions[0].Service.String(), f.Service.String(); got != want {
			t.Errorf("%s v1: service %s, want the trace's %s", f.Name, got, want)
		}
		if got := f.Revisions[1].Service.String(); got != "fixed:10ms" {
			t.Errorf("%s v2: service %s, want its own fixed:10ms", f.Name, got)
		}
	}
	res, err := Run(context.Background(), sc, sc.Policies[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if len(s.Revisions) != 4 {
		t.Fatalf("%d revisions in the summary, want 2 functions × 2", len(s.Revisions))
	}
	var n int64
	for _, rs := range s.Revisions {
		n += rs.Requests
		if rs.Requests == 0 {
			t.Errorf("%s/%s served nothing; want traffic before and after the rollout", rs.Function, rs.Revision)
		}
	}
	if n != s.Requests || s.Requests != 240 {
		t.Errorf("revisions served %d of %d requests, want all 240 of the trace", n, s.Requests)
	}
}
