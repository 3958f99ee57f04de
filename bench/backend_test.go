package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/simulator"
	"github.com/scalebench/scalebench/traffic"
)

func TestRegistry(t *testing.T) {
	cases := []struct {
		name, backend string
		realOnly      bool
		cfg           Config
		want          string // the backend's Name; "" = bad input
	}{
		{"simulator", "sim", false, Config{}, "sim"},
		{"simulator is not real", "sim", true, Config{}, ""},
		{"unknown", "kubernetes-someday", false, Config{}, ""},
		{"local without cmd/fn", "local", true, Config{FnBinary: filepath.Join(t.TempDir(), "fn")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			newB := New
			if c.realOnly {
				newB = NewReal
			}
			b, err := newB(c.backend, c.cfg)
			if c.want == "" {
				if !badinput.Is(err) {
					t.Fatalf("err = %v, want bad input", err)
				}
				return
			}
			if err != nil || b.Name() != c.want {
				t.Fatalf("got %v, %v; want the %s backend", b, err, c.want)
			}
		})
	}
}

// TestSimulatorSeconds checks that the backend's per-second rows are the
// simulator's rows of every function added up, one per second, in order.
func TestSimulatorSeconds(t *testing.T) {
	pat, err := traffic.Parse("poisson:rate=20")
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := dist.Parse("fixed:50ms")
	sc := &scenarios.Scenario{Name: "two", Duration: 30 * time.Second, Seed: 3, Traffic: pat, Functions: []scenarios.Function{
		{Name: "a", ContainerConcurrency: 1, Service: svc}, {Name: "b", ContainerConcurrency: 2, Service: svc}}}
	pol := scenarios.Policy{Name: "kpa"}
	want := map[int64]Second{}
	if _, err := simulator.Run(context.Background(), sc, pol, simulator.Options{Series: func(s simulator.Second) {
		w := want[s.T]
		w.T, w.Arrivals, w.Desired, w.Ready = s.T, w.Arrivals+s.Arrivals, w.Desired+s.Desired, w.Ready+s.Ready
		want[s.T] = w
	}}); err != nil {
		t.Fatal(err)
	}
	var got []Second
	res, err := Simulator{}.Run(context.Background(), Run{Scenario: sc, Policy: pol, Second: func(s Second) { got = append(got, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || res.Summary.Requests == 0 {
		t.Fatalf("%d seconds, want %d; %d requests", len(got), len(want), res.Summary.Requests)
	}
	for i, s := range got {
		if s.T != int64(i) || s != want[s.T] {
			t.Errorf("second %d: %+v, want %+v", i, s, want[int64(i)])
		}
	}
}
