package traffic

import (
	"testing"
	"time"
)

// TestFunctionArrivals checks that each function's stream alone is exactly
// its share of the merged stream, which is what lets the simulator run a
// fleet's functions apart.
func TestFunctionArrivals(t *testing.T) {
	inv, dur, mem := samplePaths(t)
	sparse, err := SparseTrace(SparseOptions{Functions: 300, Seed: 3, Scale: 20})
	if err != nil {
		t.Fatal(err)
	}
	azure, err := LoadAzure2019(inv, dur, mem, Azure2019Options{FirstMinute: 600, Minutes: 20})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		tr       *Trace
		duration time.Duration
	}{
		{"sparse", sparse, 10 * time.Minute},
		{"sparse cut mid-stream", sparse, 97 * time.Second},
		{"azure2019", azure, 0},
		{"azure2019 cut", azure, 7 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(tt.tr.Functions())
			per := make([][]Arrival, n)
			src := tt.tr.Arrivals(5, tt.duration)
			total := 0
			for a, ok := src.Next(); ok; a, ok = src.Next() {
				per[a.Function] = append(per[a.Function], a)
				total++
			}
			if total == 0 {
				t.Fatal("no arrivals")
			}
			for fn := range n {
				s, ok := tt.tr.FunctionArrivals(5, tt.duration, fn)
				if !ok {
					t.Fatalf("function %d: not splittable", fn)
				}
				i := 0
				for a, ok := s.Next(); ok; a, ok = s.Next() {
					if i >= len(per[fn]) || a != per[fn][i] {
						t.Fatalf("function %d arrival %d = %+v, merged stream has %d arrivals for it", fn, i, a, len(per[fn]))
					}
					i++
				}
				if i != len(per[fn]) {
					t.Fatalf("function %d: %d arrivals alone, %d merged", fn, i, len(per[fn]))
				}
			}
		})
	}
	if _, ok := sparse.FunctionArrivals(5, time.Minute, 300); ok {
		t.Error("function 300 of 300 split")
	}
}

// fleetDay is the generated fleet of issue 14's target: 3,000 functions of
// the published Azure 2019 shape with every rate scaled by 0.19, which puts
// a day at about 150 million invocations. simulator's BenchmarkFleetDay and
// scenarios/fleet/fleet-day.yaml use the same parameters.
var fleetDay = SparseOptions{Functions: 3000, Seed: 2, Scale: 0.19}

func TestFleetDayScale(t *testing.T) {
	tr, err := SparseTrace(fleetDay)
	if err != nil {
		t.Fatal(err)
	}
	var perDay, busiest float64
	timers := 0
	for _, f := range tr.Functions() {
		perDay += f.MeanRate * 86400
		busiest = max(busiest, f.MeanRate)
		if f.Trigger == "timer" {
			timers++
		}
	}
	if perDay < 145e6 || perDay > 155e6 {
		t.Errorf("a day is %.1f M invocations, want about 150 M", perDay/1e6)
	}
	// Rates still span the published eight orders of magnitude, scaled.
	if lo, hi := 0.19*1e4/60*0.8, 0.19*1e4/60; busiest < lo || busiest > hi {
		t.Errorf("busiest function %.1f/s, want %.1f to %.1f", busiest, lo, hi)
	}
	if share := float64(timers) / 3000; share < 0.13 || share > 0.18 {
		t.Errorf("timer share %.3f, want about 0.156", share)
	}
	if tr.String() != "sparse:functions=3000,seed=2,scale=0.19" {
		t.Errorf("spec %q", tr.String())
	}
}
