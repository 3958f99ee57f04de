package controller

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/scalebench/scalebench/autoscaler"
)

// fakePolicy wants one pod per unit of the last recorded concurrency and
// asks for an immediate tick on any poke.
type fakePolicy struct {
	records, ticks int
	last           float64
	pokeTick       bool
}

func (p *fakePolicy) Name() string            { return "fake" }
func (p *fakePolicy) Interval() time.Duration { return 2 * time.Second }
func (p *fakePolicy) Record(_ time.Time, s autoscaler.Stat) bool {
	p.records++
	p.last = s.Concurrency
	return false
}
func (p *fakePolicy) Poke(_ time.Time, demand float64) bool {
	p.last = max(p.last, demand)
	return p.pokeTick
}
func (p *fakePolicy) Tick(_ time.Time, _ autoscaler.Pods) autoscaler.Decision {
	p.ticks++
	return autoscaler.Decision{Valid: true, Desired: int(p.last), Recommended: int(p.last)}
}

type fakeWorld struct {
	concurrency float64
	scaled      []int
	scaleErr    error
}

func (w *fakeWorld) Stat(string, time.Time) (autoscaler.Stat, error) {
	return autoscaler.Stat{Concurrency: w.concurrency}, nil
}
func (w *fakeWorld) Scale(_ string, n int) error {
	w.scaled = append(w.scaled, n)
	return w.scaleErr
}
func (w *fakeWorld) Pods(string) (autoscaler.Pods, error) { return autoscaler.Pods{Ready: 1}, nil }

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func TestStepSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cases := []struct {
		name        string
		offsets     []time.Duration
		wantRecords int
		wantTicks   int
	}{
		{"first step ticks at once", []time.Duration{0}, 0, 1},
		{"sub-second steps record nothing", []time.Duration{0, 300 * time.Millisecond, 900 * time.Millisecond}, 0, 1},
		{"record each second, tick each interval", []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second}, 4, 3},
		{"fine steps keep the 1s grid", stepsOf(50*time.Millisecond, 61), 3, 2},
		{"a stall records once", []time.Duration{0, 10 * time.Second}, 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{now: t0}
			w := &fakeWorld{concurrency: 3}
			c, err := New(clk, w, w, Options{})
			if err != nil {
				t.Fatal(err)
			}
			p := &fakePolicy{}
			c.Add("r", p)
			for _, off := range tc.offsets {
				c.Step(t0.Add(off))
			}
			if p.records != tc.wantRecords || p.ticks != tc.wantTicks {
				t.Fatalf("records %d ticks %d, want %d and %d", p.records, p.ticks, tc.wantRecords, tc.wantTicks)
			}
			if got := len(c.Ticks()); got != tc.wantTicks {
				t.Fatalf("%d ticks kept, want %d", got, tc.wantTicks)
			}
		})
	}
}

func stepsOf(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i) * d
	}
	return out
}

