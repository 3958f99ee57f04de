package autoscaler

import (
	"math"
	"strings"
	"testing"
)

// rpsBetween is a series of rps requests per second in seconds [from, to].
func rpsBetween(rps float64, from, to int) func(int) Stat {
	return func(sec int) Stat {
		if sec >= from && sec <= to {
			return Stat{RPS: rps, Concurrency: rps / 10}
		}
		return Stat{}
	}
}

func TestOpenFaaSCEStep(t *testing.T) {
	// The first firing notification (at 35 s under steady load, see
	// TestOpenFaaSCETiming) adds one step to min, capped at max.
	cases := []struct {
		name      string
		set       map[string]string
		step, max int
	}{
		{"defaults: max 5, factor 10 -> ceil(0.5) = 1", nil, 1, 5},
		{"pre-2023 defaults without the CE cap: max 20, factor 20 -> 4", map[string]string{"max": "20", "factor": "20", "ce-limit": "0"}, 4, 20},
		{"max 20, factor 20 under the CE cap: max 5 -> ceil(1) = 1", map[string]string{"max": "20", "factor": "20"}, 1, 5},
		{"max 10, factor 15 without the cap -> ceil(1.5) = 2", map[string]string{"max": "10", "factor": "15", "ce-limit": "0"}, 2, 10},
		{"factor 100: a step of max, capped at max", map[string]string{"factor": "100"}, 5, 5},
		{"max 3, factor 50 -> ceil(1.5) = 2", map[string]string{"max": "3", "factor": "50"}, 2, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := peerNew(t, "openfaas-ce", tc.set)
			got := peerDrive(p, 600, 1, true, rpsBetween(50, 1, 600))
			if want := min(1+tc.step, tc.max); got[34] != 1 || got[35] != want {
				t.Errorf("desired %d at 34 s and %d at 35 s, want 1 then %d", got[34], got[35], want)
			}
			if got[599] != tc.max {
				t.Errorf("desired %d after 10 minutes of load, want max %d", got[599], tc.max)
			}
		})
	}
}

func TestOpenFaaSCETiming(t *testing.T) {
	// Worked by hand for 10 rps from second 1, the stack's timers anchored
	// at second 0:
	//   scrapes at 0 (no series yet), 5 (50), 10 (100), 15 (150), ...
	//   eval 15: samples 10 and 15 in (5, 15]: 50 over 5 s, extrapolated
	//            to the 10 s range = 10 rps > 5 -> pending
	//   eval 30: still 10 rps and 15 s >= for 5 s -> firing, sent
	//   group_wait 5 s -> flush at 35 notifies: 1 -> 2
	//   flushes every 10 s; a repeat needs the last notification strictly
	//   older than 30 s, so 65 does not repeat and 75 does: 3, 115: 4,
	//   155: 5 (max).
	//   Load stops after 200: eval 210 sees 0 rps -> resolved; the next
	//   flush, 215, notifies it -> min 1.
	type check struct{ sec, want int }
	cases := []struct {
		name   string
		set    map[string]string
		stat   func(int) Stat
		checks []check
	}{
		{"10 rps: first step at 35 s, repeats every 40 s, min on resolve", nil, rpsBetween(10, 1, 200),
			[]check{{0, 1}, {34, 1}, {35, 2}, {74, 2}, {75, 3}, {114, 3}, {115, 4}, {155, 5}, {214, 5}, {215, 1}, {400, 1}}},
		{"repeat-interval 25s repeats every 30 s", map[string]string{"repeat-interval": "25s", "max": "20", "ce-limit": "0", "factor": "5"}, rpsBetween(10, 1, 200),
			[]check{{35, 2}, {64, 2}, {65, 3}, {95, 4}, {125, 5}}},
		{"exactly the threshold never fires", nil, rpsBetween(5, 1, 300), []check{{299, 1}}},
		{"6 rps fires", nil, rpsBetween(6, 1, 300), []check{{34, 1}, {35, 2}}},
		{"for 0s fires at the first evaluation", map[string]string{"alert-for": "0s"}, rpsBetween(10, 1, 300), []check{{19, 1}, {20, 2}}},
		{
			// Load from 20 s: pending at eval 30, firing at 45, flush 50.
			"traffic starting between evaluations", nil, rpsBetween(10, 20, 300),
			[]check{{49, 1}, {50, 2}},
		},
		{
			// A burst too short to last two evaluations only goes pending.
			"a 10 s burst stays pending", nil, rpsBetween(100, 8, 17), []check{{200, 1}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := peerNew(t, "openfaas-ce", tc.set)
			got := peerDrive(p, tc.checks[len(tc.checks)-1].sec+1, 1, true, tc.stat)
			for _, c := range tc.checks {
				if got[c.sec] != c.want {
					t.Errorf("at %d s desired %d, want %d (every 5 s: %v)", c.sec, got[c.sec], c.want, peerSample(got, 5))
				}
			}
		})
	}
}

