package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalebench/scalebench/plan"
)

const planScenario = `name: small
duration: 60s
seed: 2
functions:
  - name: api
    containerConcurrency: 10
    service: fixed:100ms
traffic: poisson:rate=30
slos:
  - p99<=500ms
`

// runPlanCmd runs `scalebench plan args...` and returns stdout and the
// exit status main would give.
func runPlanCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newPlanCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	if err == nil {
		return out.String(), 0
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	return out.String() + "\n" + err.Error(), exitCode(err)
}

func TestPlanCommand(t *testing.T) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(sc, []byte(planScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		outDir bool   // the --out directory exists afterwards
		stdout string // a substring of stdout
	}{
		{"scenario SLO", []string{"--scenario", sc, "--budget", "60"}, 0, false, "autoscaling.knative.dev/window"},
		{"flag SLO wins, writes out", []string{"--scenario", sc, "--slo", "p99<=1s,cold_start_ratio<=1%", "--budget", "60", "--out", "OUT"}, 0, true, "cold_start_ratio"},
		{"infeasible SLO", []string{"--scenario", sc, "--slo", "p99<=10ms", "--budget", "40", "--out", "OUT"}, 1, true, "NO SETTING MEETS THE SLO"},
		{"bad SLO string", []string{"--scenario", sc, "--slo", "p99=300ms", "--out", "OUT"}, 2, false, ""},
		{"unknown metric", []string{"--scenario", sc, "--slo", "p42<=1s", "--out", "OUT"}, 2, false, ""},
		{"missing scenario", []string{"--scenario", filepath.Join(dir, "nope.yaml"), "--out", "OUT"}, 2, false, ""},
		{"no scenario", []string{"--out", "OUT"}, 2, false, ""},
		{"unplannable policy", []string{"--scenario", sc, "--policy", "hpa", "--out", "OUT"}, 2, false, ""},
		{"bad cost", []string{"--scenario", sc, "--cost", "dollars", "--out", "OUT"}, 2, false, ""},
		{"bad flag", []string{"--scenario", sc, "--budget", "many"}, 2, false, ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out", strings.Repeat("x", i+1))
			args := append([]string(nil), c.args...)
			for j := range args {
				if args[j] == "OUT" {
					args[j] = out
				}
			}
			stdout, code := runPlanCmd(t, args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; output:\n%s", code, c.code, stdout)
			}
			if !strings.Contains(stdout, c.stdout) {
				t.Errorf("stdout lacks %q:\n%s", c.stdout, stdout)
			}
			_, err := os.Stat(out)
			if exists := err == nil; exists != c.outDir {
				t.Errorf("out dir exists = %v, want %v", exists, c.outDir)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "out", ".*")); len(left) > 0 {
				t.Errorf("temporary directories left behind: %v", left)
			}
			if !c.outDir {
				return
			}
			b, err := os.ReadFile(filepath.Join(out, "plan.json"))
			if err != nil {
				t.Fatal(err)
			}
			var p plan.Plan
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			if p.Feasible != (c.code == 0) || len(p.Candidates) == 0 {
				t.Errorf("plan.json: feasible %v with %d candidates", p.Feasible, len(p.Candidates))
			}
			if md, err := os.ReadFile(filepath.Join(out, "plan.md")); err != nil || !strings.HasPrefix(string(md), "# Capacity plan") {
				t.Errorf("plan.md: %v %.40q", err, md)
			}
		})
	}
}
