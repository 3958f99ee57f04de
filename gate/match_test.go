package gate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/results"
)

func run(kind, scenario, policy string, seed int64, seconds float64) results.Summary {
	return results.Summary{Kind: kind, Scenario: scenario, Policy: policy, Seed: seed, DurationSeconds: seconds, Requests: 10, Completed: 10}
}

func TestMatch(t *testing.T) {
	kpa := run("sim", "spike", "kpa", 1, 60)
	aborted := func(s results.Summary, why string) results.Summary { s.Aborted = why; return s }
	for _, c := range []struct {
		name      string
		base, cur []results.Summary
		opt       Options
		refused   string // in the error; "" = matched
		warning   string // in a warning
	}{
		{"same run", []results.Summary{kpa}, []results.Summary{kpa}, Options{}, "", ""},
		{"kpa against knative", []results.Summary{kpa}, []results.Summary{run("sim", "spike", "knative", 1, 60)}, Options{}, "policy kpa vs knative", ""},
		{"rate 10 against rate 20", []results.Summary{run("sim", "pattern constant:rate=10", "kpa", 1, 60)}, []results.Summary{run("sim", "pattern constant:rate=20", "kpa", 1, 60)}, Options{}, `scenario "pattern constant:rate=10" vs "pattern constant:rate=20"`, ""},
		{"sim against load", []results.Summary{kpa}, []results.Summary{run("load", "spike", "kpa", 1, 60)}, Options{}, "kind sim vs load", ""},
		{"other seed", []results.Summary{kpa}, []results.Summary{run("sim", "spike", "kpa", 2, 60)}, Options{}, "seed 1 vs 2", ""},
		{"other duration", []results.Summary{kpa}, []results.Summary{run("sim", "spike", "kpa", 1, 90)}, Options{}, "duration 1m0s vs 1m30s", ""},
		{"mismatch allowed", []results.Summary{kpa}, []results.Summary{run("sim", "spike", "knative", 1, 60)}, Options{AllowMismatch: true}, "", "policy kpa vs knative"},
		{"interrupted current", []results.Summary{kpa}, []results.Summary{aborted(kpa, "interrupted")}, Options{}, "current run spike/kpa was aborted (interrupted)", ""},
		{"interrupted baseline", []results.Summary{aborted(kpa, "interrupted")}, []results.Summary{kpa}, Options{AllowMismatch: true}, "baseline run spike/kpa was aborted", ""},
		{"fell behind, allowed", []results.Summary{kpa}, []results.Summary{aborted(kpa, "load generator fell behind")}, Options{AllowAborted: true}, "", "fell behind"},
		{"bench: one pair of many differs", []results.Summary{kpa, run("sim", "steady", "kpa", 1, 600)},
			[]results.Summary{kpa, run("sim", "steady", "kpa", 7, 600)}, Options{}, "steady/kpa: seed 1 vs 7", ""},
		{"bench: an unpaired interrupted run", []results.Summary{kpa}, []results.Summary{kpa, aborted(run("sim", "new", "kpa", 1, 60), "interrupted")}, Options{}, "current run new/kpa was aborted", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			warnings, err := Match(c.base, c.cur, c.opt)
			switch {
			case c.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
				t.Errorf("err = %v, want a refusal saying %q", err, c.refused)
			case err != nil && (!badinput.Is(err) || strings.Contains(err.Error(), "\n")):
				t.Errorf("err %q: want one line of bad input", err)
			}
			if got := strings.Join(warnings, "\n"); c.warning != "" && !strings.Contains(got, c.warning) || c.warning == "" && got != "" {
				t.Errorf("warnings %q, want %q", got, c.warning)
			}
			// Allowed or not, the table says what is wrong with the pair.
			if c.warning != "" {
				rows, _ := Check(c.base, c.cur, []Bound{{Metric: "requests", Limit: 0}})
				if len(rows) == 0 || !strings.Contains(rows[0].Note, c.warning) {
					t.Errorf("rows %+v: want the note %q", rows, c.warning)
				}
			}
		})
	}
}

func TestLoadRefusesImpossibleValues(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, body, want string
	}{
		{"valid", `{"kind":"sim","scenario":"s","policy":"kpa","seed":1,"duration_seconds":60,"requests":10,"completed":10,"pod_seconds":5}`, ""},
		{"negative pod_seconds", `{"kind":"sim","scenario":"s","policy":"kpa","seed":1,"duration_seconds":60,"requests":10,"completed":10,"pod_seconds":-5}`, "negative-pod_seconds.json: pod_seconds -5: want 0 or more"},
		{"bench run", `{"kind":"bench","runs":[{"kind":"sim","scenario":"a","policy":"kpa","duration_seconds":60},{"kind":"sim","scenario":"b","policy":"kpa","duration_seconds":60,"cold_start_ratio":2}]}`, "run 1 (b/kpa): cold_start_ratio 2: want at most 1"},
		{"not json", `{`, "not a summary.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(write(strings.ReplaceAll(c.name, " ", "-")+".json", c.body))
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && (err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), c.want)):
				t.Errorf("err = %v, want bad input saying %q", err, c.want)
			}
		})
	}
}
