package gate

import (
	"strings"
	"testing"

	"github.com/scalebench/scalebench/badinput"
)

// FuzzParseBounds: --max-regress is user input, so whatever it holds the
// parser returns bounds or one line of bad input, never a panic, and every
// bound it accepts is a known metric with a finite, non-negative limit.
func FuzzParseBounds(f *testing.F) {
	for _, s := range []string{DefaultBounds, "dropped=0", "latency_ms.p99=10%", "x=1", "=", "pod_seconds=1e400", "cold_start_ratio=-0%", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bounds, err := ParseBounds(s)
		if err != nil {
			if !badinput.Is(err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %T %q: want one line of bad input", err, err)
			}
			return
		}
		for _, b := range bounds {
			if b.Limit < 0 || b.Limit != b.Limit || b.Limit > 1e308 {
				t.Fatalf("bound %+v accepted", b)
			}
		}
	})
}
