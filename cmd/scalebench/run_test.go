package main

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scalebench/scalebench/platform/pods"
)

// buildFn builds cmd/fn (and, with scalebench, this command) into a fresh
// directory and returns the directory.
func buildFn(t *testing.T, scalebench bool) string {
	t.Helper()
	dir := t.TempDir()
	pkgs := map[string]string{"fn": "github.com/scalebench/scalebench/cmd/fn"}
	if scalebench {
		pkgs["scalebench"] = "github.com/scalebench/scalebench/cmd/scalebench"
	}
	for name, pkg := range pkgs {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return dir
}

// execCommand runs scalebench sub args... in process, on a fresh root
// command as main builds it, and returns the exit status main would give.
func execCommand(t *testing.T, sub string, args ...string) (int, error) {
	t.Helper()
	root := newRootCmd()
	root.SetArgs(append([]string{sub}, args...))
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	err := root.Execute()
	return exitCode(err), err
}

func TestRunCommandRejectsBadInput(t *testing.T) {
	fn := filepath.Join(buildFn(t, false), "fn")
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	badScenario := filepath.Join(tmp, "bad.yaml")
	os.WriteFile(badScenario, []byte("name: bad\nduration: soon\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no out", []string{"--pattern", "constant:rate=1", "--duration", "1s"}},
		{"unknown flag", []string{"--rate", "5", "--out", out}},
		{"stray argument", []string{"now", "--pattern", "constant:rate=1", "--duration", "1s", "--out", out}},
		{"bad backend", []string{"--backend", "kubernetes-someday", "--pattern", "constant:rate=1", "--duration", "1s", "--out", out}},
		{"bad pattern", []string{"--pattern", "zigzag:rate=1", "--duration", "1s", "--out", out}},
		{"pattern without duration", []string{"--pattern", "constant:rate=1", "--out", out}},
		{"missing scenario", []string{"--scenario", filepath.Join(tmp, "none.yaml"), "--out", out}},
		{"malformed scenario", []string{"--scenario", badScenario, "--out", out}},
		{"unknown policy", []string{"--pattern", "constant:rate=1", "--duration", "1s", "--policy", "nope", "--out", out}},
		{"missing fn binary", []string{"--pattern", "constant:rate=1", "--duration", "1s", "--fn-binary", filepath.Join(tmp, "nofn"), "--out", out}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.name != "missing fn binary" {
				args = append(args, "--fn-binary", fn)
			}
			code, err := execCommand(t, "run", args...)
			if code != 2 {
				t.Fatalf("exit %d (%v), want 2", code, err)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("output directory left behind: %v", err)
			}
		})
	}
}

func TestRunCommandWritesSummaryAndTimeseries(t *testing.T) {
	fn := filepath.Join(buildFn(t, false), "fn")
	out := filepath.Join(t.TempDir(), "out")
	code, err := execCommand(t, "run", "--pattern", "constant:rate=20", "--duration", "3s", "--init", "50ms",
		"--work", "10ms", "--policy", "kpa", "--fn-binary", fn, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	if left := pods.Running(fn); len(left) > 0 {
		t.Fatalf("fn processes left after run: %v", left)
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum map[string]any
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"kind", "policy", "requests", "completed", "dropped", "cold_starts", "cold_start_ratio",
		"latency_ms", "cold_latency_ms", "pod_starts", "pod_seconds", "idle_pod_seconds", "max_pods"} {
		if _, ok := sum[key]; !ok {
			t.Errorf("summary.json lacks %q", key)
		}
	}
	// 20 requests/s for 3 s; the generator may miss a few at the edges.
	if n := sum["completed"].(float64); n < 50 || n > 61 {
		t.Errorf("completed %v, want about 60", n)
	}
	if ps := sum["pod_seconds"].(float64); ps <= 0 || sum["idle_pod_seconds"].(float64) > ps {
		t.Errorf("pod_seconds %v, idle_pod_seconds %v: want positive, idle at most the total", ps, sum["idle_pod_seconds"])
	}
	f, err := os.Open(filepath.Join(out, "timeseries.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 3 {
		t.Fatalf("timeseries.csv has %d rows, want a header and a tick per 2 s at least", len(rows))
	}
	want := []string{"t_seconds", "revision", "concurrency", "max_concurrency", "rps", "ready", "not_ready", "valid",
		"recommended", "desired", "panic", "stable", "panic_value", "excess_burst_capacity", "activator_in_path", "poked", "error"}
	if len(rows[0]) != len(want) {
		t.Fatalf("timeseries.csv header %v, want %v", rows[0], want)
	}
	for i, col := range want {
		if rows[0][i] != col {
			t.Fatalf("timeseries.csv column %d is %q, want %q", i, rows[0][i], col)
		}
	}
}
