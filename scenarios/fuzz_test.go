package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/badinput"
)

// FuzzParse checks that no input panics, that every rejection is a
// one-line *badinput.Error, the only kind of error a user should ever see,
// and that every accepted scenario is within the limits that bound a run's
// work (so it finishes in bounded time and memory) with policies that
// build.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("duration: 1m\ntraffic:\n  trace:\n    format: sparse\n    options: {functions: 3}\n"))
	f.Add([]byte("duration: 1m\ntraffic: constant:rate=1\nslos: [p99<=1s, {metric: dropped, max: 0}]\n"))
	f.Add([]byte("duration: 1m\ntraffic: constant:rate=1\nfunctions: [{name: a, startup: {appInit: none}}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("duration: 1m\ntraffic: constant:rate=1\nfunction: {command: [./s, -v], env: {A: b}, readiness: {http: /healthz}, probe-period: 10ms}\n"))
	f.Add([]byte("duration: 1m\ntraffic: constant:rate=1\nfunctions: [{name: a, function: {command: \"python3 s.py 'x y'\", port-env: P, readiness: {tcp: true}}}]\n"))
	f.Add([]byte("duration: 1m\ntraffic: constant:rate=1\npolicies:\n  - kpa\n  - name: openfaas-pro\n    label: pro\n    settings: {type: capacity, target: \"10\"}\n"))
	f.Add([]byte(revisionsScenario))
	f.Add([]byte("duration: 336h\ntraffic: constant:rate=1e9\n"))
	f.Add([]byte("duration: 10s\ntraffic: constant:rate=10\nfunctions: [{name: a, service: fixed:1000000h}]\n"))
	f.Add([]byte("duration: 10s\ntraffic: constant:rate=10\npolicies: [{name: knative, settings: {min-scale: 100000000}}]\n"))
	f.Add([]byte("duration: 10s\ntraffic: constant:rate=10\npolicies: [{name: kpa, settings: {target: NaN}}]\n"))
	f.Add([]byte("duration: 10s\ntraffic: spike:base=5,peak=150,at=2s,for=6s\nactivator: {queueDepth: -1, timeout: -1s}\n"))
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
		if err := CheckLimits(s); err != nil {
			t.Fatalf("accepted a scenario beyond the limits: %v", err)
		}
		for _, p := range s.Policies {
			if _, err := autoscaler.New(p.Name, p.Settings); err != nil {
				t.Fatalf("accepted policy %s that does not build: %v", p.Name, err)
			}
		}
	})
}
