package reports

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
)

// Overview is the report's first table: one row per scenario with the
// verdict's winners, so a reader sees the whole suite before the details.
type Overview struct {
	Scenario, Pick, FewestCold, LowestP99, Cheapest string
}

// Overviews computes the per-scenario winners from the same runs the
// verdicts compare.
func Overviews(s Suite) []Overview {
	var out []Overview
	for _, sc := range s.Scenarios {
		o := Overview{Scenario: sc.Name, Pick: "—", FewestCold: "—", LowestP99: "—", Cheapest: "—"}
		runs := sameBackend(sc.okRuns())
		if len(runs) > 0 {
			o.FewestCold = names(ties(runs, func(r Run) float64 { return float64(r.Summary.ColdStarts) }))
			o.LowestP99 = names(ties(runs, func(r Run) float64 { return r.Summary.Latency.P99 }))
			o.Cheapest = names(ties(runs, func(r Run) float64 { return r.Summary.PodSeconds }))
			if len(sc.SLOs) > 0 {
				var meet []Run
				for _, r := range runs {
					if missed(sc.SLOs, &r.Summary) == "" {
						meet = append(meet, r)
					}
				}
				o.Pick = "none meets the SLOs"
				if len(meet) > 0 {
					o.Pick = names(ties(meet, func(r Run) float64 { return r.Summary.PodSeconds }))
				}
			}
		}
		out = append(out, o)
	}
	return out
}

// PolicyScore sums one policy up across the suite's scenarios.
type PolicyScore struct {
	Label string
	// Met and Judged count the scenarios with SLOs where it met them all
	// and where it was judged at all.
	Met, Judged int
	// RelCost is the geometric mean, over scenarios, of its pod-seconds
	// divided by the cheapest policy's: 1.00× means always the cheapest.
	// A geometric mean, because the ratios are multiplicative and one
	// 50× scenario must not swamp the rest.
	RelCost float64
	// ColdRatio is its cold starts over its requests, all scenarios pooled.
	ColdRatio float64
}

// PolicyScores ranks the policies across scenarios, in first-seen order.
func PolicyScores(s Suite) []PolicyScore {
	idx := map[string]int{}
	var out []PolicyScore
	ratios := map[string][]float64{}
	cold := map[string][2]float64{}
	for _, sc := range s.Scenarios {
		runs := sameBackend(sc.okRuns())
		if len(runs) == 0 {
			continue
		}
		cheapest := best(runs, func(r Run) float64 { return r.Summary.PodSeconds }).Summary.PodSeconds
		for _, r := range runs {
			i, ok := idx[r.Label]
			if !ok {
				i = len(out)
				idx[r.Label] = i
				out = append(out, PolicyScore{Label: r.Label})
			}
			if len(sc.SLOs) > 0 {
				out[i].Judged++
				if missed(sc.SLOs, &r.Summary) == "" {
					out[i].Met++
				}
			}
			if cheapest > 0 && r.Summary.PodSeconds > 0 {
				ratios[r.Label] = append(ratios[r.Label], r.Summary.PodSeconds/cheapest)
			}
			c := cold[r.Label]
			cold[r.Label] = [2]float64{c[0] + float64(r.Summary.ColdStarts), c[1] + float64(r.Summary.Requests)}
		}
	}
	for i := range out {
		out[i].RelCost = math.NaN()
		if rs := ratios[out[i].Label]; len(rs) > 0 {
			out[i].RelCost = stat.GeometricMean(rs, nil)
		}
		if c := cold[out[i].Label]; c[1] > 0 {
			out[i].ColdRatio = c[0] / c[1]
		}
	}
	return out
}

func (p PolicyScore) cells() []string {
	met := "—"
	if p.Judged > 0 {
		met = fmt.Sprintf("%d of %d", p.Met, p.Judged)
	}
	cost := "—"
	if !math.IsNaN(p.RelCost) {
		cost = fmt.Sprintf("%.2f×", p.RelCost)
	}
	return []string{p.Label, met, cost, pct(p.ColdRatio)}
}

var scoreColumns = []string{"policy", "scenarios with every SLO met", "cost vs the cheapest (geometric mean)", "cold-start ratio (all requests)"}

var overviewColumns = []string{"scenario", "pick (cheapest meeting the SLOs)", "fewest cold starts", "lowest p99", "cheapest"}

// HowToRead explains the report's terms once, in the order a reader meets
// them.
var HowToRead = []string{
	"Each scenario below is a traffic shape run once per autoscaling policy; the simulated rows all see the same requests (same seed), so differences between them are the policy's doing.",
	"A cold start is a request that waited for a pod to start. Cold ratio is cold starts over requests. Cold p50/p99 are the latencies of just those requests.",
	"Latency (p50/p95/p99) is from arrival to response, in milliseconds or seconds, and includes the function's own service time and any wait in the activator's queue.",
	"Pod-seconds is the cost: each pod's lifetime, summed over pods. Idle pod-seconds is the part with no request in flight: what keep-alive and minimum scale cost.",
	"Dropped requests were refused or timed out in the activator's queue (HTTP 503); each says why: queue full, timed out waiting for capacity (pods were being added), no endpoints (no ready pod and nothing to hold the request), or at the replica cap (the autoscaler asked for no more pods than were ready). Max pods is the peak count at once.",
	"The pick is the cheapest policy that meets every SLO of the scenario; the other verdict lines name the winner on cold starts, latency and cost, and what the fewest cold starts cost.",
	"Charts: one colour per policy throughout; latency axes are logarithmic; real runs (local) are drawn dashed or in their own chart because they are shorter and noisier.",
}
