package results

import (
	"strings"
	"testing"
)

// FuzzParseSLOs: --slo is user input; an accepted objective must read back
// the same from its String form, and a rejected one is one line.
func FuzzParseSLOs(f *testing.F) {
	for _, s := range []string{"p99<=300ms,cold_start_ratio<=0.01", "cold_start_ratio<=1%", "dropped<=0", "p99>=1s", "latency_ms.p95<=250", "p42<=1s", "<=", "mean<=1e309"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		slos, err := ParseSLOs(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for _, o := range slos {
			if !KnownMetric(o.Metric) || o.Max < 0 || o.Max != o.Max {
				t.Fatalf("objective %+v accepted from %q", o, s)
			}
		}
	})
}
