package reports

import (
	"os"

	"github.com/scalebench/scalebench/results"
)

// Bench is the bench's summary.json: every run's summary, each naming its
// scenario, policy and backend. Kind is "bench" so a gate can tell it from
// a single run's summary.
type Bench struct {
	Kind string            `json:"kind"`
	Runs []results.Summary `json:"runs"`
}

// BenchSummary collects the suite's completed runs.
func BenchSummary(s Suite) Bench {
	b := Bench{Kind: "bench", Runs: []results.Summary{}}
	for _, sc := range s.Scenarios {
		for _, r := range sc.Runs {
			if r.Err != "" {
				continue
			}
			m := r.Summary
			m.Scenario = sc.Name
			m.Policy = r.Label
			if m.Backend == "" {
				m.Backend = r.Backend
			}
			b.Runs = append(b.Runs, m)
		}
	}
	return b
}

// Write renders report.html, report.md and summary.json into out, all or
// nothing: the caller commits out only when Write succeeds.
func Write(out *results.OutDir, s Suite) error {
	page, err := HTML(s)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out.Path("report.html"), page, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(out.Path("report.md"), Markdown(s), 0o644); err != nil {
		return err
	}
	return results.WriteJSON(out.Path("summary.json"), BenchSummary(s))
}
