package plan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
	"github.com/scalebench/scalebench/simulator"
)

// CostUnit says what "cost" means in a plan.
type CostUnit string

const (
	// PodSeconds is the time pods exist (starting, ready or draining).
	PodSeconds CostUnit = "pod-seconds"
	// GBSeconds weights each function's pod-seconds by its memory, as
	// serverless platforms bill.
	GBSeconds CostUnit = "gb-seconds"
)

// DefaultBudget is the number of simulations a plan may run when the caller
// gives none: enough for the grid and a few rounds of refinement on every
// library scenario, and for re-planning at each traffic scale.
const DefaultBudget = 400

// DefaultScales are the traffic multiples a plan is re-checked at.
var DefaultScales = []float64{2, 5, 10}

// Options tune a plan.
type Options struct {
	// Policy is the autoscaler whose settings are searched (Policies()).
	Policy string
	// SLOs the chosen settings must meet; at least one.
	SLOs []results.SLO
	// Budget bounds the simulations of the whole plan, traffic scales
	// included; 0 means DefaultBudget.
	Budget int
	// Workers run simulations in parallel; 0 means GOMAXPROCS. The plan
	// does not depend on it. Every simulation of the plan runs on one
	// simulator.Pool of this many workers: a wave's candidates and, within
	// a many-function candidate, its functions share it, rather than
	// candidates × functions goroutines competing for the cores.
	Workers int
	// Cost is what the plan minimises; "" means PodSeconds.
	Cost CostUnit

	pool *simulator.Pool
	// Scales are the traffic multiples to re-check the choice at; nil means
	// DefaultScales, an empty slice none.
	Scales []float64
	// Progress, when set, is called after every simulation with the number
	// run so far and the budget. Calls are serialised.
	Progress func(done, budget int)
}

// Candidate is one evaluated setting of the policy's knobs.
type Candidate struct {
	Settings map[string]string `json:"settings"`
	// Phase is where the search proposed it: grid, refine or replan.
	Phase      string  `json:"phase"`
	Feasible   bool    `json:"feasible"`
	Cost       float64 `json:"cost"`
	PodSeconds float64 `json:"pod_seconds"`
	GBSeconds  float64 `json:"gb_seconds"`
	MaxPods    int     `json:"max_pods"`
	// Violation is the largest relative excess over an SLO bound (≤ 0 when
	// every SLO is met).
	Violation float64 `json:"violation"`
	// Metrics are the SLO metrics' values.
	Metrics map[string]float64 `json:"metrics"`
	Error   string             `json:"error,omitempty"`

	point point
	// peak is the busiest function's most pods, which sizes min-scale.
	peak int
}

// Margin is the chosen settings' distance to one SLO.
type Margin struct {
	SLO    string  `json:"slo"`
	Metric string  `json:"metric"`
	Max    float64 `json:"max"`
	Value  float64 `json:"value"`
	// Headroom is (max − value) / max, or max − value when max is 0.
	Headroom float64 `json:"headroom"`
}

// ScalePoint is the plan re-checked with the traffic multiplied.
type ScalePoint struct {
	Factor  float64 `json:"factor"`
	Traffic string  `json:"traffic"`
	// Replanned is true when the chosen settings missed the SLO at this
	// scale and the search moved from them.
	Replanned      bool              `json:"replanned"`
	Feasible       bool              `json:"feasible"`
	Settings       map[string]string `json:"settings"`
	Cost           float64           `json:"cost"`
	CostRatio      float64           `json:"cost_ratio"`
	PodHoursPerDay float64           `json:"pod_hours_per_day"`
	PeakPods       int               `json:"peak_pods"`
	Margins        []Margin          `json:"margins"`
	Simulations    int               `json:"simulations"`
	Candidates     []Candidate       `json:"candidates"`
}

