package results

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SLO is one objective such as p99<=300ms or cold_start_ratio<=0.01.
type SLO struct {
	// Metric is a summary.json path: "latency_ms.p99", "cold_start_ratio", ...
	Metric string
	// Max is the largest acceptable value, in the metric's own unit.
	Max float64
}

// shorthand maps the names people write in an SLO to summary paths.
var shorthand = map[string]string{
	"p50": "latency_ms.p50", "p95": "latency_ms.p95", "p99": "latency_ms.p99",
	"max": "latency_ms.max", "mean": "latency_ms.mean",
	"cold_p50": "cold_latency_ms.p50", "cold_p95": "cold_latency_ms.p95",
	"cold_p99": "cold_latency_ms.p99", "cold_max": "cold_latency_ms.max",
}

// ParseSLO parses one objective: "p99<=300ms", "cold_start_ratio<=0.01",
// "cold_start_ratio<=1%", "latency_ms.p95<=250" (milliseconds) or
// "dropped<=0". Only upper bounds exist because every metric is a cost.
func ParseSLO(s string) (SLO, error) {
	metric, bound, ok := strings.Cut(s, "<=")
	if !ok {
		return SLO{}, fmt.Errorf("SLO %q: want metric<=value, like p99<=300ms", s)
	}
	metric, bound = strings.TrimSpace(metric), strings.TrimSpace(bound)
	if full, ok := shorthand[metric]; ok {
		metric = full
	}
	if !KnownMetric(metric) {
		return SLO{}, fmt.Errorf("SLO %q: unknown metric %q (known: p50, p95, p99, cold_p99, %s)", s, metric, strings.Join(MetricNames(), ", "))
	}
	v, err := parseBound(metric, bound)
	if err != nil {
		return SLO{}, fmt.Errorf("SLO %q: %v", s, err)
	}
	return SLO{Metric: metric, Max: v}, nil
}

// ParseSLOs parses a comma-separated list, as the --slo flag takes it.
func ParseSLOs(list string) ([]SLO, error) {
	var out []SLO
	for _, part := range strings.Split(list, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		slo, err := ParseSLO(part)
		if err != nil {
			return nil, err
		}
		out = append(out, slo)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("SLO list %q: want at least one objective like p99<=300ms", list)
	}
	return out, nil
}

// parseBound reads a bound in the metric's unit: durations for latencies
// (stored in ms), percentages or plain numbers for the rest.
func parseBound(metric, s string) (float64, error) {
	if strings.HasSuffix(metric, "_ms") || strings.Contains(metric, "_ms.") {
		if d, err := time.ParseDuration(s); err == nil {
			if d < 0 {
				return 0, fmt.Errorf("want a non-negative bound, got %s", s)
			}
			return float64(d) / float64(time.Millisecond), nil
		}
	}
	scale := 1.0
	if p, ok := strings.CutSuffix(s, "%"); ok {
		s, scale = p, 0.01
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f < 0 {
		return 0, fmt.Errorf("want a non-negative number or duration, got %q", s)
	}
	return f * scale, nil
}

// String writes the SLO the way ParseSLO reads it.
func (o SLO) String() string {
	if strings.Contains(o.Metric, "_ms.") {
		return fmt.Sprintf("%s<=%s", o.Metric, time.Duration(o.Max*float64(time.Millisecond)))
	}
	return fmt.Sprintf("%s<=%g", o.Metric, o.Max)
}

// Met reports whether a run's summary meets the objective, and the value.
func (o SLO) Met(s *Summary) (bool, float64, error) {
	v, err := s.Metric(o.Metric)
	if err != nil {
		return false, 0, err
	}
	return v <= o.Max, v, nil
}
