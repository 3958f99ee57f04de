//go:build e2e

package runner_test

import (
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/kube/netns"
	"github.com/scalebench/scalebench/results"
)

// markEnv marks every process one scalebench run of these tests starts.
const markEnv = "SCALEBENCH_RUNNER_TEST"

// runScalebench runs `bin/scalebench run --backend kubernetes` the way a
// user does (it enters its network namespace and brings up its own control
// plane) and returns the summary; no process of it may outlive it.
func runScalebench(t *testing.T, args ...string) (*results.Summary, string) {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"scalebench", "fn", "goserver"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("no %s: make build writes it (make e2e does)", filepath.Join(bin, b))
		}
	}
	id := make([]byte, 8)
	rand.Read(id)
	mark := hex.EncodeToString(id)
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(filepath.Join(bin, "scalebench"), append([]string{"run", "--backend", "kubernetes", "--requests", "--out", out}, args...)...)
	cmd.Env = append(os.Environ(), markEnv+"="+mark)
	start := time.Now()
	output, err := cmd.CombinedOutput()
	t.Logf("scalebench run %s (%.1fs):\n%s", strings.Join(args, " "), time.Since(start).Seconds(), lastLines(string(output), 12))
	if err != nil {
		t.Fatalf("scalebench run: %v", err)
	}
	if left := netns.ProcessesWith(markEnv, mark); len(left) > 0 {
		t.Errorf("%d processes outlived scalebench run: %s", len(left), netns.Describe(left))
		for _, p := range left {
			if proc, err := os.FindProcess(p.PID); err == nil {
				proc.Kill()
			}
		}
	} else {
		t.Logf("no process of the run left behind (0 found with %s=%s)", markEnv, mark)
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s results.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return &s, out
}

func lastLines(s string, n int) string {
	s = strings.ReplaceAll(s, "\r", "\n")
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" && !strings.Contains(l, "req/s") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep[max(0, len(keep)-n):], "\n")
}

