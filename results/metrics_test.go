package results

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonPath reads a dotted path from the summary's JSON form: the file
// users read, and so an independent reference for the catalogue.
func jsonPath(t *testing.T, s *Summary, path string) float64 {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var cur any
	if err := json.Unmarshal(b, &cur); err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s: %q is not an object", path, part)
		}
		if cur, ok = obj[part]; !ok {
			t.Fatalf("summary.json has no %q (of %s)", part, path)
		}
	}
	f, ok := cur.(float64)
	if !ok {
		t.Fatalf("%s is %T, not a number", path, cur)
	}
	return f
}

// TestMetricsAreSummaryJSONPaths checks every catalogue entry against the
// summary.json key of the same name, with every field set to a different
// value so that a metric reading the wrong field shows.
func TestMetricsAreSummaryJSONPaths(t *testing.T) {
	s := &Summary{
		Kind: "sim", Requests: 1001, Completed: 1002, Dropped: 1003, ColdStarts: 1004, ColdStartRatio: 0.1005,
		PodStarts: 1006, PodSeconds: 1007.5, IdlePodSeconds: 1008.25, MaxPods: 1009,
		Latency:     Percentiles{P50: 1.5, P95: 2.5, P99: 3.5, Max: 4.5, Mean: 5.5},
		ColdLatency: Percentiles{P50: 11.5, P95: 12.5, P99: 13.5, Max: 14.5, Mean: 15.5},
	}
	for _, name := range MetricNames() {
		t.Run(name, func(t *testing.T) {
			got, err := s.Metric(name)
			if err != nil {
				t.Fatal(err)
			}
			if want := jsonPath(t, s, name); got != want {
				t.Errorf("Metric(%q) = %g, summary.json says %g", name, got, want)
			}
			if !KnownMetric(name) {
				t.Errorf("KnownMetric(%q) = false", name)
			}
		})
	}
	if _, err := s.Metric("latency_ms.p42"); err == nil || KnownMetric("latency_ms.p42") {
		t.Error("an unknown metric was read")
	}
}
