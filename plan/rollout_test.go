package plan

import (
	"context"
	"strings"
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
		want      string // the choice's Rollout prefix
	}{
		{"no cold starts: pre-scaling is cheapest", "cold_starts<=0", "pre-scaled"},
		{"a few allowed: still pre-scaling, cheaper than any duration", "cold_starts<=10", "pre-scaled"},
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
			if p.Choice == nil || !strings.HasPrefix(p.Choice.Rollout, tc.want) {
				t.Fatalf("choice %+v, want %s", p.Choice, tc.want)
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
