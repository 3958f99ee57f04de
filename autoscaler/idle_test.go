package autoscaler

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestKPASkipIdle drives two KPAs alike through bursts and idle gaps.
// Whenever they have settled at zero, one gets a zero Record every second
// and a Tick every interval through the gap, the other one SkipIdle; then
// both see the same next burst. Every later decision must be identical.
func TestKPASkipIdle(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		set    map[string]string
	}{
		{"knative", "knative", nil},
		{"kpa learned retention", "kpa", nil},
		{"kpa peak floor, single concurrency", "kpa", map[string]string{"container-concurrency": "1"}},
		{"kpa start-up-aware panic", "kpa", map[string]string{"startup-aware-panic": "true", "container-concurrency": "10"}},
		{"kpa periodic prediction", "kpa", map[string]string{"predict-period": "1m", "predict-slot": "5s"}},
		{"scale-down delay", "knative", map[string]string{"scale-down-delay": "20s"}},
		{"weighted, short windows", "knative", map[string]string{"metric-aggregation-algorithm": "weightedExponential", "stable-window": "10s", "scale-to-zero-grace-period": "4s"}},
		{"pod retention", "knative", map[string]string{"scale-to-zero-pod-retention-period": "45s"}},
		{"rps", "knative", map[string]string{"metric": "rps", "target": "5"}},
		{"odd tick", "knative", map[string]string{"tick-interval": "3s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := mustKPA(t, tt.policy, tt.set), mustKPA(t, tt.policy, tt.set)
			every := int(a.Interval() / time.Second)
			r := rand.New(rand.NewPCG(1, 2))
			ready := 0
			step := func(s int, v float64, skipB bool) {
				st := Stat{Concurrency: v, RPS: v}
				pa := a.Record(at(float64(s)), st)
				var pb bool
				if !skipB {
					pb = b.Record(at(float64(s)), st)
				}
				if pa != pb {
					t.Fatalf("second %d: Record poke %v vs %v", s, pa, pb)
				}
				if pa || s%every == 0 {
					da := a.Tick(at(float64(s)), Pods{Ready: ready})
					if !skipB {
						if db := b.Tick(at(float64(s)), Pods{Ready: ready}); da != db {
							t.Fatalf("second %d: decision %+v vs %+v", s, da, db)
						}
					}
					if da.Valid {
						ready = max(0, da.Desired)
					}
				}
			}
			s, skips := 1, 0
			for cycle := 0; cycle < 40; cycle++ {
				// A burst, then zeros until both have settled at zero.
				for end := s + 5 + r.IntN(30); s < end; s++ {
					step(s, r.Float64()*float64(r.IntN(40)), false)
				}
				for ; !(a.Settled() && b.Settled()) && s < 1e6; s++ {
					step(s, 0, false)
				}
				if a.Settled() != b.Settled() {
					t.Fatalf("second %d: settled %v vs %v", s, a.Settled(), b.Settled())
				}
				// The gap: a lives through it, b skips it.
				gap := 1 + r.IntN(400)
				lastTick := time.Time{}
				for end := s + gap; s < end; s++ {
					step(s, 0, true)
					if s%every == 0 {
						lastTick = at(float64(s))
					}
				}
				b.SkipIdle(at(float64(s-1)), lastTick)
				skips++
				if !a.Settled() || !b.Settled() {
					t.Fatalf("second %d: no longer settled after the gap", s)
				}
				// A poke at zero starts the next burst.
				if pa, pb := a.Poke(at(float64(s)-0.5), 1), b.Poke(at(float64(s)-0.5), 1); pa != pb {
					t.Fatalf("second %d: poke %v vs %v", s, pa, pb)
				}
			}
			if skips < 40 {
				t.Fatalf("only %d gaps skipped", skips)
			}
		})
	}
}

// TestKPANotSettled lists states in which skipping would change decisions.
func TestKPANotSettled(t *testing.T) {
	k := mustKPA(t, "knative", nil)
	if k.Settled() {
		t.Error("settled before its first tick")
	}
	drive(k, 0, 10, constant(5), fixedPods(1))
	if k.Settled() {
		t.Error("settled while serving traffic")
	}
	drive(k, 10, 50, constant(0), fixedPods(1))
	if k.Settled() {
		t.Error("settled inside the stable window, with a pod up")
	}
	pods := 1
	for s := 50; s < 300; s++ {
		k.Record(at(float64(s)), Stat{})
		if s%2 == 0 {
			if d := k.Tick(at(float64(s)), Pods{Ready: pods}); d.Valid {
				pods = d.Desired
			}
		}
	}
	if pods != 0 || !k.Settled() {
		t.Error("not settled after minutes at zero")
	}
}

