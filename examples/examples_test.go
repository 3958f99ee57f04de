package examples

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalebench/scalebench/platform/pods"
	"github.com/scalebench/scalebench/results"
)

// python is Debian's interpreter; the Makefile installs it when missing.
const python = "/usr/bin/python3"

// tools builds scalebench, cmd/fn beside it (bench wants both) and the Go
// example into a fresh directory, and the Go example also into the
// repository's bin/ where its scenario names it (as make build does).
func tools(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range []struct{ out, pkg string }{
		{filepath.Join(dir, "scalebench"), "github.com/scalebench/scalebench/cmd/scalebench"},
		{filepath.Join(dir, "fn"), "github.com/scalebench/scalebench/cmd/fn"},
		{filepath.Join(dir, "goserver"), "./goserver"},
		{filepath.Join("..", "bin", "goserver"), "./goserver"},
	} {
		if out, err := exec.Command("go", "build", "-o", b.out, b.pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s: %v; make test installs Debian's python3", python, err)
	}
	return dir
}

// scalebench runs the built command and returns its exit status and output.
func scalebench(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "scalebench"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(5*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	}
	t.Fatalf("scalebench %v: %v", args, err)
	return -1, ""
}

func readSummary(t *testing.T, path string) *results.Summary {
	t.Helper()
	s, err := results.ReadSummary(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// noneLeft checks that no example process outlived its run.
func noneLeft(t *testing.T, binary string) {
	t.Helper()
	if left := pods.Running(binary); len(left) > 0 {
		t.Fatalf("%s processes left: %v", binary, left)
	}
}

// TestExamplesThroughRunAndBench runs both example functions through
// `scalebench run` (as --function-cmd and from their scenario files) and
// `scalebench bench`: every request completes, every request that found no
// instance is counted cold by the queue-proxy's headers (neither server
// sends any), and the pods' start-up is in the summary.
func TestExamplesThroughRunAndBench(t *testing.T) {
	dir := tools(t)
	tmp := t.TempDir()
	cases := []struct {
		name string
		args []string
	}{
		{"go, --function-cmd, http probe", []string{"--pattern", "constant:rate=0.2", "--duration", "11s", "--policy", "keepalive", "--set", "keep-alive=1s",
			"--function-cmd", filepath.Join(dir, "goserver") + " --init=50ms", "--function-readiness", "http:/healthz"}},
		{"python, --function-cmd, tcp probe", []string{"--pattern", "constant:rate=0.2", "--duration", "11s", "--policy", "keepalive", "--set", "keep-alive=1s",
			"--function-cmd", python + " pyserver/server.py --init=50ms"}},
		{"go scenario", []string{"--scenario", "goserver/scenario.yaml", "--duration", "9s"}},
		{"python scenario", []string{"--scenario", "pyserver/scenario.yaml", "--duration", "9s"}},
	}
	var wg sync.WaitGroup
	for i, tc := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(tmp, fmt.Sprint(i))
			code, log := scalebench(t, dir, append([]string{"run", "--requests", "--out", out}, tc.args...)...)
			if code != 0 {
				t.Errorf("%s: exit %d\n%s", tc.name, code, log)
				return
			}
			s := readSummary(t, filepath.Join(out, "summary.json"))
			// Three requests, 4 or 5 s apart with a 1 s keep-alive: each
			// finds no instance, unless a start slowed by a busy machine
			// kept the last one alive. Neither server sends a header: the
			// queue-proxy names the pod and marks the requests that waited
			// for it, and every pod was started for one of those.
			csv, _ := os.ReadFile(filepath.Join(out, "requests.csv"))
			instances := map[string]bool{}
			var cold int64
			for _, row := range strings.Split(strings.TrimSpace(string(csv)), "\n")[1:] {
				f := strings.Split(row, ",")
				instances[f[8]] = true
				if f[9] == "true" {
					cold++
				}
			}
			st := s.PodStartup
			switch {
			case s.Requests != 3 || s.Completed != 3:
				t.Errorf("%s: %d requests, %d completed; want 3 and 3", tc.name, s.Requests, s.Completed)
			case s.ColdStarts < 2 || cold != s.ColdStarts:
				t.Errorf("%s: %d cold starts, %d cold rows in requests.csv; want at least 2, the same:\n%s", tc.name, s.ColdStarts, cold, csv)
			case st == nil || int64(st.Pods) != s.ColdStarts || len(instances) != st.Pods || st.FromZero < 1 || st.SpawnToListening.P50 < 50:
				t.Errorf("%s: pod start-up %+v, instances %v; want a pod per cold start, each listening after its 50 ms init", tc.name, st, instances)
			}
		}()
	}
	wg.Wait()
	noneLeft(t, filepath.Join(dir, "goserver"))

	// bench: the scenario's function block on the local backend (the
	// example's directory is a suite of one scenario).
	benchOut := filepath.Join(tmp, "bench")
	code, log := scalebench(t, dir, "bench", "--suite", "pyserver", "--real-scenarios", "pyserver", "--real-policies", "keepalive",
		"--real-duration", "9s", "--out", benchOut)
	if code != 0 {
		t.Fatalf("bench: exit %d\n%s", code, log)
	}
	var bench struct {
		Runs []results.Summary `json:"runs"`
	}
	b, _ := os.ReadFile(filepath.Join(benchOut, "summary.json"))
	if err := json.Unmarshal(b, &bench); err != nil {
		t.Fatal(err)
	}
	var local *results.Summary
	for i := range bench.Runs {
		if bench.Runs[i].Backend == "local" {
			local = &bench.Runs[i]
		}
	}
	if local == nil || local.Completed != 3 || local.ColdStarts < 2 {
		t.Fatalf("bench's local run %+v, want 3 requests completed, at least 2 of them cold", local)
	}
}

// TestColdStartFigures is issue 16's figures, through the commands of the
// README's CI recipe: the Go example with a configured init, every request
// a scale from zero (one every 4 s, keep-alive 1 s), 20 cold starts a run,
// the runs side by side so they share whatever else the machine does.
//
//   - cold-start latency tracks the init: init 300 ms against 50 ms moves
//     the cold p50 by 250 ms ± 10 ms;
//   - the gate on cold_latency_ms fails init 150 ms against a 100 ms
//     baseline and passes two runs at 100 ms.
//
// The runs share the machine but not their cold starts' instants (they are
// staggered), as the README's recipe runs base and PR side by side.
func TestColdStartFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("80 s of real traffic")
	}
	dir := tools(t)
	tmp := t.TempDir()
	inits := map[string]string{"i50": "50ms", "i300": "300ms", "base": "100ms", "slower": "150ms", "same": "100ms"}
	order := []string{"i50", "base", "i300", "slower", "same"}
	var wg sync.WaitGroup
	for i, name := range order {
		init := inits[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Staggered over the 4 s between requests so the runs' cold
			// starts do not coincide: started together, five processes
			// start at once and the short inits pay for the contention
			// the long ones wait out.
			time.Sleep(time.Duration(i) * 800 * time.Millisecond)
			code, log := scalebench(t, dir, "run", "--pattern", "constant:rate=0.25", "--duration", "80s", "--policy", "keepalive",
				"--set", "keep-alive=1s", "--function-cmd", filepath.Join(dir, "goserver")+" --init="+init,
				"--out", filepath.Join(tmp, name))
			if code != 0 {
				t.Errorf("run --init=%s: exit %d\n%s", init, code, log)
			}
		}()
	}
	wg.Wait()
	noneLeft(t, filepath.Join(dir, "goserver"))
	if t.Failed() {
		return
	}
	sums := map[string]*results.Summary{}
	for name := range inits {
		s := readSummary(t, filepath.Join(tmp, name, "summary.json"))
		if s.ColdStarts < 20 || s.Completed != s.Requests {
			t.Fatalf("%s: %d cold starts, %d of %d completed; want at least 20 cold, all completed", name, s.ColdStarts, s.Completed, s.Requests)
		}
		sums[name] = s
	}
	d := sums["i300"].ColdLatency.P50 - sums["i50"].ColdLatency.P50
	t.Logf("cold p50: init 50ms %.1f ms, 300ms %.1f ms: difference %.1f ms", sums["i50"].ColdLatency.P50, sums["i300"].ColdLatency.P50, d)
	if math.Abs(d-250) > 10 {
		t.Errorf("difference of cold p50s %.1f ms, want 250 ± 10 ms", d)
	}
	gate := func(base, cur string) (int, string) {
		return scalebench(t, dir, "gate", "--baseline", filepath.Join(tmp, base, "summary.json"),
			"--current", filepath.Join(tmp, cur, "summary.json"), "--max-regress", "cold_latency_ms.p50=10%")
	}
	if code, out := gate("base", "slower"); code != 1 || !strings.Contains(out, "REGRESSED") {
		t.Errorf("gate init 100ms → 150ms: exit %d, want 1 with the regression:\n%s", code, out)
	}
	if code, out := gate("base", "same"); code != 0 {
		t.Errorf("gate init 100ms → 100ms: exit %d, want 0:\n%s", code, out)
	}
}