func TestOpenFaaSCEReportsRateAndAlertState(t *testing.T) {
	p := peerNew(t, "openfaas-ce", nil)
	stat := rpsBetween(10, 1, 100)
	var at15, at30 Decision
	for sec := 0; sec <= 30; sec++ {
		p.Record(peerAt(sec), stat(sec))
		d := p.Tick(peerAt(sec), Pods{Ready: 1})
		switch sec {
		case 15:
			at15 = d
		case 30:
			at30 = d
		}
	}
	if math.Abs(at15.Stable-10) > 1e-9 || at15.PanicValue != ofcePending {
		t.Errorf("at 15 s rate %g, state %g; want 10 rps, pending", at15.Stable, at15.PanicValue)
	}
	if at30.PanicValue != ofceFiring {
		t.Errorf("at 30 s state %g, want firing", at30.PanicValue)
	}
}

func TestOpenFaaSCEScaleToZero(t *testing.T) {
	p := peerNew(t, "openfaas-ce", map[string]string{"scale-to-zero": "true", "idle-duration": "60s"})
	var d Decision
	for sec := 0; sec <= 60; sec++ {
		p.Record(peerAt(sec), Stat{})
		d = p.Tick(peerAt(sec), Pods{Ready: 1})
		if sec == 59 && d.Desired != 1 {
			t.Fatalf("idled before the idle duration: desired %d at 59 s", d.Desired)
		}
	}
	// The idler checks every 30 s; at 60 s nothing has been invoked for 60 s.
	if d.Desired != 0 || !d.ActivatorInPath {
		t.Fatalf("at 60 s desired %d, activator %v; want 0 with the gateway holding requests", d.Desired, d.ActivatorInPath)
	}
	if p.Poke(peerAt(61), 0) {
		t.Error("a poke without demand asked for a tick")
	}
	if !p.Poke(peerAt(61), 1) {
		t.Fatal("a request at zero did not ask for a tick")
	}
	if d = p.Tick(peerAt(61), Pods{}); d.Desired != 1 {
		t.Errorf("scale from zero set %d, want min 1", d.Desired)
	}
	if p.Poke(peerAt(62), 3) {
		t.Error("a poke with replicas present asked for a tick; CE scales only on alerts")
	}
}

func TestOpenFaaSCEWakesOnRecordedTraffic(t *testing.T) {
	p := peerNew(t, "openfaas-ce", map[string]string{"scale-to-zero": "true", "idle-duration": "30s", "min": "2"})
	got := peerDrive(p, 40, 1, true, rpsBetween(1, 35, 40))
	if got[30] != 0 || got[34] != 0 || got[35] != 2 {
		t.Errorf("desired at 30, 34, 35 s = %d, %d, %d; want 0, 0, then min 2", got[30], got[34], got[35])
	}
}

func TestOpenFaaSCESettingsValidation(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"factor 0", map[string]string{"factor": "0"}, "factor must be 1-100"},
		{"factor 101", map[string]string{"factor": "101"}, "factor must be 1-100"},
		{"min 0", map[string]string{"min": "0"}, "refuses 0"},
		{"max below min", map[string]string{"min": "3", "max": "2"}, "max must be"},
		{"min above the CE cap", map[string]string{"min": "6", "max": "10"}, "CE cap"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("openfaas-ce", tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func BenchmarkOpenFaaSCETick(b *testing.B) {
	p := peerNew(b, "openfaas-ce", map[string]string{"max": "1000", "ce-limit": "0"})
	pods := Pods{Ready: 1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := peerAt(i)
		p.Record(now, Stat{RPS: float64(i % 20), Concurrency: 2})
		pods.Ready = p.Tick(now, pods).Desired
	}
}
