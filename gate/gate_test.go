package gate

import (
	"testing"

	"github.com/scalebench/scalebench/results"
)

func TestMannWhitneyGreater(t *testing.T) {
	cases := []struct {
		name        string
		base, cur   [][2]int64
		significant bool
	}{
		{"same distribution", [][2]int64{{100, 50}, {200, 50}}, [][2]int64{{100, 50}, {200, 50}}, false},
		{"clearly slower", [][2]int64{{100, 90}, {200, 10}}, [][2]int64{{100, 10}, {200, 90}}, true},
		{"faster is not a regression", [][2]int64{{100, 10}, {200, 90}}, [][2]int64{{100, 90}, {200, 10}}, false},
		{"tiny shift in few samples", [][2]int64{{100, 3}, {200, 2}}, [][2]int64{{100, 2}, {200, 3}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ok := mannWhitneyGreater(c.base, c.cur)
			if !ok {
				t.Fatal("test did not apply")
			}
			if (p < Alpha) != c.significant {
				t.Errorf("p = %.4g, significant = %v, want %v", p, p < Alpha, c.significant)
			}
		})
	}
}

func TestGateMeasuredNeedsSignificance(t *testing.T) {
	mk := func(kind string, slow int64) results.Summary {
		all, cold := results.NewHistogram(), results.NewHistogram()
		all.RecordN(100e6, 100-slow)
		all.RecordN(300e6, slow)
		s := results.Summary{Kind: kind, Scenario: "s", Policy: "kpa", Requests: 100}
		s.Fill(all, cold)
		return s
	}
	bounds, err := ParseBounds("latency_ms.p99=10%")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		base, cur results.Summary
		failed    int
	}{
		{"sim compares numbers", mk("sim", 0), mk("sim", 2), 1},
		{"measured noise passes", mk("load", 0), mk("load", 2), 0},
		{"measured shift fails", mk("load", 0), mk("load", 40), 1},
		{"measured equal passes", mk("run", 5), mk("run", 5), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, failed := Check([]results.Summary{c.base}, []results.Summary{c.cur}, bounds)
			if failed != c.failed {
				t.Errorf("failed = %d, want %d", failed, c.failed)
			}
		})
	}
}

func TestParseBounds(t *testing.T) {
	cases := []struct {
		name, in string
		bad      bool
	}{
		{"defaults", DefaultBounds, false},
		{"absolute", "dropped=5", false},
		{"unknown metric", "latency.p99=10%", true},
		{"no value", "latency_ms.p99", true},
		{"negative", "latency_ms.p99=-1%", true},
		{"empty", " , ", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseBounds(c.in)
			if (err != nil) != c.bad {
				t.Errorf("ParseBounds(%q) error %v, want error %v", c.in, err, c.bad)
			}
		})
	}
}
