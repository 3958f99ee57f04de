package reports

import (
	"fmt"
	"math"
	"strings"

	"github.com/scalebench/scalebench/results"
)

// Verdict is the plain-language judgement of one scenario, computed from the
// numbers alone: which policy to pick (cheapest meeting the SLOs), which
// wins on cold starts, on latency and on cost, what the trade-off between
// them is, and who dropped requests. Only runs of one backend are compared
// (the simulated ones when there are any), because a real run's numbers
// carry noise and cover a shorter stretch.
func Verdict(s Scenario) []string {
	runs := sameBackend(s.okRuns())
	if len(runs) == 0 {
		return []string{"No run of this scenario completed, so there is nothing to compare."}
	}
	var out []string
	if len(s.SLOs) > 0 {
		out = append(out, sloVerdict(s.SLOs, runs)...)
	}
	out = append(out, rolloutVerdict(s.SLOs, runs)...)
	podSeconds := func(r Run) float64 { return r.Summary.PodSeconds }
	coldStarts := func(r Run) float64 { return float64(r.Summary.ColdStarts) }
	p99 := func(r Run) float64 { return r.Summary.Latency.P99 }

	fewest := ties(runs, coldStarts)
	if fewest[0].Summary.ColdStarts == 0 {
		out = append(out, fmt.Sprintf("Cold starts: %s %s none.", names(fewest), have(fewest)))
	} else {
		out = append(out, fmt.Sprintf("Cold starts: %s %s the fewest, %d (%s of requests).",
			names(fewest), have(fewest), fewest[0].Summary.ColdStarts, pct(fewest[0].Summary.ColdStartRatio)))
	}
	fastest := ties(runs, p99)
	slowest := ties(runs, func(r Run) float64 { return -p99(r) })
	if p99(slowest[0]) > p99(fastest[0]) {
		out = append(out, fmt.Sprintf("Latency: %s %s the lowest p99, %s; the highest is %s at %s.",
			names(fastest), have(fastest), ms(p99(fastest[0])), names(slowest), ms(p99(slowest[0]))))
	} else {
		out = append(out, fmt.Sprintf("Latency: every policy has the same p99, %s.", ms(p99(fastest[0]))))
	}
	cheapest := ties(runs, podSeconds)
	out = append(out, fmt.Sprintf("Cost: %s %s the cheapest at %s pod-seconds%s.",
		names(cheapest), is(cheapest), num(podSeconds(cheapest[0])), versusNext(runs, cheapest[0], podSeconds)))
	out = append(out, tradeOff(s.SLOs, fewest, cheapest))
	var droppers []string
	for _, r := range runs {
		if r.Summary.Dropped > 0 {
			d := fmt.Sprintf("%s %d (%s)", r.Label, r.Summary.Dropped, pct(dropRatio(r.Summary)))
			if len(r.Summary.DropReasons) > 0 {
				d += ": " + strings.TrimSuffix(strings.SplitN(dropped(r.Summary), "(", 2)[1], ")")
			}
			droppers = append(droppers, d)
		}
	}
	if len(droppers) > 0 {
		out = append(out, "Dropped requests: "+strings.Join(droppers, ", ")+".")
	}
	return out
}

// tradeOff says what the fewest cold starts cost against the cheapest run,
// the choice a platform engineer tunes keep-alive and min-scale for.
func tradeOff(slos []results.SLO, fewest, cheapest []Run) string {
	for _, f := range fewest {
		for _, c := range cheapest {
			if f.Label == c.Label {
				caveat := ""
				if miss := missed(slos, &f.Summary); miss != "" {
					caveat = ", though it misses an SLO (" + miss + ")"
				}
				return fmt.Sprintf("Trade-off: none between cost and cold starts; %s is both the cheapest and has the fewest cold starts%s.", f.Label, caveat)
			}
		}
	}
	f, c := fewest[0], cheapest[0]
	if f.Summary.ColdStarts == 0 {
		return fmt.Sprintf("Trade-off: %s has no cold starts where the cheapest, %s, has %d, but uses %s its pod-seconds.",
			f.Label, c.Label, c.Summary.ColdStarts, ratio(f.Summary.PodSeconds, c.Summary.PodSeconds))
	}
	return fmt.Sprintf("Trade-off: %s avoids %d of %s's %d cold starts but uses %s its pod-seconds.",
		f.Label, c.Summary.ColdStarts-f.Summary.ColdStarts, c.Label, c.Summary.ColdStarts, ratio(f.Summary.PodSeconds, c.Summary.PodSeconds))
}

// ties returns every run sharing the smallest key, in report order, so a
// verdict never picks one of two identical results arbitrarily.
func ties(runs []Run, key func(Run) float64) []Run {
	b := best(runs, key)
	var out []Run
	for _, r := range runs {
		if key(r) == key(b) {
			out = append(out, r)
		}
	}
	return out
}

func names(runs []Run) string {
	l := make([]string, len(runs))
	for i, r := range runs {
		l[i] = r.Label
	}
	if len(l) == 1 {
		return l[0]
	}
	return strings.Join(l[:len(l)-1], ", ") + " and " + l[len(l)-1]
}

func have(runs []Run) string {
	if len(runs) == 1 {
		return "has"
	}
	return "have"
}

func is(runs []Run) string {
	if len(runs) == 1 {
		return "is"
	}
	return "are"
}

func sloVerdict(slos []results.SLO, runs []Run) []string {
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
	picks := ties(meet, func(r Run) float64 { return r.Summary.PodSeconds })
	verb := "meets"
	if len(picks) > 1 {
		verb = "meet"
	}
	line := fmt.Sprintf("Pick %s: %s every SLO (%s) at the lowest cost, %s pod-seconds%s.",
		names(picks), verb, strings.Join(goals, ", "), num(picks[0].Summary.PodSeconds), versusNext(meet, picks[0], func(r Run) float64 { return r.Summary.PodSeconds }))
	out = append(out, line)
	if len(misses) > 0 {
		out = append(out, "Missing an SLO: "+strings.Join(misses, "; ")+".")
	}
	return out
}

// missed names the first objective the summary misses, with its value.
func missed(slos []results.SLO, s *results.Summary) string {
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

// versusNext says how much the chosen run saves against the next cheapest
// run with a different result.
func versusNext(runs []Run, chosen Run, key func(Run) float64) string {
	next, name := math.Inf(1), ""
	for _, r := range runs {
		if k := key(r); k > key(chosen) && k < next {
			next, name = k, r.Label
		}
	}
	if math.IsInf(next, 1) || next <= 0 {
		return ""
	}
	saved := 100 * (1 - key(chosen)/next)
	if saved < 1 {
		return fmt.Sprintf(", within 1%% of the runner-up %s", name)
	}
	return fmt.Sprintf(", %.0f%% less than the runner-up %s", saved, name)
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
