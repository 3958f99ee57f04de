package autoscaler

import (
	"strings"
	"testing"
)

func TestOpenFaaSProRule(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		stat Stat
		want int
	}{
		// OpenFaaS Pro docs' worked case: 15 in flight, target 5, proportion 0.9 -> ceil(3.33) = 4.
		{"capacity: 15 in flight, target 5 -> 4", map[string]string{"type": "capacity", "target": "5"}, Stat{MaxConcurrency: 15, Concurrency: 6, RPS: 1}, 4},
		{"capacity falls back to average concurrency", map[string]string{"type": "capacity", "target": "5"}, Stat{Concurrency: 15, RPS: 1}, 4},
		{"rps: 100 rps, target 50 -> ceil(2.22) = 3", nil, Stat{RPS: 100}, 3},
		{"rps: exactly the aim, 45 rps -> 1", nil, Stat{RPS: 45}, 1},
		{"rps: 90 rps is two aims -> 2", nil, Stat{RPS: 90}, 2},
		{"proportion 1: 100 rps -> 2", map[string]string{"target-proportion": "1"}, Stat{RPS: 100}, 2},
		{"no load floors at min", map[string]string{"min": "2"}, Stat{}, 2},
		{"max caps", nil, Stat{RPS: 5000}, 20},
		{"cpu: 900m, target 100m -> 10", map[string]string{"type": "cpu", "target": "100"}, Stat{CPU: 900, RPS: 3}, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := peerNew(t, "openfaas-pro", tc.set)
			p.Record(peerAt(0), tc.stat)
			d := p.Tick(peerAt(0), Pods{Ready: 1})
			if !d.Valid || d.Desired != tc.want {
				t.Errorf("got valid=%v desired=%d (recommended %d, load %g), want %d", d.Valid, d.Desired, d.Recommended, d.Stable, tc.want)
			}
		})
	}
}

func TestOpenFaaSProRefreshAndWindows(t *testing.T) {
	type check struct{ sec, want int }
	series := func(v float64, from, to int, capacity bool) func(int) Stat {
		return func(sec int) Stat {
			if sec < from || sec > to {
				return Stat{}
			}
			if capacity {
				return Stat{MaxConcurrency: v, Concurrency: v / 2, RPS: 1}
			}
			return Stat{RPS: v, Concurrency: 1}
		}
	}
	cases := []struct {
		name   string
		set    map[string]string
		stat   func(int) Stat
		checks []check
	}{
		{
			// Refreshes at 0, 15, 30, ...; the rate is the mean over 30 s:
			// at 30, 11 s of 100 rps = 36.7 -> 1; at 45, 26 s = 86.7 -> 2;
			// at 60, a full window of 100 -> 3.
			name: "rps refreshes every 15 s over a 30 s rate", stat: series(100, 20, 1000, false),
			checks: []check{{29, 1}, {30, 1}, {44, 1}, {45, 2}, {59, 2}, {60, 3}},
		},
		{
			// A one-second peak of 15 at 10 s holds 4 replicas while it is
			// within the 45 s max: refreshes 15, 30 and 45 see it, 60 not.
			name: "capacity holds the peak of the last 45 s", set: map[string]string{"type": "capacity", "target": "5"},
			stat:   series(15, 10, 10, true),
			checks: []check{{14, 1}, {15, 4}, {59, 4}, {60, 1}},
		},
		{
			// 200 rps until 60 s: recommendations 5 at 60, 3 at 75, 0 after.
			name: "no down window: down at the next refresh", stat: series(200, 0, 60, false),
			checks: []check{{60, 5}, {74, 5}, {75, 3}, {90, 1}},
		},
		{
			name: "down window 1m holds the highest recommendation", set: map[string]string{"down-window": "1m"},
			stat:   series(200, 0, 60, false),
			checks: []check{{75, 5}, {119, 5}, {120, 3}, {134, 3}, {135, 1}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := peerNew(t, "openfaas-pro", tc.set)
			got := peerDrive(p, tc.checks[len(tc.checks)-1].sec+1, 1, true, tc.stat)
			for _, c := range tc.checks {
				if got[c.sec] != c.want {
					t.Errorf("at %d s desired %d, want %d (every 5 s: %v)", c.sec, got[c.sec], c.want, peerSample(got, 5))
				}
			}
		})
	}
}

func TestOpenFaaSProScaleToZero(t *testing.T) {
	p := peerNew(t, "openfaas-pro", map[string]string{"zero": "true", "zero-duration": "60s", "min": "2"})
	traffic := func(sec int) Stat {
		if sec == 30 {
			return Stat{RPS: 1, Concurrency: 0.1}
		}
		return Stat{}
	}
	got := peerDrive(p, 200, 2, true, traffic)
	// Idle since the request at 30 s: zero at 90 s, not before.
	if got[89] != 2 || got[90] != 0 {
		t.Fatalf("desired at 89 and 90 s = %d, %d; want 2 then 0", got[89], got[90])
	}
	if p.Poke(peerAt(200), 0) {
		t.Error("a poke without demand asked for a tick")
	}
	if !p.Poke(peerAt(200), 1) {
		t.Fatal("a request at zero did not ask for a tick")
	}
	d := p.Tick(peerAt(200), Pods{})
	if d.Desired != 2 || d.ActivatorInPath {
		t.Errorf("scale from zero: desired %d, activator %v; want min 2 without the activator", d.Desired, d.ActivatorInPath)
	}
	if p.Poke(peerAt(201), 50) {
		t.Error("a poke with replicas up asked for a tick")
	}
	// Recorded traffic wakes it too, and zero=false never idles.
	p2 := peerNew(t, "openfaas-pro", map[string]string{"zero": "true", "zero-duration": "10s"})
	if got := peerDrive(p2, 40, 1, true, func(sec int) Stat {
		if sec == 30 {
			return Stat{RPS: 3}
		}
		return Stat{}
	}); got[29] != 0 || got[30] != 1 {
		t.Errorf("desired at 29 and 30 s = %d, %d; want 0 then 1", got[29], got[30])
	}
	p3 := peerNew(t, "openfaas-pro", nil)
	if got := peerDrive(p3, 3600, 1, true, func(int) Stat { return Stat{} }); got[3599] != 1 {
		t.Errorf("idled to %d without zero=true", got[3599])
	}
}

func TestOpenFaaSProSettingsValidation(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"queue mode is not modelled", map[string]string{"type": "queue"}, "type must be"},
		{"down window over 5 minutes", map[string]string{"down-window": "6m"}, "down-window"},
		{"min 0", map[string]string{"min": "0"}, "zero=true"},
		{"proportion above 1", map[string]string{"target-proportion": "1.5"}, "target-proportion"},
		{"max below min", map[string]string{"min": "5", "max": "4"}, "max must be"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("openfaas-pro", tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func BenchmarkOpenFaaSProTick(b *testing.B) {
	p := peerNew(b, "openfaas-pro", map[string]string{"down-window": "5m"})
	pods := Pods{Ready: 1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := peerAt(i)
		p.Record(now, Stat{RPS: float64(i % 300), Concurrency: 2})
		pods.Ready = p.Tick(now, pods).Desired
	}
}
