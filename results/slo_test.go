package results

import "testing"

func TestParseSLO(t *testing.T) {
	cases := []struct {
		name, in string
		want     SLO
		bad      bool
	}{
		{"latency shorthand", "p99<=300ms", SLO{"latency_ms.p99", 300}, false},
		{"seconds", "p95<=2s", SLO{"latency_ms.p95", 2000}, false},
		{"cold shorthand", "cold_p99<=1.5s", SLO{"cold_latency_ms.p99", 1500}, false},
		{"full path bare ms", "latency_ms.p50<=40", SLO{"latency_ms.p50", 40}, false},
		{"ratio", "cold_start_ratio<=0.01", SLO{"cold_start_ratio", 0.01}, false},
		{"percent", "cold_start_ratio<=1%", SLO{"cold_start_ratio", 0.01}, false},
		{"spaces", " dropped <= 0 ", SLO{"dropped", 0}, false},
		{"lower bound", "p99>=3ms", SLO{}, true},
		{"unknown metric", "p42<=3ms", SLO{}, true},
		{"negative", "dropped<=-1", SLO{}, true},
		{"nan", "dropped<=NaN", SLO{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseSLO(c.in)
			if c.bad {
				if err == nil {
					t.Fatalf("ParseSLO(%q) = %+v, want an error", c.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("ParseSLO(%q) = %+v, want %+v", c.in, got, c.want)
			}
			back, err := ParseSLO(got.String())
			if err != nil || back != got {
				t.Errorf("round trip %q -> %+v, %v", got.String(), back, err)
			}
		})
	}
}
