package autoscaler

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

func TestKeepaliveSeries(t *testing.T) {
	type check struct{ sec, want int }
	peaks := func(p map[int]float64) func(int) Stat {
		return func(sec int) Stat { return Stat{MaxConcurrency: p[sec], Concurrency: p[sec] / 2} }
	}
	cases := []struct {
		name   string
		set    map[string]string
		stat   func(int) Stat
		checks []check
	}{
		{
			// A request in the second ending at 5 keeps its instance to 15.
			name: "one request, kept for keep-alive", set: map[string]string{"keep-alive": "10s"},
			stat:   peaks(map[int]float64{5: 1}),
			checks: []check{{4, 0}, {5, 1}, {14, 1}, {15, 0}},
		},
		{
			// Instances 2 and 3 were last used at 0; instance 1 keeps
			// serving from 5.
			name: "idle instances expire, the busy one stays", set: map[string]string{"keep-alive": "10s"},
			stat:   peaks(map[int]float64{0: 3, 5: 1, 8: 1, 12: 1, 16: 1}),
			checks: []check{{0, 3}, {9, 3}, {10, 1}, {25, 1}, {26, 0}},
		},
		{
			name: "the default keep-alive is 10 minutes",
			stat: peaks(map[int]float64{1: 2}), checks: []check{{600, 2}, {601, 0}},
		},
		{
			name: "average concurrency when the peak is unknown", set: map[string]string{"keep-alive": "10s"},
			stat:   func(sec int) Stat { return Stat{Concurrency: 2.5 * float64(sec%2)} },
			checks: []check{{1, 3}, {30, 3}},
		},
		{
			name: "max caps, min keeps instances warm", set: map[string]string{"keep-alive": "10s", "min": "2", "max": "5"},
			stat:   peaks(map[int]float64{3: 8}),
			checks: []check{{0, 2}, {3, 5}, {12, 5}, {13, 2}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := peerNew(t, "keepalive", tc.set)
			got := peerDrive(p, tc.checks[len(tc.checks)-1].sec+1, 0, true, tc.stat)
			for _, c := range tc.checks {
				if got[c.sec] != c.want {
					t.Errorf("at %d s desired %d, want %d (series %v)", c.sec, got[c.sec], c.want, got)
				}
			}
		})
	}
}

// TestKeepaliveMatchesInstanceSimulation checks the windowed-peak shortcut
// against an explicit pool of instances reused lowest index first.
func TestKeepaliveMatchesInstanceSimulation(t *testing.T) {
	for _, keep := range []int{1, 7, 60} {
		rng := rand.New(rand.NewSource(int64(keep)))
		p := peerNew(t, "keepalive", map[string]string{"keep-alive": (time.Duration(keep) * time.Second).String()})
		lastUse := map[int]int{} // instance -> second of its last use
		for sec := 0; sec < 2000; sec++ {
			busy := 0
			if rng.Intn(3) > 0 {
				busy = rng.Intn(12)
			}
			for i := 1; i <= busy; i++ {
				lastUse[i] = sec
			}
			p.Record(peerAt(sec), Stat{MaxConcurrency: float64(busy)})
			d := p.Tick(peerAt(sec), Pods{})
			alive := 0
			for _, used := range lastUse {
				if sec-used < keep {
					alive++
				}
			}
			if d.Desired != alive {
				t.Fatalf("keep-alive %d s, at %d s: desired %d, explicit pool has %d alive", keep, sec, d.Desired, alive)
			}
		}
	}
}

func TestKeepalivePokeScalesPerRequest(t *testing.T) {
	p := peerNew(t, "keepalive", map[string]string{"keep-alive": "10s"})
	p.Record(peerAt(1), Stat{MaxConcurrency: 1})
	if d := p.Tick(peerAt(1), Pods{}); d.Desired != 1 {
		t.Fatalf("desired %d after one request, want 1", d.Desired)
	}
	mid := peerAt(2).Add(-300 * time.Millisecond)
	if p.Poke(mid, 1) {
		t.Error("a request that fits the idle instance asked for a tick")
	}
	if !p.Poke(mid, 4) {
		t.Fatal("four requests in flight with one instance did not ask for a tick")
	}
	if d := p.Tick(mid, Pods{Ready: 1}); d.Desired != 4 {
		t.Errorf("desired %d after a poke of 4, want 4 at once", d.Desired)
	}
	// The poke at 1.7 s keeps its instances until 11.7 s.
	p.Record(peerAt(2), Stat{MaxConcurrency: 1})
	if d := p.Tick(peerAt(11), Pods{}); d.Desired != 4 {
		t.Errorf("at 11 s desired %d, want the 4 poked instances still kept", d.Desired)
	}
	if d := p.Tick(peerAt(12), Pods{}); d.Desired != 0 {
		t.Errorf("at 12 s desired %d, want 0 (scale to zero)", d.Desired)
	}
	if d := p.Tick(peerAt(12), Pods{}); !d.ActivatorInPath {
		t.Error("at zero the activator is not in the path")
	}
}

// TestKeepaliveExactTime wants keep-alive honoured to the nanosecond, not
// rounded to whole seconds: a use at t keeps its instance during
// [t, t+keep-alive).
func TestKeepaliveExactTime(t *testing.T) {
	for _, keep := range []string{"10s", "10.4s", "2m30.25s"} {
		t.Run(keep, func(t *testing.T) {
			k, err := time.ParseDuration(keep)
			if err != nil {
				t.Fatal(err)
			}
			p := peerNew(t, "keepalive", map[string]string{"keep-alive": keep})
			use := peerAt(3).Add(-300 * time.Millisecond)
			p.Poke(use, 2)
			if d := p.Tick(use.Add(k-time.Nanosecond), Pods{}); d.Desired != 2 {
				t.Errorf("1 ns before keep-alive ends: desired %d, want 2", d.Desired)
			}
			if d := p.Tick(use.Add(k), Pods{}); d.Desired != 0 {
				t.Errorf("idle for exactly %v: desired %d, want 0", k, d.Desired)
			}
		})
	}
}

func TestKeepaliveInstances(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		want Instances
	}{
		{name: "defaults are Lambda's", want: Instances{KeepAlive: 10 * time.Minute, Max: 1000}},
		{name: "settings", set: map[string]string{"keep-alive": "90s", "min": "2", "max": "7"},
			want: Instances{KeepAlive: 90 * time.Second, Min: 2, Max: 7}},
		{name: "the old routing is a named option", set: map[string]string{"routing": "first-free"},
			want: Instances{KeepAlive: 10 * time.Minute, Max: 1000, FirstFree: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := peerNew(t, "keepalive", tc.set).(InstancePolicy)
			if !ok {
				t.Fatal("keepalive is not an InstancePolicy")
			}
			if got := p.Instances(); got != tc.want {
				t.Errorf("Instances() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestKeepaliveSettingsValidation(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"keep-alive 0", map[string]string{"keep-alive": "0s"}, "keep-alive"},
		{"max below min", map[string]string{"min": "3", "max": "2"}, "max must be"},
		{"negative min", map[string]string{"min": "-1"}, "min must not"},
		{"unknown routing", map[string]string{"routing": "lru"}, "routing must be"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("keepalive", tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func BenchmarkKeepaliveTick(b *testing.B) {
	p := peerNew(b, "keepalive", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := peerAt(i)
		p.Record(now, Stat{MaxConcurrency: float64((i * 7919) % 50)})
		p.Tick(now, Pods{})
	}
}
