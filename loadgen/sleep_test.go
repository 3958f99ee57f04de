package loadgen

import (
	"testing"
	"time"
)

// BenchmarkSleepLateness compares how late a 5 ms wait in an idle process
// ends with the runtime's time.Sleep and with sleepUntil (the Pacer's
// final wait before an intended send time). Reported: the mean lateness in
// µs. Run with a fixed count, e.g. -benchtime=200x.
func BenchmarkSleepLateness(b *testing.B) {
	for _, c := range []struct {
		name  string
		sleep func(time.Time)
	}{
		{"time.Sleep", func(t time.Time) { time.Sleep(time.Until(t)) }},
		{"sleepUntil", sleepUntil},
	} {
		b.Run(c.name, func(b *testing.B) {
			var late time.Duration
			for i := 0; i < b.N; i++ {
				deadline := time.Now().Add(5 * time.Millisecond)
				c.sleep(deadline)
				late += time.Since(deadline)
			}
			b.ReportMetric(float64(late)/float64(b.N)/1e3, "late-µs")
		})
	}
}

func TestSleepUntilNeverEarly(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Millisecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		deadline := time.Now().Add(d)
		sleepUntil(deadline)
		if now := time.Now(); now.Before(deadline) {
			t.Errorf("wait of %v returned %v before its deadline", d, deadline.Sub(now))
		}
	}
}
