package plan

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/simulator"
)

// RolloutDurations are the rollout-durations a rollout plan tries besides
// an instant switch and pre-scaling.
var RolloutDurations = []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute}

// RolloutCandidate is one way of rolling out, simulated.
type RolloutCandidate struct {
	// Rollout says what was tried in words; Duration and PreScaled are
	// the same as numbers.
	Rollout           string             `json:"rollout"`
	DurationSeconds   float64            `json:"rollout_duration_s"`
	PreScaled         bool               `json:"pre_scaled"`
	Feasible          bool               `json:"feasible"`
	PodSeconds        float64            `json:"pod_seconds"`
	ColdStarts        int64              `json:"cold_starts"`
	RolloutColdStarts int64              `json:"rollout_cold_starts"`
	Metrics           map[string]float64 `json:"metrics"`
	Error             string             `json:"error,omitempty"`
}

// RolloutPlan recommends how to make a scenario's rollout steps: the
// cheapest of an instant switch, each of RolloutDurations and pre-scaling
// (initial-scale and min-scale at the old revisions' pods) that meets every
// SLO.
type RolloutPlan struct {
	Scenario   string             `json:"scenario"`
	Policy     string             `json:"policy"`
	Seed       int64              `json:"seed"`
	SLOs       []string           `json:"slos"`
	Choice     *RolloutCandidate  `json:"choice,omitempty"`
	Candidates []RolloutCandidate `json:"candidates"`
}

// PlanRollout simulates each way of rolling out under the policy (its
// settings as the scenario gives them, else its defaults) and picks the
// cheapest that meets every SLO, the shorter rollout among equals. The
// scenario must have a rollout step; simulations run on opt.Workers.
func PlanRollout(ctx context.Context, sc *scenarios.Scenario, opt Options) (*RolloutPlan, error) {
	hasRollout := false
	for _, f := range sc.Functions {
		for _, st := range f.Split {
			hasRollout = hasRollout || st.Rollout >= 0
		}
	}
	if !hasRollout {
		return nil, badinput.Errorf("%s: no function's split has a rollout step (rollout: REVISION) to plan", sc.File)
	}
	pol := scenarios.Policy{Name: opt.Policy, Settings: map[string]string{}}
	for _, p := range sc.Policies {
		if p.Name == opt.Policy {
			pol.Settings = p.Settings
			break
		}
	}
	ways := []scenarios.Rollout{{Name: "instant"}}
	for _, d := range RolloutDurations {
		ways = append(ways, scenarios.Rollout{Name: "rollout-duration " + shortDuration(d), Duration: d})
	}
	ways = append(ways, scenarios.Rollout{Name: "pre-scaled (initial-scale and min-scale: the old revisions' pods)", MatchInitialScale: true, MatchMinScale: true})

	p := &RolloutPlan{Scenario: sc.Name, Policy: opt.Policy, Seed: sc.Seed}
	for _, o := range opt.SLOs {
		p.SLOs = append(p.SLOs, o.String())
	}
	p.Candidates = make([]RolloutCandidate, len(ways))
	workers := max(1, opt.Workers)
	var wg sync.WaitGroup
	next := make(chan int)
	var mu sync.Mutex
	done := 0
	for range min(workers, len(ways)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p.Candidates[i] = evaluateRollout(ctx, sc, pol, ways[i], opt.SLOs)
				if opt.Progress != nil {
					mu.Lock()
					done++
					opt.Progress(done, len(ways))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range ways {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i := range p.Candidates {
		if c := &p.Candidates[i]; c.Feasible && (p.Choice == nil || c.PodSeconds < p.Choice.PodSeconds) {
			p.Choice = c
		}
	}
	return p, nil
}

func evaluateRollout(ctx context.Context, sc *scenarios.Scenario, pol scenarios.Policy, way scenarios.Rollout, slos []results.SLO) RolloutCandidate {
	c := RolloutCandidate{Rollout: way.Name, DurationSeconds: way.Duration.Seconds(), PreScaled: way.MatchInitialScale, Metrics: map[string]float64{}}
	pol.Rollout = &way
	res, err := simulator.Run(ctx, sc, pol, simulator.Options{})
	if err != nil {
		c.Error = err.Error()
		return c
	}
	s := &res.Summary
	c.PodSeconds, c.ColdStarts = s.PodSeconds, s.ColdStarts
	if s.RolloutColdStarts != nil {
		c.RolloutColdStarts = *s.RolloutColdStarts
	}
	c.Feasible = true
	for _, o := range slos {
		ok, v, err := o.Met(s)
		if err != nil {
			c.Error, c.Feasible = err.Error(), false
			return c
		}
		c.Metrics[o.Metric] = v
		c.Feasible = c.Feasible && ok
	}
	return c
}

func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "m") || strings.HasSuffix(s, "h") {
		return s
	}
	return d.String()
}

// WriteRolloutText prints the rollout plan: the recommendation with the
// Knative annotations that make it, then every way tried.
func WriteRolloutText(w io.Writer, p *RolloutPlan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Rollout plan for %s under %s (seed %d), SLOs: %s\n\n", p.Scenario, p.Policy, p.Seed, strings.Join(p.SLOs, ", "))
	if c := p.Choice; c != nil {
		fmt.Fprintf(&b, "Recommended: %s: %d cold starts from the rollout, %.1f pod-seconds.\n", c.Rollout, c.RolloutColdStarts, c.PodSeconds)
		switch {
		case c.PreScaled:
			b.WriteString("  On the new revision's template: autoscaling.knative.dev/initial-scale and autoscaling.knative.dev/min-scale\n  set to the old revision's ready pods (simulated with min-scale kept for the rest of the run).\n")
		case c.DurationSeconds > 0:
			fmt.Fprintf(&b, "  On the Service or Route: serving.knative.dev/rollout-duration: \"%.0fs\"\n", c.DurationSeconds)
		default:
			b.WriteString("  No annotation: Knative moves the whole route once the new revision is Ready.\n")
		}
	} else {
		b.WriteString("No way of rolling out meets every SLO; the table shows how close each comes.\n")
	}
	b.WriteString("\n| rollout | meets SLOs | cold starts (rollout) | cold starts (all) | pod-seconds |\n|---|---|---:|---:|---:|\n")
	for _, c := range p.Candidates {
		ok := "yes"
		switch {
		case c.Error != "":
			ok = "error: " + c.Error
		case !c.Feasible:
			ok = "no"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %.1f |\n", c.Rollout, ok, c.RolloutColdStarts, c.ColdStarts, c.PodSeconds)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteRolloutDir writes rollout-plan.json and rollout-plan.md into dir.
func WriteRolloutDir(dir string, p *RolloutPlan) error {
	if err := results.WriteJSON(filepath.Join(dir, "rollout-plan.json"), p); err != nil {
		return err
	}
	var b strings.Builder
	if err := WriteRolloutText(&b, p); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "rollout-plan.md"), []byte(b.String()), 0o644)
}