// TestRunOnKubernetes: two bursts with a gap that takes the revision to
// zero, under scalebench's controller: every request answered, the second
// burst a scale from zero (cold starts), pods counted from the API.
func TestRunOnKubernetes(t *testing.T) {
	s, out := runScalebench(t, "--scenario", filepath.Join("testdata", "burst.yaml"), "--policy", "kpa")
	t.Logf("summary: %d requests, %d completed, %d cold starts (cold p50 %.0f ms), %d pod starts, %.1f pod-seconds, max %d pods",
		s.Requests, s.Completed, s.ColdStarts, s.ColdLatency.P50, s.PodStarts, s.PodSeconds, s.MaxPods)
	switch {
	case s.Backend != "kubernetes" || s.Kind != "run" || s.Policy != "kpa":
		t.Errorf("summary names backend %q, kind %q, policy %q; want kubernetes, run, kpa", s.Backend, s.Kind, s.Policy)
	case s.Requests < 500 || s.Completed != s.Requests:
		t.Errorf("%d of %d requests completed; want all of the two 8 s bursts at 40/s (about 640)", s.Completed, s.Requests)
	case s.ColdStarts < 1 || s.ColdLatency.P50 < 300:
		t.Errorf("%d cold starts, cold p50 %.0f ms; want the second burst to wait for a pod from zero (300 ms init)", s.ColdStarts, s.ColdLatency.P50)
	case s.PodStarts < 1 || s.MaxPods < 1:
		t.Errorf("%d pod starts, max %d pods; want the scale from zero's pod counted", s.PodStarts, s.MaxPods)
	case s.PodSeconds <= 0 || s.PodSeconds > 36*float64(s.MaxPods):
		t.Errorf("%.1f pod-seconds with at most %d pods over 36 s", s.PodSeconds, s.MaxPods)
	}
	// timeseries.csv holds the controller's ticks, down to zero and back.
	f, err := os.Open(filepath.Join(out, "timeseries.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 10 {
		t.Fatalf("timeseries.csv: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	sawZero := false
	for _, r := range rows[1:] {
		if r[col["desired"]] == "0" && r[col["ready"]] == "0" && r[col["not_ready"]] == "0" {
			sawZero = true
		}
	}
	if !sawZero {
		t.Errorf("no tick saw the revision at zero pods between the bursts")
	}
}

// TestUserCommandOnKubernetes: a scenario's function: block runs on the
// node through the image mapping: the Go example server serves every
// request, and the pod is the instance that answered.
func TestUserCommandOnKubernetes(t *testing.T) {
	s, out := runScalebench(t, "--scenario", filepath.Join("testdata", "goserver.yaml"))
	t.Logf("summary: %d requests, %d completed, %d pod starts, max %d pods", s.Requests, s.Completed, s.PodStarts, s.MaxPods)
	if s.Requests < 40 || s.Completed != s.Requests || s.MaxPods < 1 {
		t.Fatalf("%d of %d requests completed, max %d pods; want every request of 12 s at 4/s served by the user's server", s.Completed, s.Requests, s.MaxPods)
	}
	data, err := os.ReadFile(filepath.Join(out, "requests.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), ",goserver-") {
		t.Errorf("requests.csv names no goserver pod as the instance:\n%s", lastLines(string(data), 3))
	}
}

// TestCanaryOnKubernetes: a function with two revisions, each its own
// Deployment and Service, the function's activator splitting by the
// schedule (blue 100%, then 70/30 from 10 s, then green 100% from 25 s):
// each revision's requests, read from the revision each response names,
// follow the split, and both revisions get pods of their own.
func TestCanaryOnKubernetes(t *testing.T) {
	s, out := runScalebench(t, "--scenario", filepath.Join("testdata", "canary.yaml"), "--policy", "kpa")
	t.Logf("summary: %d requests, %d completed", s.Requests, s.Completed)
	// timeseries.csv has the local platform's columns for revisions: each
	// revision's ticks with its share of the route beside them.
	f, err := os.Open(filepath.Join(out, "timeseries.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 10 || strings.Join(rows[0][:4], ",") != "t_seconds,function,revision,percent" {
		t.Fatalf("timeseries.csv: %d rows, header %v, %v; want t_seconds,function,revision,percent first", len(rows), rows[0], err)
	}
	shares := map[string]map[string]bool{}
	for _, r := range rows[1:] {
		if shares[r[2]] == nil {
			shares[r[2]] = map[string]bool{}
		}
		shares[r[2]][r[3]] = true
	}
	if !shares["blue"]["100"] || !shares["blue"]["70"] || !shares["green"]["30"] || !shares["green"]["100"] {
		t.Errorf("timeseries.csv shares by revision %v; want blue at 100 and 70, green at 30 and 100", shares)
	}
	if s.Requests < 700 || s.Completed != s.Requests {
		t.Fatalf("%d of %d requests completed; want all of 40 s at 20/s (800)", s.Completed, s.Requests)
	}
	if len(s.Revisions) != 2 || s.Revisions[0].Revision != "blue" || s.Revisions[1].Revision != "green" {
		t.Fatalf("revisions %+v, want blue and green in the scenario's order", s.Revisions)
	}
	// Blue's expected share: all of 0-10 s, 70% of 10-25 s; green the rest.
	want := map[string]float64{"blue": (10 + 0.7*15) / 40, "green": (0.3*15 + 15) / 40}
	var sum int64
	for _, r := range s.Revisions {
		t.Logf("revision %s: %d requests (%.2f of all; want %.2f), p50 %.1f ms, %d cold starts, deployed %.1fs, first traffic %.1fs, %d pod starts, %.1f pod-seconds, max %d pods",
			r.Revision, r.Requests, float64(r.Requests)/float64(s.Requests), want[r.Revision], r.Latency.P50, r.ColdStarts, r.DeployAtSeconds, r.FirstTrafficSeconds, r.PodStarts, r.PodSeconds, r.MaxPods)
		sum += r.Requests
		if r.Function != "web" {
			t.Errorf("revision %s of function %q, want web", r.Revision, r.Function)
		}
		// 0.05 of 800 is 40 requests: six standard deviations of the
		// draws for the canary's 300, and more than the start's jitter.
		if share := float64(r.Requests) / float64(s.Requests); share < want[r.Revision]-0.05 || share > want[r.Revision]+0.05 {
			t.Errorf("revision %s had %.3f of the requests, want %.3f ± 0.05", r.Revision, share, want[r.Revision])
		}
		if r.MaxPods < 1 || r.PodSeconds <= 0 {
			t.Errorf("revision %s: max %d pods, %.1f pod-seconds; want pods of its own", r.Revision, r.MaxPods, r.PodSeconds)
		}
	}
	if sum != s.Requests {
		t.Errorf("the revisions' requests add up to %d of %d", sum, s.Requests)
	}
	blue, green := s.Revisions[0], s.Revisions[1]
	if blue.DeployAtSeconds != 0 || blue.FirstTrafficSeconds < 0 || blue.FirstTrafficSeconds > 1 {
		t.Errorf("blue deployed at %.2fs, first traffic %.2fs; want both at the start", blue.DeployAtSeconds, blue.FirstTrafficSeconds)
	}
	if green.DeployAtSeconds < 4.9 || green.DeployAtSeconds > 7 || green.FirstTrafficSeconds < 9.9 || green.FirstTrafficSeconds > 11 {
		t.Errorf("green deployed at %.2fs, first traffic %.2fs; want 5 s and 10 s", green.DeployAtSeconds, green.FirstTrafficSeconds)
	}
	if green.PodStarts < 1 {
		t.Errorf("green: %d pod starts; want its Deployment's pod created during the run", green.PodStarts)
	}
	// Each revision's pods serve at its own service time: blue 50 ms,
	// green 20 ms.
	if blue.Latency.P50 < 45 || green.Latency.P50 < 18 || green.Latency.P50 > 40 {
		t.Errorf("p50 blue %.1f ms, green %.1f ms; want each revision's own service time (50 ms, 20 ms) and little more", blue.Latency.P50, green.Latency.P50)
	}
	if s.RolloutColdStarts == nil || *s.RolloutColdStarts != green.ColdStarts {
		t.Errorf("rollout cold starts %v, want green's %d", s.RolloutColdStarts, green.ColdStarts)
	}
}
