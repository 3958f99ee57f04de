package plan

import (
	"context"
	"fmt"
	"testing"

	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

func TestPlanRollout(t *testing.T) {
	sc, err := scenarios.Load("../scenarios/library/rollout-bluegreen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, slo string
		// want is the choice; shortest the shortest rollout-duration
		// without pre-scaling, smallest the smallest initial scale with
		// an instant switch.
		want, shortest, smallest string
	}{
		{"no cold starts: pre-scaling to the old revision's 4 pods, held", "cold_starts<=0",
			"instant, initial-scale and min-scale 4", "rollout-duration 2m", "instant, initial-scale and min-scale 4"},
		{"a few allowed: a smaller initial scale alone", "cold_starts<=10",
			"instant, initial-scale 3", "rollout-duration 1m", "instant, initial-scale 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slos, err := results.ParseSLOs(tc.slo)
			if err != nil {
				t.Fatal(err)
			}
			p, err := PlanRollout(context.Background(), sc, Options{Policy: "knative", SLOs: slos, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			if p.Choice == nil || p.Choice.Rollout != tc.want {
				t.Fatalf("choice %+v, want %s", p.Choice, tc.want)
			}
			if p.Shortest == nil || p.Shortest.Rollout != tc.shortest {
				t.Errorf("shortest %+v, want %s", p.Shortest, tc.shortest)
			}
			if p.Smallest == nil || p.Smallest.Rollout != tc.smallest {
				t.Errorf("smallest %+v, want %s", p.Smallest, tc.smallest)
			}
			var instant *RolloutCandidate
			for i, c := range p.Candidates {
				if c.Feasible && c.PodSeconds < p.Choice.PodSeconds {
					t.Errorf("%s meets the SLO at %.1f pod-seconds, cheaper than the choice", c.Rollout, c.PodSeconds)
				}
				if c.Rollout == "instant" {
					instant = &p.Candidates[i]
				}
			}
			if instant == nil || instant.Feasible || instant.RolloutColdStarts == 0 {
				t.Errorf("instant switch %+v, want cold starts that miss the SLO", instant)
			}
		})
	}
	noRollout, err := scenarios.Load("../scenarios/library/steady.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PlanRollout(context.Background(), noRollout, Options{Policy: "knative"}); err == nil {
		t.Error("planned a rollout for a scenario without one")
	}
}

func TestInitialScales(t *testing.T) {
	for _, tc := range []struct {
		name string
		old  int
		want string
	}{
		{"no old pods", 0, "[]"},
		{"one", 1, "[1]"},
		{"five: doubling, half and all", 5, "[1 2 3 4 5]"},
		{"twenty", 20, "[1 2 4 8 10 16 20]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(InitialScales(tc.old)); got != tc.want {
				t.Errorf("InitialScales(%d) = %s, want %s", tc.old, got, tc.want)
			}
		})
	}
}
