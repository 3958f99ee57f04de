package results

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	good := func() Summary {
		all, cold := NewHistogram(), NewHistogram()
		all.RecordN(100e6, 90)
		cold.RecordN(300e6, 10)
		s := Summary{Kind: "sim", Scenario: "s", Policy: "kpa", DurationSeconds: 60,
			Requests: 100, Completed: 95, Dropped: 5, ColdStarts: 10, PodSeconds: 120, PodStarts: 3,
			Errors: map[string]int64{"503": 5}}
		s.Fill(all, cold)
		return s
	}
	for _, c := range []struct {
		name string
		edit func(*Summary)
		want string // in the error; "" = valid
	}{
		{"a real run", func(*Summary) {}, ""},
		{"negative pod_seconds", func(s *Summary) { s.PodSeconds = -5 }, "pod_seconds -5: want 0 or more"},
		{"negative idle pod seconds", func(s *Summary) { s.IdlePodSeconds = -1 }, "idle_pod_seconds"},
		{"negative requests", func(s *Summary) { s.Requests, s.Completed, s.Dropped = -1, -1, -1 }, "requests -1"},
		{"negative latency", func(s *Summary) { s.Latency.P99 = -3 }, "latency_ms.p99 -3"},
		{"ratio above one", func(s *Summary) { s.ColdStartRatio = 1.5 }, "cold_start_ratio 1.5: want at most 1"},
		{"more completed than requests", func(s *Summary) { s.Completed = 101 }, "completed 101"},
		{"more dropped than requests", func(s *Summary) { s.Dropped = 200 }, "dropped 200"},
		{"negative error count", func(s *Summary) { s.Errors["500"] = -2 }, "errors.500 -2"},
		{"negative histogram count", func(s *Summary) { s.LatencyHistogram[0][1] = -7 }, "latency_histogram[0]"},
		{"negative rate", func(s *Summary) { s.AchievedRate = -1 }, "achieved_rate"},
		{"drop reasons that do not add up", func(s *Summary) { s.Dropped, s.DropReasons = 3, map[string]int64{"timeout": 2} }, "drop_reasons add up to 2: want the 3 dropped"},
		{"negative drop reason", func(s *Summary) { s.Dropped, s.DropReasons = 0, map[string]int64{"timeout": -1, "queue_full": 1} }, "drop_reasons.timeout -1"},
		{"no length", func(s *Summary) { s.DurationSeconds = 0 }, "duration_seconds 0"},
		{"unknown kind", func(s *Summary) { s.Kind = "bench" }, `kind "bench"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := good()
			c.edit(&s)
			err := s.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("Validate() = %v, want one saying %q", err, c.want)
			}
		})
	}
}