// Plan is a capacity plan: plan.json.
type Plan struct {
	Scenario        string   `json:"scenario"`
	Policy          string   `json:"policy"`
	Seed            int64    `json:"seed"`
	DurationSeconds float64  `json:"duration_seconds"`
	Traffic         string   `json:"traffic"`
	CostUnit        CostUnit `json:"cost_unit"`
	SLOs            []string `json:"slos"`
	Budget          int      `json:"budget"`
	Simulations     int      `json:"simulations"`
	// Feasible is false when no evaluated setting met every SLO; Choice is
	// then nil and Closest holds the nearest misses.
	Feasible       bool         `json:"feasible"`
	Choice         *Candidate   `json:"choice,omitempty"`
	Closest        []Candidate  `json:"closest,omitempty"`
	Default        *Candidate   `json:"default"`
	PodHoursPerDay float64      `json:"pod_hours_per_day,omitempty"`
	PeakPods       int          `json:"peak_pods,omitempty"`
	Margins        []Margin     `json:"margins,omitempty"`
	Scaling        []ScalePoint `json:"scaling,omitempty"`
	Candidates     []Candidate  `json:"candidates"`
}

// Run searches the policy's settings for the cheapest that meet opt.SLOs on
// the scenario, and re-checks the choice at larger traffic.
func Run(ctx context.Context, sc *scenarios.Scenario, opt Options) (*Plan, error) {
	if len(opt.SLOs) == 0 {
		return nil, errors.New("plan: no SLO; give --slo or list slos in the scenario")
	}
	for _, o := range opt.SLOs {
		if _, err := results.ParseSLO(o.String()); err != nil {
			return nil, fmt.Errorf("plan: %v", err)
		}
	}
	if opt.Budget == 0 {
		opt.Budget = DefaultBudget
	}
	if opt.Budget < 0 {
		return nil, fmt.Errorf("plan: budget %d, want a positive number of simulations", opt.Budget)
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	opt.pool = simulator.NewPool(opt.Workers)
	defer opt.pool.Close()
	if opt.Cost == "" {
		opt.Cost = PodSeconds
	}
	if opt.Cost != PodSeconds && opt.Cost != GBSeconds {
		return nil, fmt.Errorf("plan: cost %q, want %s or %s", opt.Cost, PodSeconds, GBSeconds)
	}
	if opt.Scales == nil {
		opt.Scales = DefaultScales
	}
	if sc.Duration <= 0 {
		return nil, errors.New("plan: the scenario needs a positive duration")
	}
	// The main search may use three fifths of the budget, the rest is
	// shared by the traffic scales, which usually need one simulation each.
	mainBudget := opt.Budget
	if len(opt.Scales) > 0 {
		mainBudget = max(1, opt.Budget*3/5)
	}
	counter := &progress{budget: opt.Budget, fn: opt.Progress}

	// The default settings' run sizes the min-scale range: a floor above
	// half again the busiest function's peak is never cheaper.
	probe, err := newSpace(opt.Policy, sc, 1)
	if err != nil {
		return nil, err
	}
	base := evaluate(ctx, sc, probe, probe.defaults(), opt, "grid")
	if base.Error != "" {
		return nil, fmt.Errorf("plan: the scenario does not simulate: %s", base.Error)
	}
	counter.add(1)
	sp, err := newSpace(opt.Policy, sc, minRange(base.peak))
	if err != nil {
		return nil, err
	}
	s := &search{sc: sc, sp: sp, opt: opt, budget: mainBudget - 1, seen: map[string]bool{}, counter: counter}
	base.point = sp.defaults()
	s.record(base)
	s.run(ctx, sp.grid(), "grid")
	s.refine(ctx, "refine")
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	p := &Plan{
		Scenario: sc.Name, Policy: opt.Policy, Seed: sc.Seed,
		DurationSeconds: sc.Duration.Seconds(), Traffic: sc.Traffic.String(),
		CostUnit: opt.Cost, Budget: opt.Budget, Candidates: s.cands,
	}
	for _, o := range opt.SLOs {
		p.SLOs = append(p.SLOs, o.String())
	}
	d := s.cands[0]
	p.Default = &d
	ranked := s.ranked()
	if !ranked[0].Feasible {
		p.Closest = ranked[:min(3, len(ranked))]
		p.Simulations = counter.done
		return p, nil
	}
	choice := ranked[0]
	p.Feasible, p.Choice = true, &choice
	p.PodHoursPerDay = podHoursPerDay(choice.PodSeconds, sc)
	p.PeakPods = choice.MaxPods
	p.Margins = margins(opt.SLOs, choice.Metrics)

	for i, k := range opt.Scales {
		share := (opt.Budget - counter.done) / (len(opt.Scales) - i)
		sp, err := scaled(ctx, sc, sp, choice, k, share, opt, counter)
		if err != nil {
			return nil, err
		}
		p.Scaling = append(p.Scaling, *sp)
	}
	p.Simulations = counter.done
	return p, ctx.Err()
}

// scaled re-checks the choice with k times the traffic and, when it misses
// the SLO there, plans again within share simulations.
func scaled(ctx context.Context, sc *scenarios.Scenario, base *space, choice Candidate, k float64, share int, opt Options, counter *progress) (*ScalePoint, error) {
	pat, err := ScaleTraffic(sc.Traffic, k)
	if err != nil {
		return nil, err
	}
	sk := *sc
	sk.Traffic = pat
	maxMin := len(base.dims[base.minScale].values) - 1
	sp, err := newSpace(opt.Policy, &sk, min(512, int(math.Ceil(float64(maxMin)*k))))
	if err != nil {
		return nil, err
	}
	s := &search{sc: &sk, sp: sp, opt: opt, budget: max(1, share), seen: map[string]bool{}, counter: counter}
	start := append(point(nil), choice.point...)
	s.run(ctx, []point{start}, "recheck")
	if len(s.cands) == 0 {
		return nil, ctx.Err()
	}
	first := s.cands[0]
	out := &ScalePoint{Factor: k, Traffic: pat.String()}
	if !first.Feasible {
		// A local search from the old choice stalls when the fix is a far
		// larger floor of pods, so re-planning starts from the grid again.
		out.Replanned = true
		s.run(ctx, sp.grid(), "replan")
		s.refine(ctx, "replan")
	}
	best := s.ranked()[0]
	out.Feasible = best.Feasible
	out.Settings = best.Settings
	out.Cost = best.Cost
	if choice.Cost > 0 {
		out.CostRatio = best.Cost / choice.Cost
	}
	out.PodHoursPerDay = podHoursPerDay(best.PodSeconds, &sk)
	out.PeakPods = best.MaxPods
	out.Margins = margins(opt.SLOs, best.Metrics)
	out.Simulations = len(s.cands)
	out.Candidates = s.cands
	return out, ctx.Err()
}

func minRange(peak int) int {
	return min(128, max(4, int(math.Ceil(1.5*float64(peak)))))
}

func podHoursPerDay(podSeconds float64, sc *scenarios.Scenario) float64 {
	// pod-seconds per simulated second, times 86400 s a day, in hours.
	return podSeconds / sc.Duration.Seconds() * 24
}

func margins(slos []results.SLO, metrics map[string]float64) []Margin {
	out := make([]Margin, len(slos))
	for i, o := range slos {
		v := metrics[o.Metric]
		h := o.Max - v
		if o.Max > 0 {
			h /= o.Max
		}
		out[i] = Margin{SLO: o.String(), Metric: o.Metric, Max: o.Max, Value: v, Headroom: h}
	}
	return out
}

// progress counts simulations across the searches of one plan.
type progress struct {
	mu     sync.Mutex
	done   int
	budget int
	fn     func(done, budget int)
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.fn != nil {
		p.fn(p.done, p.budget)
	}
}

// search is one run of the grid-and-refine method over a space.
type search struct {
	sc      *scenarios.Scenario
	sp      *space
	opt     Options
	budget  int
	seen    map[string]bool
	cands   []Candidate
	counter *progress
}

func (s *search) record(c Candidate) {
	s.seen[s.sp.key(c.point)] = true
	s.cands = append(s.cands, c)
}

// pruned applies monotonicity: a point with at least the capacity of a
// feasible one cannot be cheaper, and one with at most the capacity of an
// infeasible one cannot be feasible.
func (s *search) pruned(p point) bool {
	for _, c := range s.cands {
		if c.Error != "" {
			continue
		}
		if c.Feasible && s.sp.atMost(c.point, p) {
			return true
		}
		if !c.Feasible && s.sp.atMost(p, c.point) {
			return true
		}
	}
	return false
}

// run evaluates pts in order, in waves of a few per worker so that each
// wave is pruned by the results of the ones before it. Which points a wave
// holds depends only on earlier results, never on timing or on the number
// of workers, so a seed gives one plan.
func (s *search) run(ctx context.Context, pts []point, phase string) {
	const wave = 8
	for len(pts) > 0 && s.budget > 0 && ctx.Err() == nil {
		var batch []point
		for len(pts) > 0 && len(batch) < min(wave, s.budget) {
			p := pts[0]
			pts = pts[1:]
			k := s.sp.key(p)
			if s.seen[k] || s.pruned(p) {
				continue
			}
			s.seen[k] = true
			batch = append(batch, p)
		}
		// Each candidate's goroutine only hands work to the shared pool
		// and waits, so starting them all keeps the pool's workers busy to
		// the end of the wave, even when one candidate is a long fleet run.
		out := make([]Candidate, len(batch))
		var wg sync.WaitGroup
		for i := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i] = evaluate(ctx, s.sc, s.sp, batch[i], s.opt, phase)
				s.counter.add(1)
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		s.cands = append(s.cands, out...)
		s.budget -= len(batch)
	}
}

