package results

import (
	"fmt"
	"math"
	"sort"
)

// Validate reports the first value in s that no run can have: a negative
// count, seconds or latency (pod_seconds -5), a ratio above 1, more
// completed or dropped requests than requests, a kind no world writes, a
// run of no length. A file edited by hand, or written by something else,
// could make a gate pass or fail on numbers that mean nothing; a reader
// that compares summaries checks them first. The error names the
// summary.json key.
func (s *Summary) Validate() error {
	switch s.Kind {
	case "sim", "load", "run":
	default:
		return fmt.Errorf("kind %q: want sim, load or run", s.Kind)
	}
	if !(s.DurationSeconds > 0) || math.IsInf(s.DurationSeconds, 0) {
		return fmt.Errorf("duration_seconds %v: want the run's planned length, more than 0", s.DurationSeconds)
	}
	// Every metric of the catalogue is a count, a ratio, seconds or
	// milliseconds.
	for _, m := range catalogue {
		if v := m.value(s); !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%s %v: want 0 or more", m.name, v)
		}
	}
	for _, f := range []struct {
		key string
		v   float64
	}{
		{"pod_limit", float64(s.PodLimit)},
		{"pods_refused", float64(s.PodsRefused)},
		{"unfinished", float64(s.Unfinished)},
		{"sim_wall_seconds", s.SimWallSeconds},
		{"sim_requests_per_second", s.SimRequestsPerSecond},
		{"requested_rate", s.RequestedRate},
		{"achieved_rate", s.AchievedRate},
	} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s %v: want 0 or more", f.key, f.v)
		}
	}
	switch {
	case s.ColdStartRatio > 1:
		return fmt.Errorf("cold_start_ratio %v: want at most 1", s.ColdStartRatio)
	case s.Completed > s.Requests:
		return fmt.Errorf("completed %d: more than the %d requests", s.Completed, s.Requests)
	case s.Dropped > s.Requests:
		return fmt.Errorf("dropped %d: more than the %d requests", s.Dropped, s.Requests)
	}
	if len(s.DropReasons) > 0 {
		reasons := make([]string, 0, len(s.DropReasons))
		for k := range s.DropReasons {
			reasons = append(reasons, k)
		}
		sort.Strings(reasons)
		var sum int64
		for _, k := range reasons {
			if s.DropReasons[k] < 0 {
				return fmt.Errorf("drop_reasons.%s %d: want 0 or more", k, s.DropReasons[k])
			}
			sum += s.DropReasons[k]
		}
		if sum != s.Dropped {
			return fmt.Errorf("drop_reasons add up to %d: want the %d dropped", sum, s.Dropped)
		}
	}
	keys := make([]string, 0, len(s.Errors))
	for k := range s.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s.Errors[k] < 0 {
			return fmt.Errorf("errors.%s %d: want 0 or more", k, s.Errors[k])
		}
	}
	for _, h := range []struct {
		key     string
		buckets [][2]int64
	}{{"latency_histogram", s.LatencyHistogram}, {"cold_latency_histogram", s.ColdLatencyHistogram}} {
		for i, b := range h.buckets {
			if b[0] < 0 || b[1] < 0 {
				return fmt.Errorf("%s[%d] [%d, %d]: want [microseconds, count], neither negative", h.key, i, b[0], b[1])
			}
		}
	}
	return nil
}
