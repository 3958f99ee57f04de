package plan

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/simulator"
)

// RolloutDurations are the rollout-durations a rollout plan tries besides
// an instant switch, each alone and with each initial scale.
var RolloutDurations = []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute}

// RolloutCandidate is one way of rolling out, simulated.
type RolloutCandidate struct {
	// Rollout says what was tried in words; DurationSeconds, InitialScale,
	// MinScale and PreScaled are the same as numbers.
	Rollout         string  `json:"rollout"`
	DurationSeconds float64 `json:"rollout_duration_s"`
	// InitialScale is the new revision's initial-scale (0: the policy's);
	// MinScale, when set, its min-scale too, which holds the pods once
	// traffic arrives.
	InitialScale int `json:"initial_scale,omitempty"`
	MinScale     int `json:"min_scale,omitempty"`
	// PreScaled is initial-scale and min-scale at the old revisions' pods
	// when the new one is created ("match").
	PreScaled         bool               `json:"pre_scaled"`
	Feasible          bool               `json:"feasible"`
	PodSeconds        float64            `json:"pod_seconds"`
	ColdStarts        int64              `json:"cold_starts"`
	RolloutColdStarts int64              `json:"rollout_cold_starts"`
	Metrics           map[string]float64 `json:"metrics"`
	Error             string             `json:"error,omitempty"`
}

// RolloutPlan recommends how to make a scenario's rollout steps: the
// cheapest way, among an instant switch, each of RolloutDurations, a range
// of initial scales for the new revision (alone and held by min-scale) and
// every combination of the two, that meets every SLO. Shortest and
// Smallest answer the narrower questions: the shortest rollout-duration
// that meets the SLOs without pre-scaling, and the smallest initial scale
// that does with an instant switch.
type RolloutPlan struct {
	Scenario string   `json:"scenario"`
	Policy   string   `json:"policy"`
	Seed     int64    `json:"seed"`
	SLOs     []string `json:"slos"`
	// OldPods is the old revisions' most pods in the instant switch's
	// run, which bounds the initial scales tried.
	OldPods    int                `json:"old_revision_pods"`
	Choice     *RolloutCandidate  `json:"choice,omitempty"`
	Shortest   *RolloutCandidate  `json:"shortest_duration,omitempty"`
	Smallest   *RolloutCandidate  `json:"smallest_initial_scale,omitempty"`
	Candidates []RolloutCandidate `json:"candidates"`
}

// rolloutWay is one way of rolling out, as the scenario variant it is.
type rolloutWay struct {
	ro                scenarios.Rollout
	initial, minScale int
}