// TestIdlerSkipIdle is TestKPASkipIdle for the other policies that
// implement Idler: through bursts and idle gaps, one copy lives through
// every gap second by second, the other skips it; every decision after
// must be identical.
func TestIdlerSkipIdle(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		set    map[string]string
	}{
		{"keepalive", "keepalive", nil},
		{"keepalive short", "keepalive", map[string]string{"keep-alive": "1s"}},
		{"keepalive first-free, max", "keepalive", map[string]string{"keep-alive": "30s", "routing": "first-free", "max": "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pa, err := New(tt.policy, tt.set)
			if err != nil {
				t.Fatal(err)
			}
			pb, _ := New(tt.policy, tt.set)
			a, aok := pa.(Idler)
			b, _ := pb.(Idler)
			if !aok {
				t.Fatalf("%s does not implement Idler", tt.policy)
			}
			every := int(pa.Interval() / time.Second)
			r := rand.New(rand.NewPCG(1, 2))
			ready := 0
			step := func(s int, v float64, skipB bool) {
				st := Stat{Concurrency: v, MaxConcurrency: v, RPS: v}
				ra := pa.Record(at(float64(s)), st)
				if !skipB {
					if rb := pb.Record(at(float64(s)), st); ra != rb {
						t.Fatalf("second %d: Record poke %v vs %v", s, ra, rb)
					}
				}
				if ra || s%every == 0 {
					da := pa.Tick(at(float64(s)), Pods{Ready: ready})
					if !skipB {
						if db := pb.Tick(at(float64(s)), Pods{Ready: ready}); da != db {
							t.Fatalf("second %d: decision %+v vs %+v", s, da, db)
						}
					}
					if da.Valid {
						ready = max(0, da.Desired)
					}
				}
			}
			s, skips := 1, 0
			for cycle := 0; cycle < 40; cycle++ {
				for end := s + 5 + r.IntN(30); s < end; s++ {
					step(s, r.Float64()*float64(r.IntN(6)), false)
				}
				for ; !(a.Settled() && b.Settled()) && s < 1e6; s++ {
					step(s, 0, false)
				}
				if a.Settled() != b.Settled() {
					t.Fatalf("second %d: settled %v vs %v", s, a.Settled(), b.Settled())
				}
				gap := 1 + r.IntN(4000)
				lastTick := time.Time{}
				for end := s + gap; s < end; s++ {
					step(s, 0, true)
					if s%every == 0 {
						lastTick = at(float64(s))
					}
				}
				b.SkipIdle(at(float64(s-1)), lastTick)
				skips++
				if !a.Settled() || !b.Settled() {
					t.Fatalf("second %d: no longer settled after the gap", s)
				}
				if ra, rb := pa.Poke(at(float64(s)-0.5), 1), pb.Poke(at(float64(s)-0.5), 1); ra != rb {
					t.Fatalf("second %d: poke %v vs %v", s, ra, rb)
				}
			}
			if skips < 40 {
				t.Fatalf("only %d gaps skipped", skips)
			}
		})
	}
}

// TestKeepaliveNotSettled: demand still in the window, or instances
// wanted, is not settled.
func TestKeepaliveNotSettled(t *testing.T) {
	for _, c := range []struct {
		name string
		set  map[string]string
		v    float64
	}{
		{"demand within the keep-alive", nil, 2},
		{"provisioned instances", map[string]string{"min": "1"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := New("keepalive", c.set)
			if err != nil {
				t.Fatal(err)
			}
			p.Record(at(1), Stat{MaxConcurrency: c.v})
			p.Tick(at(1), Pods{})
			p.Record(at(2), Stat{})
			p.Tick(at(2), Pods{})
			if p.(Idler).Settled() {
				t.Errorf("settled with %+v", p.Tick(at(2), Pods{}))
			}
		})
	}
}
