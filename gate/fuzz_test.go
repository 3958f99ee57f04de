package gate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalebench/scalebench/badinput"
)

// FuzzParseBounds: --max-regress is user input, so whatever it holds the
// parser returns bounds or one line of bad input, never a panic, and every
// bound it accepts is a known metric with a finite, non-negative limit.
func FuzzParseBounds(f *testing.F) {
	for _, s := range []string{DefaultBounds, "dropped=0", "latency_ms.p99=10%", "x=1", "=", "pod_seconds=1e400", "cold_start_ratio=-0%", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bounds, err := ParseBounds(s)
		if err != nil {
			if !badinput.Is(err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %T %q: want one line of bad input", err, err)
			}
			return
		}
		for _, b := range bounds {
			if b.Limit < 0 || b.Limit != b.Limit || b.Limit > 1e308 {
				t.Fatalf("bound %+v accepted", b)
			}
		}
	})
}

// FuzzLoad: a summary.json is user input too (a file from another branch,
// perhaps edited). Whatever it holds, Load returns runs that all validate
// or one line of bad input, never a panic, and Match on what it returns
// never panics either.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		`{"kind":"sim","scenario":"s","policy":"kpa","seed":1,"duration_seconds":60,"requests":10,"completed":10}`,
		`{"kind":"sim","duration_seconds":60,"pod_seconds":-5}`,
		`{"kind":"bench","runs":[{"kind":"load","duration_seconds":1,"aborted":"interrupted"},{"kind":"sim"}]}`,
		`{"kind":"run","duration_seconds":1e308,"latency_histogram":[[1,-1]]}`,
		`{"kind":"bench","runs":[]}`, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "summary.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		runs, err := Load(path)
		if err != nil {
			if !badinput.Is(err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %T %q: want one line of bad input", err, err)
			}
			return
		}
		for i := range runs {
			if err := runs[i].Validate(); err != nil {
				t.Fatalf("run %d accepted but invalid: %v", i, err)
			}
		}
		Match(runs, runs, Options{})
		Check(runs, runs, []Bound{{Metric: "pod_seconds", Relative: true, Limit: 0.1}})
	})
}
