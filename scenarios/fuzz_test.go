package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/scalebench/scalebench/badinput"
)

// FuzzParse checks that no input panics and that every rejection is a
// one-line *badinput.Error, the only kind of error a user should ever see.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("duration: 1m\ntraffic:\n  trace:\n    format: sparse\n    options: {functions: 3}\n"))
	f.Add([]byte("duration: 1m\ntraffic: constant:rate=1\nslos: [p99<=1s, {metric: dropped, max: 0}]\n"))
	f.Add([]byte("duration: 1m\ntraffic: constant:rate=1\nfunctions: [{name: a, startup: {appInit: none}}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			var pe *badinput.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %q is not a *badinput.Error", err, err)
			}
			if strings.Contains(pe.Msg, "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if s.Duration <= 0 || s.Traffic == nil || len(s.Functions) == 0 || len(s.Policies) == 0 {
			t.Fatalf("accepted an incomplete scenario: %+v", s)
		}
	})
}