// InitialScales are the initial scales a rollout plan tries for a new
// revision when the old revisions ran up to old pods: 1, then doubling,
// and half and all of old, in order, none above old.
func InitialScales(old int) []int {
	set := map[int]bool{}
	for k := 1; k <= old; k *= 2 {
		set[k] = true
	}
	if old > 0 {
		set[max(1, (old+1)/2)] = true
		set[old] = true
	}
	out := make([]int, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// PlanRollout simulates each way of rolling out under the policy (its
// settings as the scenario gives them, else its defaults) and picks the
// cheapest that meets every SLO: the shorter rollout among equals, then
// the smaller initial scale. The instant switch runs first: the old
// revisions' pods in it bound the initial scales tried. The scenario must
// have a rollout step; simulations run on opt.Workers.
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
	p := &RolloutPlan{Scenario: sc.Name, Policy: opt.Policy, Seed: sc.Seed}
	for _, o := range opt.SLOs {
		p.SLOs = append(p.SLOs, o.String())
	}
	instant, old := evaluateRollout(ctx, sc, pol, rolloutWay{ro: scenarios.Rollout{Name: "instant"}}, opt.SLOs)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.OldPods = old
	var ways []rolloutWay
	durations := append([]time.Duration{0}, RolloutDurations...)
	for _, d := range durations {
		name := "instant"
		if d > 0 {
			name = "rollout-duration " + shortDuration(d)
			ways = append(ways, rolloutWay{ro: scenarios.Rollout{Name: name, Duration: d}})
		}
		for _, k := range InitialScales(old) {
			if k > 1 {
				// initial-scale 1 alone is the policies' default.
				ways = append(ways, rolloutWay{ro: scenarios.Rollout{Name: fmt.Sprintf("%s, initial-scale %d", name, k), Duration: d, InitialScale: k}, initial: k})
			}
			ways = append(ways, rolloutWay{ro: scenarios.Rollout{Name: fmt.Sprintf("%s, initial-scale and min-scale %d", name, k), Duration: d, InitialScale: k, MinScale: k}, initial: k, minScale: k})
		}
	}
	ways = append(ways, rolloutWay{ro: scenarios.Rollout{Name: "pre-scaled (initial-scale and min-scale: the old revisions' pods)", MatchInitialScale: true, MatchMinScale: true}})

	p.Candidates = make([]RolloutCandidate, len(ways)+1)
	p.Candidates[0] = instant
	total := len(ways) + 1
	if opt.Progress != nil {
		opt.Progress(1, total)
	}
	workers := max(1, opt.Workers)
	var wg sync.WaitGroup
	next := make(chan int)
	var mu sync.Mutex
	done := 1
	for range min(workers, len(ways)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p.Candidates[i+1], _ = evaluateRollout(ctx, sc, pol, ways[i], opt.SLOs)
				if opt.Progress != nil {
					mu.Lock()
					done++
					opt.Progress(done, total)
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
	// Candidates come in order of duration, then initial scale: the
	// first of equal cost is the shorter, then the smaller.
	for i := range p.Candidates {
		c := &p.Candidates[i]
		if !c.Feasible {
			continue
		}
		if p.Choice == nil || c.PodSeconds < p.Choice.PodSeconds {
			p.Choice = c
		}
		if c.InitialScale == 0 && !c.PreScaled && (p.Shortest == nil || c.DurationSeconds < p.Shortest.DurationSeconds) {
			p.Shortest = c
		}
		if c.DurationSeconds == 0 && c.InitialScale > 0 && (p.Smallest == nil || c.InitialScale < p.Smallest.InitialScale ||
			c.InitialScale == p.Smallest.InitialScale && c.PodSeconds < p.Smallest.PodSeconds) {
			p.Smallest = c
		}
	}
	return p, nil
}

// evaluateRollout simulates one way; old is the most pods the revisions
// created at the start had.
func evaluateRollout(ctx context.Context, sc *scenarios.Scenario, pol scenarios.Policy, way rolloutWay, slos []results.SLO) (RolloutCandidate, int) {
	ro := way.ro
	c := RolloutCandidate{Rollout: ro.Name, DurationSeconds: ro.Duration.Seconds(), InitialScale: way.initial, MinScale: way.minScale,
		PreScaled: ro.MatchInitialScale, Metrics: map[string]float64{}}
	pol.Rollout = &ro
	res, err := simulator.Run(ctx, sc, pol, simulator.Options{})
	if err != nil {
		c.Error = err.Error()
		return c, 0
	}
	s := &res.Summary
	old := 0
	for _, rs := range s.Revisions {
		if rs.DeployAtSeconds == 0 {
			old += rs.MaxPods
		}
	}
	c.PodSeconds, c.ColdStarts = s.PodSeconds, s.ColdStarts
	if s.RolloutColdStarts != nil {
		c.RolloutColdStarts = *s.RolloutColdStarts
	}
	c.Feasible = true
	for _, o := range slos {
		ok, v, err := o.Met(s)
		if err != nil {
			c.Error, c.Feasible = err.Error(), false
			return c, old
		}
		c.Metrics[o.Metric] = v
		c.Feasible = c.Feasible && ok
	}
	return c, old
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
		b.WriteString(annotations(c))
		for _, n := range []struct {
			c          *RolloutCandidate
			what, none string
		}{
			{p.Shortest, "shortest rollout-duration without pre-scaling", "No rollout-duration without pre-scaling meets the SLOs."},
			{p.Smallest, "smallest initial scale with an instant switch", "No initial scale with an instant switch meets the SLOs."},
		} {
			switch {
			case n.c == nil:
				fmt.Fprintln(&b, n.none)
			case n.c == c:
				fmt.Fprintf(&b, "It is also the %s that meets the SLOs.\n", n.what)
			default:
				fmt.Fprintf(&b, "The %s that meets the SLOs: %s (%d cold starts from the rollout, %.1f pod-seconds).\n", n.what, n.c.Rollout, n.c.RolloutColdStarts, n.c.PodSeconds)
			}
		}
	} else {
		b.WriteString("No way of rolling out meets every SLO; the table shows how close each comes.\n")
	}
	fmt.Fprintf(&b, "Initial scales tried: %s (the old revisions ran up to %d pods in the instant switch).\n", intsList(InitialScales(p.OldPods)), p.OldPods)
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

// annotations are the Knative annotations that make a candidate.
func annotations(c *RolloutCandidate) string {
	var b strings.Builder
	switch {
	case c.PreScaled:
		b.WriteString("  On the new revision's template: autoscaling.knative.dev/initial-scale and autoscaling.knative.dev/min-scale\n  set to the old revision's ready pods (simulated with min-scale kept for the rest of the run).\n")
	case c.InitialScale > 0:
		fmt.Fprintf(&b, "  On the new revision's template: autoscaling.knative.dev/initial-scale: \"%d\"\n", c.InitialScale)
		if c.MinScale > 0 {
			fmt.Fprintf(&b, "  and autoscaling.knative.dev/min-scale: \"%d\" (simulated kept for the rest of the run; lower it once the rollout is done)\n", c.MinScale)
		}
	}
	switch {
	case c.DurationSeconds > 0:
		fmt.Fprintf(&b, "  On the Service or Route: serving.knative.dev/rollout-duration: \"%.0fs\"\n", c.DurationSeconds)
	case !c.PreScaled && c.InitialScale == 0:
		b.WriteString("  No annotation: Knative moves the whole route once the new revision is Ready.\n")
	}
	return b.String()
}

func intsList(v []int) string {
	s := make([]string, len(v))
	for i, k := range v {
		s[i] = strconv.Itoa(k)
	}
	return strings.Join(s, ", ")
}
