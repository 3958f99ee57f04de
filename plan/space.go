package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/scenarios"
)

// dim is one searched knob. Values run from the least capacity (cheapest,
// worst latency) to the most, so that a higher index means "more pods" for
// every monotone knob.
type dim struct {
	key    string
	values []string
	// def is the index of the policy's default, where the grid holds the
	// knobs it does not vary.
	def int
	// coarse are the indices the grid visits; nil keeps the knob at def
	// during the grid (it moves only in refinement).
	coarse []int
	// monotone knobs may be used for dominance pruning; a stable window is
	// not: a longer one keeps pods longer but also reacts later to a ramp.
	monotone bool
}

// space is the searched lattice for one policy and scenario.
type space struct {
	policy string
	dims   []dim
	// fixed settings every candidate carries.
	fixed map[string]string
	// minScale is the index of the min-scale dimension; retention that of
	// the knob that only matters while the revision may go to zero (-1 if
	// none).
	minScale, retention int
}

// Policies lists the policies plan can search.
func Policies() []string { return []string{"kpa", "knative", "keepalive"} }

func newSpace(policy string, sc *scenarios.Scenario, maxMin int) (*space, error) {
	mins := make([]string, maxMin+1)
	for i := range mins {
		mins[i] = strconv.Itoa(i)
	}
	minCoarse := []int{}
	for _, m := range []int{0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128} {
		if m <= maxMin {
			minCoarse = append(minCoarse, m)
		}
	}
	switch policy {
	case "kpa", "knative":
		sp := &space{policy: policy, fixed: map[string]string{}}
		if policy == "kpa" {
			// The kpa preset's extensions have no Knative annotation;
			// planning with them would print settings a cluster cannot
			// reproduce.
			for k, v := range autoscaler.KPAExtensionsOff() {
				sp.fixed[k] = v
			}
		}
		sp.dims = append(sp.dims, targetDim(sc))
		sp.dims = append(sp.dims,
			dim{key: "stable-window", values: []string{"10s", "20s", "30s", "45s", "60s", "90s", "120s", "180s", "300s"}, def: 4},
			dim{key: "panic-threshold-percentage", values: []string{"1000", "600", "400", "300", "200", "150", "125", "110"}, def: 4, monotone: true},
			// The grace period is cluster-wide and, per Knative's docs, not
			// meant for keeping pods; retention is the per-revision knob.
			dim{key: "scale-to-zero-pod-retention-period", values: []string{"0s", "1m", "2m", "3m", "5m", "10m", "15m", "20m", "30m"}, def: 0, coarse: []int{0, 1, 2, 4, 5, 7}, monotone: true},
			dim{key: "min-scale", values: mins, def: 0, coarse: minCoarse, monotone: true},
		)
		sp.retention, sp.minScale = len(sp.dims)-2, len(sp.dims)-1
		return sp, nil
	case "keepalive":
		return &space{policy: policy, fixed: map[string]string{}, retention: -1, minScale: 1, dims: []dim{
			{key: "keep-alive", values: []string{"5s", "15s", "30s", "1m", "2m", "3m", "5m", "10m", "15m", "20m", "30m"}, def: 7, coarse: []int{0, 2, 3, 4, 6, 7, 9, 10}, monotone: true},
			{key: "min", values: mins, def: 0, coarse: minCoarse, monotone: true},
		}}, nil
	}
	return nil, fmt.Errorf("plan: policy %q cannot be planned (want %s)", policy, strings.Join(Policies(), ", "))
}

// targetDim is the per-pod target: the utilization of containerConcurrency
// when every function has one (the target annotation is capped by it),
// else an absolute concurrency target.
func targetDim(sc *scenarios.Scenario) dim {
	allCC := len(sc.Functions) > 0
	for _, f := range sc.Functions {
		if f.ContainerConcurrency <= 0 {
			allCC = false
		}
	}
	if allCC {
		return dim{key: "target-utilization-percentage", values: []string{"100", "90", "80", "70", "60", "50", "40", "30"}, def: 3, coarse: []int{0, 2, 3, 5, 7}, monotone: true}
	}
	return dim{key: "target", values: []string{"200", "150", "100", "70", "50", "35", "25", "15", "10", "5"}, def: 2, coarse: []int{0, 2, 4, 6, 8}, monotone: true}
}

// point is a position in the lattice, one index per dim.
type point []int

// canon drops what cannot matter: with a floor of pods the revision never
// scales to zero, so its retention is irrelevant.
func (s *space) canon(p point) point {
	q := append(point(nil), p...)
	if s.retention >= 0 && q[s.minScale] > 0 {
		q[s.retention] = 0
	}
	return q
}

func (s *space) key(p point) string {
	parts := make([]string, len(p))
	for i, d := range s.dims {
		parts[i] = d.key + "=" + d.values[p[i]]
	}
	return strings.Join(parts, ",")
}

func (s *space) settings(p point) map[string]string {
	m := make(map[string]string, len(p)+len(s.fixed))
	for k, v := range s.fixed {
		m[k] = v
	}
	for i, d := range s.dims {
		m[d.key] = d.values[p[i]]
	}
	return m
}

func (s *space) defaults() point {
	p := make(point, len(s.dims))
	for i, d := range s.dims {
		p[i] = d.def
	}
	return s.canon(p)
}

// grid is the coarse grid over the knobs with coarse levels, the others at
// their defaults, from cheap to expensive so that dominance pruning between
// waves finds cheap feasible points early.
func (s *space) grid() []point {
	out := []point{s.defaults()}
	var rec func(i int, p point)
	rec = func(i int, p point) {
		if i == len(s.dims) {
			out = append(out, s.canon(p))
			return
		}
		levels := s.dims[i].coarse
		if levels == nil {
			levels = []int{s.dims[i].def}
		}
		for _, l := range levels {
			p[i] = l
			rec(i+1, p)
		}
	}
	rec(0, make(point, len(s.dims)))
	return out
}

// neighbours are the points one level away along each knob.
func (s *space) neighbours(p point) []point {
	var out []point
	for i, d := range s.dims {
		for _, step := range []int{-1, 1} {
			l := p[i] + step
			if l < 0 || l >= len(d.values) {
				continue
			}
			q := append(point(nil), p...)
			q[i] = l
			out = append(out, s.canon(q))
		}
	}
	return out
}

// atMost reports whether a has no more capacity than b on every monotone
// knob and equals it on the others.
func (s *space) atMost(a, b point) bool {
	for i, d := range s.dims {
		if d.monotone {
			if a[i] > b[i] {
				return false
			}
		} else if a[i] != b[i] {
			return false
		}
	}
	return true
}
