package reports

import (
	"fmt"
	"sort"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

// Verdict is the plain-language judgement of one scenario, computed from the
// numbers alone: which policy meets the SLOs cheapest, which has the fewest
// cold starts, which is fastest, and who dropped requests. Only simulated
// runs are compared with each other, because a real run's numbers carry
// noise the simulator's do not.
func Verdict(s Scenario) []string {
	runs := sameBackend(s.okRuns())
	if len(runs) == 0 {
		return []string{"No run of this scenario completed, so there is nothing to compare."}
	}
	var out []string
	if len(s.SLOs) > 0 {
		out = append(out, sloVerdict(s.SLOs, runs)...)
	} else {
		cheapest := best(runs, func(r Run) float64 { return r.Summary.PodSeconds })
		out = append(out, fmt.Sprintf("Cheapest: %s at %s pod-seconds%s.",
			cheapest.Label, num(cheapest.Summary.PodSeconds), versusNext(runs, cheapest, func(r Run) float64 { return r.Summary.PodSeconds })))
	}
	fewest := best(runs, func(r Run) float64 { return float64(r.Summary.ColdStarts) })
	costs := make([]float64, len(runs))
	for i, r := range runs {
		costs[i] = r.Summary.PodSeconds
	}
	meanCost := stat.Mean(costs, nil)
	if fewest.Summary.ColdStarts == 0 {
		out = append(out, fmt.Sprintf("Fewest cold starts: %s with none, at %s the mean pod-seconds of the policies compared.",
			fewest.Label, ratio(fewest.Summary.PodSeconds, meanCost)))
	} else {
		out = append(out, fmt.Sprintf("Fewest cold starts: %s with %d (%s of requests), at %s the mean pod-seconds of the policies compared.",
			fewest.Label, fewest.Summary.ColdStarts, pct(fewest.Summary.ColdStartRatio), ratio(fewest.Summary.PodSeconds, meanCost)))
	}
	fastest := best(runs, func(r Run) float64 { return r.Summary.Latency.P99 })
	slowest := worst(runs, func(r Run) float64 { return r.Summary.Latency.P99 })
	if slowest.Summary.Latency.P99 > fastest.Summary.Latency.P99 {
		out = append(out, fmt.Sprintf("Lowest p99 latency: %s at %s; the highest is %s at %s.",
			fastest.Label, ms(fastest.Summary.Latency.P99), slowest.Label, ms(slowest.Summary.Latency.P99)))
	} else {
		out = append(out, fmt.Sprintf("Every policy has the same p99 latency, %s.", ms(fastest.Summary.Latency.P99)))
	}
	var droppers []string
	for _, r := range runs {
		if r.Summary.Dropped > 0 {
			droppers = append(droppers, fmt.Sprintf("%s %d (%s)", r.Label, r.Summary.Dropped, pct(dropRatio(r.Summary))))
		}
	}
	if len(droppers) > 0 {
		out = append(out, "Dropped requests: "+strings.Join(droppers, ", ")+".")
	}
	return out
}

func sloVerdict(slos []scenarios.SLO, runs []Run) []string {
	var meet []Run
	var misses []string
	for _, r := range runs {
		if miss := missed(slos, &r.Summary); miss == "" {
			meet = append(meet, r)
		} else {
			misses = append(misses, r.Label+" ("+miss+")")
		}
	}
	goals := make([]string, len(slos))
	for i, o := range slos {
		goals[i] = o.String()
	}
	var out []string
	if len(meet) == 0 {
		out = append(out, fmt.Sprintf("No policy meets every SLO (%s): %s.", strings.Join(goals, ", "), strings.Join(misses, "; ")))
		return out
	}
	pick := best(meet, func(r Run) float64 { return r.Summary.PodSeconds })
	line := fmt.Sprintf("Pick %s: it meets every SLO (%s) at the lowest cost, %s pod-seconds%s.",
		pick.Label, strings.Join(goals, ", "), num(pick.Summary.PodSeconds), versusNext(meet, pick, func(r Run) float64 { return r.Summary.PodSeconds }))
	out = append(out, line)
	if len(misses) > 0 {
		out = append(out, "Missing an SLO: "+strings.Join(misses, "; ")+".")
	}
	return out
}

// missed names the first objective the summary misses, with its value.
func missed(slos []scenarios.SLO, s *results.Summary) string {
	for _, o := range slos {
		ok, v, err := o.Met(s)
		if err != nil {
			return o.Metric + " unknown"
		}
		if !ok {
			return fmt.Sprintf("%s %s > %s", o.Metric, metricValue(o.Metric, v), metricValue(o.Metric, o.Max))
		}
	}
	return ""
}

// sameBackend keeps the simulated runs when there are any, otherwise the
// runs of the first backend, so a verdict never mixes worlds.
func sameBackend(runs []Run) []Run {
	if len(runs) == 0 {
		return nil
	}
	want := runs[0].Backend
	for _, r := range runs {
		if r.Backend == "sim" {
			want = "sim"
			break
		}
	}
	var out []Run
	for _, r := range runs {
		if r.Backend == want {
			out = append(out, r)
		}
	}
	return out
}

// best returns the run with the smallest key; ties go to the earlier run so
// the verdict is deterministic.
func best(runs []Run, key func(Run) float64) Run {
	b := runs[0]
	for _, r := range runs[1:] {
		if key(r) < key(b) {
			b = r
		}
	}
	return b
}

func worst(runs []Run, key func(Run) float64) Run {
	return best(runs, func(r Run) float64 { return -key(r) })
}

// versusNext says how much the chosen run saves against the runner-up.
func versusNext(runs []Run, chosen Run, key func(Run) float64) string {
	var others []float64
	for _, r := range runs {
		if r.Label != chosen.Label {
			others = append(others, key(r))
		}
	}
	if len(others) == 0 {
		return ""
	}
	sort.Float64s(others)
	next := others[0]
	if next <= 0 || next <= key(chosen) {
		return ""
	}
	var name string
	for _, r := range runs {
		if r.Label != chosen.Label && key(r) == next {
			name = r.Label
			break
		}
	}
	return fmt.Sprintf(", %.0f%% less than the runner-up %s", 100*(1-key(chosen)/next), name)
}

func dropRatio(s results.Summary) float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Dropped) / float64(s.Requests)
}

func ratio(v, ref float64) string {
	if ref <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", v/ref)
}

func pct(f float64) string {
	switch {
	case f == 0:
		return "0%"
	case f < 0.001:
		return fmt.Sprintf("%.3f%%", 100*f)
	case f < 0.1:
		return fmt.Sprintf("%.2f%%", 100*f)
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

// ms formats milliseconds the way people read latencies.
func ms(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.0f s", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.2f s", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func metricValue(metric string, v float64) string {
	switch {
	case strings.Contains(metric, "_ms."):
		return ms(v)
	case strings.HasSuffix(metric, "ratio"):
		return pct(v)
	}
	return num(v)
}
