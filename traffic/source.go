package traffic

import (
	"math"
	"math/rand/v2"
	"time"
)

// Spacing says how arrivals are laid out under a pattern's rate curve.
type Spacing int

const (
	// Uniform spaces arrivals deterministically at the instantaneous rate:
	// arrival i is sent when the cumulative rate reaches i.
	Uniform Spacing = iota
	// Poisson draws a non-homogeneous Poisson process with the pattern's
	// rate, by time-rescaling unit exponential gaps.
	Poisson
)

func (s Spacing) String() string {
	if s == Poisson {
		return "poisson"
	}
	return "uniform"
}

// cumulative is a rate curve seen through its integral Λ(t) = ∫₀ᵗ rate.
// Both arrival modes reduce to inverting it, which is what keeps every
// pattern O(1) per arrival and free of drift: the i-th uniform arrival is
// Λ⁻¹(i), computed afresh, never a running sum of gaps.
type cumulative interface {
	// invert returns the first offset t at which Λ passes x, or false when
	// the rate stays zero forever before that. h is per-source state an
	// implementation may use to resume its search; x never decreases
	// between calls with the same h.
	invert(x float64, h *hint) (time.Duration, bool)
}

// hint is where the previous inversion ended.
type hint struct {
	seg    int     // piecewise: segment index
	period float64 // sine: period index, offset and rate found last time
	y, t   float64
	rate   float64
}

// rescaled is the Source of every rate pattern.
type rescaled struct {
	curve   cumulative
	hint    hint
	spacing Spacing
	rng     *rand.Rand
	i       float64 // next uniform index; exact as a float64 up to 2^53
	x       float64 // last Poisson target
	end     time.Duration
	done    bool
}

func newRescaled(c cumulative, spacing Spacing, seed int64, duration time.Duration) *rescaled {
	return &rescaled{curve: c, spacing: spacing, rng: newRand(seed, 0), end: endOf(duration)}
}

func (s *rescaled) Next() (Arrival, bool) {
	if s.done {
		return Arrival{}, false
	}
	var x float64
	if s.spacing == Poisson {
		s.x += s.rng.ExpFloat64()
		x = s.x
	} else {
		x = s.i
		s.i++
	}
	t, ok := s.curve.invert(x, &s.hint)
	if !ok || t >= s.end {
		s.done = true
		return Arrival{}, false
	}
	return Arrival{At: t}, true
}

// endOf treats a non-positive duration as an endless run, which the load
// generator uses when it is stopped by a signal rather than a clock.
func endOf(d time.Duration) time.Duration {
	if d <= 0 {
		return math.MaxInt64
	}
	return d
}

// newRand derives independent PCG streams from one seed; stream tells
// apart the uses (arrivals, per-function work, ...) of the same seed.
func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15^stream))
}

// seconds converts float seconds to a Duration, saturating.
func seconds(s float64) time.Duration {
	ns := s * 1e9
	switch {
	case ns != ns || ns <= 0:
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(math.Round(ns))
}
