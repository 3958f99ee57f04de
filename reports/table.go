package reports

import (
	"fmt"
	"strings"
	"time"

	"github.com/scalebench/scalebench/results"
)

// columns of the per-scenario comparison table, shared by the markdown and
// HTML reports so the two never disagree.
var columns = []string{
	"policy", "run", "requests", "cold starts", "cold ratio", "p50", "p95", "p99",
	"cold p50", "cold p99", "pod-seconds", "idle pod-seconds", "max pods", "dropped", "SLOs",
}

// row formats one run for the comparison table.
func row(s Scenario, r Run) []string {
	if r.Err != "" {
		out := make([]string, len(columns))
		out[0] = r.Name()
		out[1] = backendName(r)
		for i := 2; i < len(out); i++ {
			out[i] = "—"
		}
		out[len(out)-1] = "failed: " + r.Err
		return out
	}
	m := r.Summary
	slo := "—"
	if len(s.SLOs) > 0 {
		slo = "met"
		if miss := missed(s.SLOs, &m); miss != "" {
			slo = "missed: " + miss
		}
	}
	cold := func(v float64) string {
		if m.ColdStarts == 0 {
			return "—"
		}
		return ms(v)
	}
	span := backendName(r)
	if m.DurationSeconds > 0 {
		span += " " + Duration(time.Duration(m.DurationSeconds*float64(time.Second)))
	}
	return []string{
		r.Name(),
		span,
		fmt.Sprint(m.Requests),
		fmt.Sprint(m.ColdStarts),
		pct(m.ColdStartRatio),
		ms(m.Latency.P50), ms(m.Latency.P95), ms(m.Latency.P99),
		cold(m.ColdLatency.P50), cold(m.ColdLatency.P99),
		num(m.PodSeconds), num(m.IdlePodSeconds),
		fmt.Sprint(m.MaxPods),
		dropped(m),
		slo,
	}
}

// dropReasonNames says each of summary.json's drop reasons in words, in
// the order the reports list them.
var dropReasonNames = []struct{ key, words string }{
	{"queue_full", "queue full"},
	{"timeout", "timed out waiting for capacity"},
	{"no_endpoints", "no endpoints"},
	{"replica_cap", "at the replica cap"},
}

// dropped is the run's dropped count with why, when the run says why.
func dropped(m results.Summary) string {
	if m.Dropped == 0 || len(m.DropReasons) == 0 {
		return fmt.Sprint(m.Dropped)
	}
	var why []string
	for _, r := range dropReasonNames {
		if n := m.DropReasons[r.key]; n > 0 {
			why = append(why, fmt.Sprintf("%s %d", r.words, n))
		}
	}
	return fmt.Sprintf("%d (%s)", m.Dropped, strings.Join(why, ", "))
}

func backendName(r Run) string {
	if isSim(r) {
		return "sim"
	}
	return r.Backend
}

// Duration writes d the way people say it: 15m, 2m10s, 1h.
func Duration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
