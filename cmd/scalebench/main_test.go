package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

// TestFreshRootCommands builds the root command twice, as main does, and
// runs sim on each: the second run must see its own flags only (cobra
// would keep the first run's --seed and --set if flags lived in shared
// state), and bad input must exit 2 the same way from either.
func TestFreshRootCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, int) {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		err := root.Execute()
		if err != nil {
			out.WriteString(err.Error())
		}
		return out.String(), exitCode(err)
	}
	sim := func(out string, extra ...string) []string {
		return append([]string{"sim", "--pattern", "constant:rate=5", "--duration", "20s", "--out", filepath.Join(dir, out)}, extra...)
	}
	cases := []struct {
		name string
		args []string
		code int
		seed int64 // of the summary written, when code is 0
	}{
		{"first run sets a seed", sim("a", "--seed", "5", "--set", "stable-window=30s"), 0, 5},
		{"second run has its own flags", sim("b"), 0, scenarios.DefaultSeed},
		{"bad flag value", sim("c", "--seed", "soon"), 2, 0},
		{"bad input after a good run", sim("d", "--policy", "no-such-policy"), 2, 0},
		{"unknown subcommand flag", []string{"gate", "--rate", "5"}, 2, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, code := run(c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, out)
			}
			if c.code != 0 {
				if strings.Count(strings.TrimSpace(out), "\n") > 0 {
					t.Errorf("error is not one line: %q", out)
				}
				return
			}
			s, err := results.ReadSummary(filepath.Join(c.args[6], "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			if s.Seed != c.seed {
				t.Errorf("seed %d, want %d", s.Seed, c.seed)
			}
		})
	}
}
