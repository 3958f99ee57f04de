package results

import (
	"fmt"
	"strings"
)

// metric is one entry of the catalogue: a summary.json path and how to read
// it from a Summary.
type metric struct {
	name  string
	value func(*Summary) float64
}

// catalogue lists the metrics an SLO or a gate may name, in the order
// reports show them, each read straight from its field. The names are the
// summary.json paths users read in the file.
var catalogue = func() []metric {
	m := []metric{
		{"requests", func(s *Summary) float64 { return float64(s.Requests) }},
		{"completed", func(s *Summary) float64 { return float64(s.Completed) }},
		{"dropped", func(s *Summary) float64 { return float64(s.Dropped) }},
		{"cold_starts", func(s *Summary) float64 { return float64(s.ColdStarts) }},
		{"cold_start_ratio", func(s *Summary) float64 { return s.ColdStartRatio }},
		{"pod_starts", func(s *Summary) float64 { return float64(s.PodStarts) }},
		{"pod_seconds", func(s *Summary) float64 { return s.PodSeconds }},
		{"idle_pod_seconds", func(s *Summary) float64 { return s.IdlePodSeconds }},
		{"max_pods", func(s *Summary) float64 { return float64(s.MaxPods) }},
	}
	for _, h := range []struct {
		name string
		of   func(*Summary) *Percentiles
	}{
		{"latency_ms", func(s *Summary) *Percentiles { return &s.Latency }},
		{"cold_latency_ms", func(s *Summary) *Percentiles { return &s.ColdLatency }},
	} {
		for _, p := range []struct {
			name string
			of   func(*Percentiles) float64
		}{
			{"p50", func(p *Percentiles) float64 { return p.P50 }},
			{"p95", func(p *Percentiles) float64 { return p.P95 }},
			{"p99", func(p *Percentiles) float64 { return p.P99 }},
			{"max", func(p *Percentiles) float64 { return p.Max }},
			{"mean", func(p *Percentiles) float64 { return p.Mean }},
		} {
			m = append(m, metric{h.name + "." + p.name, func(s *Summary) float64 { return p.of(h.of(s)) }})
		}
	}
	return m
}()

// MetricNames lists the summary.json paths an SLO or a gate may name, in
// the order reports show them.
func MetricNames() []string {
	out := make([]string, len(catalogue))
	for i, m := range catalogue {
		out[i] = m.name
	}
	return out
}

// KnownMetric reports whether name is in the catalogue.
func KnownMetric(name string) bool {
	for _, m := range catalogue {
		if m.name == name {
			return true
		}
	}
	return false
}

// Metric reads the named metric (a dotted summary.json path such as
// "latency_ms.p99") from the summary.
func (s *Summary) Metric(name string) (float64, error) {
	for _, m := range catalogue {
		if m.name == name {
			return m.value(s), nil
		}
	}
	return 0, fmt.Errorf("metric %q: unknown (known: %s)", name, strings.Join(MetricNames(), ", "))
}
