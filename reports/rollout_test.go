package reports

import (
	"strings"
	"testing"

	"github.com/scalebench/scalebench/results"
)

func rolloutRun(label string, cold int64, podSeconds float64) Run {
	r := Run{Label: label, Backend: "sim"}
	r.Summary.RolloutColdStarts = &cold
	r.Summary.ColdStarts = cold
	r.Summary.PodSeconds = podSeconds
	return r
}

func TestRolloutVerdict(t *testing.T) {
	runs := []Run{rolloutRun("k/instant", 112, 3411), rolloutRun("k/gradual", 0, 3259), rolloutRun("k/fast", 7, 3100), rolloutRun("k/prescaled", 0, 3047)}
	for _, tc := range []struct {
		name string
		slos []results.SLO
		runs []Run
		want string
	}{
		{"no SLO: none allowed", nil, runs, "the cheapest way with at most 0 cold starts is k/prescaled, at 3047"},
		{"an SLO of 10 lets the 7 through", []results.SLO{{Metric: "cold_starts", Max: 10}}, runs, "at most 10 cold starts is k/prescaled"},
		{"an SLO of 10 without pre-scaling", []results.SLO{{Metric: "cold_starts", Max: 10}}, runs[:3], "at most 10 cold starts is k/fast, at 3100"},
		{"nothing within", []results.SLO{{Metric: "cold_starts", Max: 5}}, runs[:1], "no way rolls out with at most 5 cold starts; k/instant has the fewest, 112"},
		{"no revisions: no line", nil, []Run{{Label: "kpa"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(rolloutVerdict(tc.slos, tc.runs), "\n")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestRecorderRevisions(t *testing.T) {
	rec := NewRecorder(4, 2) // two seconds a point
	for sec := int64(0); sec < 4; sec++ {
		rec.Second(sec, 10, 3, 3)
		rec.RevisionSecond(sec, "blue", 2, 100-int(sec)*25)
		rec.RevisionSecond(sec, "green", 1, int(sec)*25)
		rec.EndSecond(sec)
	}
	pts := rec.Points()
	if len(pts) != 2 || len(pts[1].Revisions) != 2 {
		t.Fatalf("points %+v", pts)
	}
	if g := pts[1].Revisions[1]; g.Name != "green" || g.Ready != 1 || g.Percent != 62.5 {
		t.Errorf("green in the second point %+v, want 1 pod at 62.5%%", g)
	}
	if chart, err := RolloutChart(Scenario{Runs: []Run{{Label: "kpa", Series: NewRecorder(4, 2).Points()}}}); err != nil || chart != nil {
		t.Errorf("a scenario without revisions drew a rollout chart (%v)", err)
	}
	chart, err := RolloutChart(Scenario{Runs: []Run{{Label: "kpa", Series: pts}}})
	if err != nil || !strings.Contains(string(chart), "<svg") {
		t.Errorf("rollout chart: %v", err)
	}
}
