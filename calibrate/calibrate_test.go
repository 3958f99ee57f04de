package calibrate

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/bench"
	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/scenarios"
)

func TestEmpiricalQuantiles(t *testing.T) {
	cases := []struct {
		name    string
		samples []time.Duration
		p50     time.Duration
	}{
		{"one sample", []time.Duration{40 * time.Millisecond}, 40 * time.Millisecond},
		{"odd count", []time.Duration{30, 10, 20}, 20},
		{"even count interpolates", []time.Duration{10, 20, 30, 40}, 25},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := empirical(tc.samples)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Quantile(0.5); got != tc.p50 {
				t.Fatalf("median %v, want %v", got, tc.p50)
			}
			s := sorted(tc.samples)
			if e.Quantile(0) != s[0] || e.Quantile(1) != s[len(s)-1] {
				t.Fatalf("ends %v..%v, want %v..%v", e.Quantile(0), e.Quantile(1), s[0], s[len(s)-1])
			}
		})
	}
}

// TestRunTinyScenario runs a few seconds for real and in simulation and
// checks the measured start-up against the scenario's own phases: every pod
// must take at least its schedule + app init (200 ms) and not absurdly more.
// TestRunNeedsAPathProber: calibration times the real request path, so a
// backend that cannot (the simulator itself) is refused before any run.
func TestRunNeedsAPathProber(t *testing.T) {
	sc := &scenarios.Scenario{Name: "s", Duration: time.Second}
	_, err := Run(context.Background(), bench.Simulator{}, sc, scenarios.Policy{Name: "kpa"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot time its request path") {
		t.Fatalf("err = %v, want a refusal naming the request path", err)
	}
}

func TestRunTinyScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes for several seconds")
	}
	dir := t.TempDir()
	fn := filepath.Join(dir, "fn")
	if out, err := exec.Command("go", "build", "-o", fn, "github.com/scalebench/scalebench/cmd/fn").CombinedOutput(); err != nil {
		t.Fatalf("build fn: %v\n%s", err, out)
	}
	sc, err := scenarios.Parse("tiny.yaml", []byte(`name: tiny
duration: 4s
seed: 7
traffic: constant:rate=40
functions:
  - name: api
    containerConcurrency: 2
    service: fixed:50ms
    startup:
      schedule: fixed:100ms
      containerStart: fixed:0s
      appInit: fixed:100ms
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := Run(ctx, bench.Local{FnBinary: fn}, sc, scenarios.Policy{Name: "kpa"}, Options{ProbeRequests: 50})
	if err != nil {
		t.Fatal(err)
	}
	if left := pods.Running(fn); len(left) > 0 {
		t.Fatalf("fn processes left: %v", left)
	}
	m := res.Measured
	if m.Startup.N < 1 || m.Startup.P0 < 200 || m.Startup.Max > 3000 {
		t.Fatalf("start-up %+v ms, want every pod between its 200 ms of phases and 3 s", m.Startup)
	}
	if m.Delay.P0 < 100 || m.Process.P0 < 100 {
		t.Fatalf("before exec %+v, after exec %+v ms: want >= 100 ms each (schedule, app init)", m.Delay, m.Process)
	}
	if m.Direct.N != 50 || m.Proxied.P50 <= 0 || m.Proxied.P50 < m.Direct.P0 {
		t.Fatalf("probe direct %+v proxied %+v: want 50 samples, proxied slower than the fastest direct", m.Direct, m.Proxied)
	}
	want := []string{"cold_starts", "latency_ms.p95", "pod_seconds"}
	for i, name := range want {
		r := res.Rows[i]
		if r.Metric != name || !r.Target {
			t.Fatalf("row %d is %+v, want target row %s", i, r, name)
		}
	}
	if res.Local.Requests < 140 || res.Simulated.Requests != res.Local.Requests && res.Simulated.Requests < 140 {
		t.Fatalf("requests local %d, simulated %d: want about 160 each", res.Local.Requests, res.Simulated.Requests)
	}
	if res.Local.PodSeconds <= 0 || res.Simulated.PodSeconds <= 0 {
		t.Fatalf("pod-seconds local %v, simulated %v: want both positive", res.Local.PodSeconds, res.Simulated.PodSeconds)
	}
	var b bytes.Buffer
	if err := res.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(res.Rows)+1 || !strings.Contains(lines[0], "diff %") {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, r := range res.Rows {
		if !strings.HasPrefix(strings.TrimSpace(lines[i+1]), r.Metric) {
			t.Fatalf("table line %d %q does not start with %s", i+1, lines[i+1], r.Metric)
		}
	}
	fmt.Fprint(os.Stderr, b.String())

	// The series files, and the local ticks on the simulator's grid: with
	// Deployed the traffic starts at a scheduled tick, so every scheduled
	// tick falls at a whole multiple of the 2 s interval from the start
	// (within the controller's 50 ms step, on a busy machine a little more).
	out := t.TempDir()
	if err := res.WriteSeries(out); err != nil {
		t.Fatal(err)
	}
	ticks := readCSV(t, filepath.Join(out, "local-ticks.csv"))
	if len(ticks) < 3 || ticks[0][0] != "t_seconds" {
		t.Fatalf("local-ticks.csv: %d rows, header %v", len(ticks), ticks[0])
	}
	scheduled := 0
	for _, r := range ticks[1:] {
		ts, _ := strconv.ParseFloat(r[0], 64)
		if r[15] == "true" || ts < 0 {
			continue
		}
		scheduled++
		if off := math.Mod(ts, 2); off > 0.15 && off < 1.85 {
			t.Errorf("scheduled tick at %.3f s, %.3f s off the 2 s grid from the traffic's start", ts, off)
		}
	}
	if scheduled < 2 {
		t.Errorf("only %d scheduled ticks after the traffic began", scheduled)
	}
	if secs := readCSV(t, filepath.Join(out, "sim-seconds.csv")); len(secs) < 5 || secs[1][0] != "1" {
		t.Errorf("sim-seconds.csv: %d rows, first %v; want one per simulated second from 1", len(secs), secs[1])
	}
	if podRows := readCSV(t, filepath.Join(out, "local-pods.csv")); len(podRows) != m.Startup.N+1 {
		t.Errorf("local-pods.csv: %d rows, want a header and %d pods", len(podRows), m.Startup.N)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestReplayGivesPodsTheMeasuredStartups: the simulator's pods created
// after time 0 get the real run's start-ups in creation order, then draws
// from the fallback; pods created by one decision are ordered by name.
func TestReplayGivesPodsTheMeasuredStartups(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	sts := []bench.PodStartup{
		{Pod: "api-10", Created: at(32), Ready: at(33.3)},
		{Pod: "api-3", Created: at(32), Ready: at(32.9)},
		{Pod: "api-1", Created: at(-2), Ready: at(-1.2)},
	}
	got := inCreationOrder(sts)
	if got[0].Pod != "api-1" || got[1].Pod != "api-3" || got[2].Pod != "api-10" {
		t.Fatalf("order %s %s %s, want api-1 api-3 api-10", got[0].Pod, got[1].Pod, got[2].Pod)
	}
	rest, err := empirical([]time.Duration{5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		seq  []time.Duration
		want []time.Duration
	}{
		{"replayed then fallback", []time.Duration{900 * time.Millisecond, 1300 * time.Millisecond},
			[]time.Duration{900 * time.Millisecond, 1300 * time.Millisecond, 5 * time.Second}},
		{"nothing measured", nil, []time.Duration{5 * time.Second, 5 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &replay{seq: tc.seq, rest: rest}
			rng := rand.New(rand.NewPCG(1, 2))
			for i, w := range tc.want {
				if d := r.Sample(rng); d != w {
					t.Fatalf("draw %d = %v, want %v", i, d, w)
				}
			}
			if r.String() != rest.String() || r.Mean() != rest.Mean() {
				t.Fatalf("String/Mean %q %v, want the fallback's %q %v", r.String(), r.Mean(), rest.String(), rest.Mean())
			}
		})
	}
}
