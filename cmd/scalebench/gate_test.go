package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalebench/scalebench/results"
)

// gate refuses, with exit 2 and one line, pairs that compare nothing (the
// issue's kpa against knative, rate 10 against 20, sim against load), an
// interrupted run and an impossible value, all of which it used to pass
// with exit 0; the flags let the first two through, saying so on stderr.
func TestGateRefusesRunsThatDoNotMatch(t *testing.T) {
	dir := t.TempDir()
	sim := func(name string, args ...string) string {
		out := filepath.Join(dir, name)
		a := append([]string{"sim", "--pattern", "constant:rate=10", "--duration", "20s", "--policy", "kpa", "--out", out}, args...)
		if stderr, code := runCmd(a...); code != 0 {
			t.Fatalf("sim %v: exit %d: %s", args, code, stderr)
		}
		return filepath.Join(out, "summary.json")
	}
	base := sim("kpa")
	knative := sim("knative", "--policy", "knative")
	rate20 := sim("rate20", "--pattern", "constant:rate=20")
	seed3 := sim("seed3", "--seed", "3")
	// The same traffic measured by load, and an interrupted run of it.
	edited := func(name string, edit func(*results.Summary)) string {
		s, err := results.ReadSummary(base)
		if err != nil {
			t.Fatal(err)
		}
		edit(s)
		p := filepath.Join(dir, name+".json")
		if err := results.WriteJSON(p, s); err != nil {
			t.Fatal(err)
		}
		return p
	}
	load := edited("load", func(s *results.Summary) { s.Kind, s.Backend = "load", "url" })
	interrupted := edited("interrupted", func(s *results.Summary) { s.Aborted = "interrupted" })
	negative := edited("negative", func(s *results.Summary) { s.PodSeconds = -5 })

	for _, c := range []struct {
		name    string
		current string
		flags   []string
		code    int
		says    string // in stderr
	}{
		{"the same run", base, nil, 0, ""},
		{"kpa against knative", knative, nil, 2, "policy kpa vs knative"},
		{"rate 10 against rate 20", rate20, nil, 2, `"pattern constant:rate=10" vs "pattern constant:rate=20"`},
		{"another seed", seed3, nil, 2, "seed 1 vs 3"},
		{"sim against load", load, nil, 2, "kind sim vs load"},
		{"mismatch allowed", knative, []string{"--allow-mismatch"}, 0, "warning"},
		{"interrupted", interrupted, nil, 2, "aborted (interrupted)"},
		{"interrupted allowed", interrupted, []string{"--allow-aborted"}, 0, "warning"},
		{"negative pod_seconds", negative, nil, 2, "pod_seconds -5: want 0 or more"},
		{"negative pod_seconds, whatever the flags", negative, []string{"--allow-mismatch", "--allow-aborted"}, 2, "pod_seconds -5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"gate", "--baseline", base, "--current", c.current}, c.flags...)
			stderr, code := runCmd(args...)
			if code != c.code || !strings.Contains(stderr, c.says) {
				t.Fatalf("exit %d, stderr %q; want %d saying %q", code, stderr, c.code, c.says)
			}
			if code == 2 && strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("error is not one line: %q", stderr)
			}
		})
	}
	if _, err := os.Stat(base); err != nil {
		t.Fatal(err)
	}
}
