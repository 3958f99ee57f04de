package reports

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/scalebench/scalebench/results"
)

// revSum is one revision's sums over a point's seconds.
type revSum struct{ ready, percent float64 }

// RevisionSecond records one revision's ready pods and route share for the
// simulated second t (before EndSecond).
func (r *Recorder) RevisionSecond(t int64, name string, ready, percent int) {
	p := r.point(t)
	if p == nil {
		return
	}
	i := -1
	for j, n := range r.revisions {
		if n == name {
			i = j
			break
		}
	}
	if i < 0 {
		i = len(r.revisions)
		r.revisions = append(r.revisions, name)
	}
	for len(p.rev) <= i {
		p.rev = append(p.rev, revSum{})
	}
	p.rev[i].ready += float64(ready)
	p.rev[i].percent += float64(percent)
}

func (r *Recorder) revisionPoints(p *recPoint) []RevisionPoint {
	if len(r.revisions) == 0 {
		return nil
	}
	out := make([]RevisionPoint, len(r.revisions))
	k := float64(p.seconds)
	for i, name := range r.revisions {
		out[i].Name = name
		if i < len(p.rev) {
			out[i].Ready, out[i].Percent = p.rev[i].ready/k, p.rev[i].percent/k
		}
	}
	return out
}

// rolloutRuns are the runs with a per-revision series.
func rolloutRuns(s Scenario) []Run {
	var out []Run
	for _, r := range s.Runs {
		if r.Err != "" || len(r.Series) == 0 {
			continue
		}
		for _, pt := range r.Series {
			if len(pt.Revisions) > 0 {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// revisionColours tell revisions apart inside one panel; runs are told
// apart by the panel's title.
var revisionColours = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
}

// RolloutChart draws, for each run of a scenario with revisions, the ready
// pods of every revision (upper panel) over the route's split (lower
// panel, percent per revision), with the rollout's cold starts in the
// title. It returns nil when no run has revisions.
func RolloutChart(s Scenario) ([]byte, error) {
	runs := rolloutRuns(s)
	if len(runs) == 0 {
		return nil, nil
	}
	cols := min(len(runs), 4)
	nrows := (len(runs) + cols - 1) / cols
	rows := make([][]*plot.Plot, 2*nrows)
	for i := range rows {
		rows[i] = make([]*plot.Plot, cols)
	}
	for i, r := range runs {
		xl, div := timeAxis([]Run{r})
		title := r.Name()
		if n := r.Summary.RolloutColdStarts; n != nil {
			title = fmt.Sprintf("%s: %d cold starts", r.Name(), *n)
		}
		pods := newPlot(title, "", "ready pods")
		split := newPlot("", xl, "% of traffic")
		names := r.Series[len(r.Series)-1].Revisions
		for j := range names {
			var ready, pct plotter.XYs
			for _, pt := range r.Series {
				if j < len(pt.Revisions) {
					ready = append(ready, plotter.XY{X: pt.T / div, Y: pt.Revisions[j].Ready})
					pct = append(pct, plotter.XY{X: pt.T / div, Y: pt.Revisions[j].Percent})
				}
			}
			c := revisionColours[j%len(revisionColours)]
			if err := addLine(pods, ready, names[j].Name, c, false); err != nil {
				return nil, err
			}
			if err := addLine(split, pct, "", c, true); err != nil {
				return nil, err
			}
		}
		pods.Y.Min, split.Y.Min, split.Y.Max = 0, 0, 100
		pods.Legend.Top = true
		rows[2*(i/cols)][i%cols] = pods
		rows[2*(i/cols)+1][i%cols] = split
	}
	for i := len(runs); i < nrows*cols; i++ {
		for _, k := range []int{0, 1} {
			p := plot.New()
			p.HideAxes()
			rows[2*(i/cols)+k][i%cols] = p
		}
	}
	return svg(26*vg.Centimeter, vg.Length(nrows)*9*vg.Centimeter, 2*nrows, cols, rows)
}

// rolloutVerdict names the cheapest way to roll out that causes no more
// than N cold starts, N being the scenario's cold_starts SLO (0 without
// one), and what each way cost in cold starts.
func rolloutVerdict(slos []results.SLO, runs []Run) []string {
	var rr []Run
	for _, r := range runs {
		if r.Summary.RolloutColdStarts != nil {
			rr = append(rr, r)
		}
	}
	if len(rr) == 0 {
		return nil
	}
	limit := 0.0
	for _, o := range slos {
		if o.Metric == "cold_starts" {
			limit = o.Max
		}
	}
	cold := func(r Run) float64 { return float64(*r.Summary.RolloutColdStarts) }
	var each []string
	var within []Run
	for _, r := range rr {
		each = append(each, fmt.Sprintf("%s %d", r.Label, *r.Summary.RolloutColdStarts))
		if cold(r) <= limit {
			within = append(within, r)
		}
	}
	out := []string{"Cold starts the rollout caused (in revisions created after the start): " + strings.Join(each, ", ") + "."}
	if len(within) == 0 {
		fewest := ties(rr, cold)
		return append(out, fmt.Sprintf("Rollout: no way rolls out with at most %s cold starts; %s %s the fewest, %d.",
			strconv.FormatFloat(limit, 'f', -1, 64), names(fewest), have(fewest), *fewest[0].Summary.RolloutColdStarts))
	}
	podSeconds := func(r Run) float64 { return r.Summary.PodSeconds }
	best := ties(within, podSeconds)
	return append(out, fmt.Sprintf("Rollout: the cheapest way with at most %s cold starts is %s, at %s pod-seconds%s.",
		strconv.FormatFloat(limit, 'f', -1, 64), names(best), num(podSeconds(best[0])), versusNext(within, best[0], podSeconds)))
}