// refine moves from the best few points to their neighbours until no
// neighbour is new or the budget is spent.
func (s *search) refine(ctx context.Context, phase string) {
	for s.budget > 0 && ctx.Err() == nil {
		ranked := s.ranked()
		var next []point
		for _, c := range ranked[:min(3, len(ranked))] {
			for _, q := range s.neighbours(c.point) {
				if !s.seen[s.sp.key(q)] && !s.pruned(q) {
					next = append(next, q)
				}
			}
		}
		if len(next) == 0 {
			return
		}
		s.run(ctx, next, phase)
	}
}

// neighbours adds jumps of the floor of pods to the one-level moves:
// halving and doubling min-scale reach a distant floor in a few rounds.
func (s *search) neighbours(p point) []point {
	out := s.sp.neighbours(p)
	d := s.sp.dims[s.sp.minScale]
	for _, l := range []int{p[s.sp.minScale] / 2, p[s.sp.minScale] * 2} {
		if l >= 0 && l < len(d.values) && l != p[s.sp.minScale] {
			q := append(point(nil), p...)
			q[s.sp.minScale] = l
			out = append(out, s.sp.canon(q))
		}
	}
	return out
}

// ranked orders candidates best first: feasible ones by cost, then the
// rest by how far they miss; remaining ties go to the earlier evaluation.
func (s *search) ranked() []Candidate {
	out := make([]Candidate, 0, len(s.cands))
	for _, c := range s.cands {
		if c.Error == "" {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		out = append(out, s.cands...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Feasible != b.Feasible {
			return a.Feasible
		}
		if !a.Feasible && a.Violation != b.Violation {
			return a.Violation < b.Violation
		}
		if a.Cost != b.Cost {
			return a.Cost < b.Cost
		}
		// At equal cost, the larger margin to the tightest SLO.
		return a.Violation < b.Violation
	})
	return out
}

// unusable ranks a candidate that failed to simulate last; JSON has no
// infinity.
const unusable = math.MaxFloat64

// evaluate simulates one point and judges it against the SLOs.
func evaluate(ctx context.Context, sc *scenarios.Scenario, sp *space, p point, opt Options, phase string) Candidate {
	c := Candidate{Settings: sp.settings(p), Phase: phase, point: p, Metrics: map[string]float64{}}
	res, err := simulator.Run(ctx, sc, scenarios.Policy{Name: opt.Policy, Settings: c.Settings}, simulator.Options{Pool: opt.pool})
	if err != nil {
		c.Error, c.Violation = err.Error(), unusable
		return c
	}
	c.PodSeconds = res.Summary.PodSeconds
	for _, f := range res.Functions {
		c.GBSeconds += f.PodSeconds * f.MemoryMB / 1024
		c.peak = max(c.peak, f.MaxPods)
	}
	c.MaxPods = res.Summary.MaxPods
	c.Cost = c.PodSeconds
	if opt.Cost == GBSeconds {
		c.Cost = c.GBSeconds
	}
	c.Feasible = true
	c.Violation = math.Inf(-1)
	for _, o := range opt.SLOs {
		ok, v, err := o.Met(&res.Summary)
		if err != nil {
			c.Error, c.Feasible, c.Violation = err.Error(), false, unusable
			return c
		}
		c.Metrics[o.Metric] = v
		excess := v - o.Max
		if o.Max > 0 {
			excess /= o.Max
		}
		c.Violation = max(c.Violation, excess)
		c.Feasible = c.Feasible && ok
	}
	return c
}