func TestPokeTicksAtNextStep(t *testing.T) {
	cases := []struct {
		name      string
		pokeTick  bool
		wantTicks int
		wantScale []int
	}{
		{"policy asks for a tick", true, 2, []int{0, 5}},
		{"policy declines", false, 1, []int{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			clk := &fakeClock{now: t0}
			w := &fakeWorld{}
			c, _ := New(clk, w, w, Options{})
			p := &fakePolicy{pokeTick: tc.pokeTick}
			c.Add("r", p)
			c.Step(t0)
			clk.now = t0.Add(100 * time.Millisecond)
			c.Poke("r", 5)
			c.Poke("unknown", 5)
			c.Step(clk.now)
			if p.ticks != tc.wantTicks || !equal(w.scaled, tc.wantScale) {
				t.Fatalf("ticks %d scaled %v, want %d and %v", p.ticks, w.scaled, tc.wantTicks, tc.wantScale)
			}
			if tc.pokeTick && !c.Ticks()[1].Poked {
				t.Fatal("poked tick not marked")
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGaugesCSVAndErrors(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := &fakeClock{now: t0}
	w := &fakeWorld{concurrency: 4, scaleErr: errors.New("no room")}
	reg := prometheus.NewRegistry()
	var errs []string
	c, err := New(clk, w, w, Options{Registerer: reg, OnError: func(r string, err error) { errs = append(errs, r+": "+err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	c.Add("r", &fakePolicy{})
	if err := c.Add("r", &fakePolicy{}); err == nil {
		t.Fatal("adding a revision twice must fail")
	}
	c.Step(t0)
	c.Step(t0.Add(2 * time.Second))
	mfs, _ := reg.Gather()
	var desired float64 = -1
	for _, mf := range mfs {
		if mf.GetName() == "scalebench_autoscaler_desired_pods" {
			desired = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if desired != 4 {
		t.Fatalf("desired gauge %v, want 4", desired)
	}
	if len(errs) != 2 || !strings.Contains(errs[0], "no room") {
		t.Fatalf("errors %q, want the scaler's refusal twice", errs)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, t0, c.Ticks()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "t_seconds,revision,") || !strings.HasPrefix(lines[2], "2.000,r,4,") || !strings.HasSuffix(lines[2], "no room") {
		t.Fatalf("csv:\n%s", buf.String())
	}
}

// TestKPAScalesFromZeroOnPoke drives the registered KPA: a poke at zero gets
// a pod at the very next step, not at the next 2 s tick.
func TestKPAScalesFromZeroOnPoke(t *testing.T) {
	p, err := autoscaler.New("kpa", map[string]string{"initial-scale": "0", "allow-zero-initial-scale": "true"})
	if err != nil {
		t.Fatalf("kpa: %v", err)
	}
	t0 := time.Unix(1000, 0)
	clk := &fakeClock{now: t0}
	w := &zeroWorld{}
	c, _ := New(clk, w, w, Options{})
	c.Add("r", p)
	c.Step(t0)
	if w.desired != 0 {
		t.Fatalf("desired %d before any request, want 0", w.desired)
	}
	clk.now = t0.Add(300 * time.Millisecond)
	c.Poke("r", 1)
	c.Step(clk.now)
	if w.desired < 1 {
		t.Fatalf("desired %d right after a poke at zero, want >= 1", w.desired)
	}
}

type zeroWorld struct{ desired int }

func (w *zeroWorld) Stat(string, time.Time) (autoscaler.Stat, error) { return autoscaler.Stat{}, nil }
func (w *zeroWorld) Scale(_ string, n int) error                     { w.desired = n; return nil }
func (w *zeroWorld) Pods(string) (autoscaler.Pods, error) {
	return autoscaler.Pods{}, nil
}

// TestPokedTickKeepsTheGrid: a tick asked for by a poke comes in between,
// and the scheduled ticks stay at origin + k·Interval, as Knative's ticker
// and the simulator's do. Restarting the schedule from the poked tick
// delayed the next scheduled tick (here from 2 s to 2.5 s), so the local
// policy saw its data at other times than in the simulator.
func TestPokedTickKeepsTheGrid(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := &fakeClock{now: t0}
	w := &fakeWorld{}
	c, _ := New(clk, w, w, Options{})
	p := &fakePolicy{pokeTick: true}
	c.Add("r", p)
	for _, off := range stepsOf(50*time.Millisecond, 81) { // 0 .. 4 s
		clk.now = t0.Add(off)
		if off == 500*time.Millisecond {
			c.Poke("r", 5)
		}
		c.Step(clk.now)
	}
	var got []time.Duration
	for _, tk := range c.Ticks() {
		got = append(got, tk.Time.Sub(t0))
	}
	want := []time.Duration{0, 500 * time.Millisecond, 2 * time.Second, 4 * time.Second}
	if len(got) != len(want) {
		t.Fatalf("ticks at %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ticks at %v, want %v", got, want)
		}
	}
	origin, interval, ok := c.Grid("r")
	if !ok || !origin.Equal(t0) || interval != 2*time.Second {
		t.Fatalf("Grid = %v %v %v, want %v 2s true", origin, interval, ok, t0)
	}
	if _, _, ok := c.Grid("unknown"); ok {
		t.Fatal("Grid of an unknown revision reported ok")
	}
}

// A revision the platform sizes itself is recorded every second with the
// pods alive as desired, and never scaled.
func TestAddSizedRecordsWithoutScaling(t *testing.T) {
	w := &fakeWorld{}
	clk := &fakeClock{now: time.Unix(1000, 0)}
	c, err := New(clk, w, w, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddSized("fn"); err != nil {
		t.Fatal(err)
	}
	if err := c.AddSized("fn"); err == nil {
		t.Error("AddSized twice: want an error")
	}
	c.Poke("fn", 5) // nothing to poke: must not panic
	start := clk.now
	for _, d := range stepsOf(500*time.Millisecond, 7) {
		clk.now = start.Add(d)
		c.Step(clk.now)
	}
	ticks := c.Ticks()
	if len(ticks) != 4 {
		t.Fatalf("%d ticks in 3 s, want 4 (one a second from the first step)", len(ticks))
	}
	for _, tk := range ticks {
		if !tk.Decision.Valid || tk.Decision.Desired != 1 {
			t.Errorf("tick %v: decision %+v, want valid with desired 1 (the one ready pod)", tk.Time.Sub(start), tk.Decision)
		}
	}
	if len(w.scaled) != 0 {
		t.Errorf("scaled to %v, want never", w.scaled)
	}
	if _, iv, ok := c.Grid("fn"); !ok || iv != time.Second {
		t.Errorf("grid interval %v (ok %v), want 1s", iv, ok)
	}
}

func TestRemoveStopsTheRevision(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := &fakeClock{now: t0}
	w := &fakeWorld{concurrency: 2}
	reg := prometheus.NewRegistry()
	c, _ := New(clk, w, w, Options{Registerer: reg, DiscardTicks: true})
	p := &fakePolicy{}
	c.Add("r", p)
	c.Step(t0)
	if !c.Remove("r") || c.Remove("r") {
		t.Fatal("Remove should report the revision once")
	}
	c.Step(t0.Add(2 * time.Second))
	if p.ticks != 1 {
		t.Fatalf("%d ticks, want 1 (none after Remove)", p.ticks)
	}
	if len(c.Ticks()) != 0 {
		t.Fatal("DiscardTicks kept ticks")
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if len(mf.GetMetric()) > 0 {
			t.Fatalf("gauge %s still has series after Remove", mf.GetName())
		}
	}
	if err := c.Add("r", &fakePolicy{}); err != nil {
		t.Fatalf("re-adding a removed revision: %v", err)
	}
}

// With Deploys, an HPA whose first decision has no data is deployed with
// its Deployment's one replica, as in the simulator; without (the
// Kubernetes controller) the invalid decision is left alone.
func TestDeploysStartsTheHPAWithOneReplica(t *testing.T) {
	for _, tc := range []struct {
		name    string
		deploys bool
		want    []int
	}{
		{name: "deploys", deploys: true, want: []int{1}},
		{name: "deployed elsewhere", deploys: false, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &zeroWorld{}
			var scaled []int
			clk := &fakeClock{now: time.Unix(1000, 0)}
			c, err := New(clk, w, scaleLog{w, &scaled}, Options{Deploys: tc.deploys})
			if err != nil {
				t.Fatal(err)
			}
			p, err := autoscaler.New("hpa", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Add("fn", p); err != nil {
				t.Fatal(err)
			}
			c.Step(clk.now)
			if !equal(scaled, tc.want) {
				t.Fatalf("first step scaled to %v, want %v", scaled, tc.want)
			}
		})
	}
}

// scaleLog records every Scale of the Scaler it wraps.
type scaleLog struct {
	*zeroWorld
	log *[]int
}

func (s scaleLog) Scale(name string, n int) error {
	*s.log = append(*s.log, n)
	return s.zeroWorld.Scale(name, n)
}
