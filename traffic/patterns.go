package traffic

import (
	"math"
	"strings"
	"time"
)

var (
	_ Pattern = Constant{}
	_ Pattern = Ramp{}
	_ Pattern = Steps{}
	_ Pattern = Sine{}
	_ Pattern = Spike{}
	_ Pattern = OnOff{}
)

// Constant sends RPS requests per second. With Spacing Poisson it is the
// Poisson pattern ("poisson:rate=100").
type Constant struct {
	RPS     float64
	Spacing Spacing
}

func (c Constant) Arrivals(seed int64, d time.Duration) Source {
	return newRescaled(piecewise{segs: []segment{{0, c.RPS, 0}}}, c.Spacing, seed, d)
}
func (c Constant) Rate(time.Duration) float64 { return c.RPS }
func (c Constant) String() string {
	if c.Spacing == Poisson {
		return "poisson:rate=" + ff(c.RPS)
	}
	return "constant:rate=" + ff(c.RPS)
}

// Ramp rises (or falls) linearly from From to To over Over, then holds To.
type Ramp struct {
	From, To float64
	Over     time.Duration
	Spacing  Spacing
}

func (r Ramp) Arrivals(seed int64, d time.Duration) Source {
	return newRescaled(r, r.Spacing, seed, d)
}

func (r Ramp) Rate(t time.Duration) float64 {
	if t >= r.Over {
		return r.To
	}
	if t < 0 {
		t = 0
	}
	return r.From + (r.To-r.From)*float64(t)/float64(r.Over)
}

func (r Ramp) String() string {
	return "ramp:from=" + ff(r.From) + ",to=" + ff(r.To) + ",over=" + r.Over.String() + spacingArg(r.Spacing)
}

func (r Ramp) invert(x float64, _ *hint) (time.Duration, bool) {
	over := r.Over.Seconds()
	full := (r.From + r.To) / 2 * over
	if x >= full {
		if r.To <= 0 {
			return 0, false
		}
		return r.Over + seconds((x-full)/r.To), true
	}
	// Λ(t) = From·t + a·t², a = (To−From)/(2·over); the root is written as
	// 2x/(b+√(b²+4ax)) so it stays accurate when a is tiny or negative.
	a := (r.To - r.From) / (2 * over)
	disc := r.From*r.From + 4*a*x
	if disc < 0 {
		disc = 0
	}
	den := r.From + math.Sqrt(disc)
	if den <= 0 {
		return 0, true
	}
	return seconds(2 * x / den), true
}

// Steps holds each of Rates for Every in turn, then keeps the last.
type Steps struct {
	Rates   []float64
	Every   time.Duration
	Spacing Spacing
}

func (s Steps) curve() piecewise {
	segs := make([]segment, len(s.Rates))
	for i, r := range s.Rates {
		segs[i] = segment{time.Duration(i) * s.Every, r, 0}
	}
	return newPiecewise(segs, 0)
}

func (s Steps) Arrivals(seed int64, d time.Duration) Source {
	return newRescaled(s.curve(), s.Spacing, seed, d)
}

func (s Steps) Rate(t time.Duration) float64 {
	if len(s.Rates) == 0 {
		return 0
	}
	i := 0
	if t > 0 && s.Every > 0 {
		i = int(min(int64(t/s.Every), int64(len(s.Rates)-1)))
	}
	return s.Rates[i]
}

func (s Steps) String() string {
	parts := make([]string, len(s.Rates))
	for i, r := range s.Rates {
		parts[i] = ff(r)
	}
	return "steps:rates=" + strings.Join(parts, "/") + ",every=" + s.Every.String() + spacingArg(s.Spacing)
}

// Sine is a diurnal curve: Base + Amplitude·sin(2πt/Period), starting at
// Base and rising. Amplitude ≤ Base keeps the rate non-negative.
type Sine struct {
	Base, Amplitude float64
	Period          time.Duration
	Spacing         Spacing
}

func (s Sine) Arrivals(seed int64, d time.Duration) Source {
	return newRescaled(s, s.Spacing, seed, d)
}

func (s Sine) Rate(t time.Duration) float64 {
	return s.Base + s.Amplitude*math.Sin(2*math.Pi*float64(t%s.Period)/float64(s.Period))
}

func (s Sine) String() string {
	return "sine:base=" + ff(s.Base) + ",amplitude=" + ff(s.Amplitude) + ",period=" + s.Period.String() + spacingArg(s.Spacing)
}

func (s Sine) invert(x float64, h *hint) (time.Duration, bool) {
	if s.Base <= 0 {
		return 0, false
	}
	p := s.Period.Seconds()
	perPeriod := s.Base * p
	// Whole periods are counted exactly in integer nanoseconds; only the
	// offset inside one period is solved numerically.
	k := math.Floor(x / perPeriod)
	y := x - k*perPeriod
	w := 2 * math.Pi / p
	c := s.Amplitude / w
	lo, hi := 0.0, p
	t := y / s.Base
	if h.period == k && h.rate > 0 && y >= h.y {
		// Consecutive arrivals are close: a step from the last root at
		// the last rate leaves Newton one or two iterations.
		t = min(h.t+(y-h.y)/h.rate, p)
	}
	// Safeguarded Newton: Λ is monotone, so the bracket always holds the
	// root and a bisection step rescues Newton where the rate touches zero.
	for range 100 {
		sin, cos := math.Sincos(w * t)
		f := s.Base*t + c*(1-cos) - y
		if f > 0 {
			hi = t
		} else {
			lo = t
		}
		r := s.Base + s.Amplitude*sin
		next := t - f/r
		if r <= 0 || !(next >= lo && next <= hi) {
			next = (lo + hi) / 2
		}
		// 0.1 ns is below what a Duration can show.
		if math.Abs(next-t) < 1e-10 {
			t = next
			break
		}
		t = next
	}
	h.period, h.y, h.t, h.rate = k, y, t, s.Base+s.Amplitude*math.Sin(w*t)
	return time.Duration(k)*s.Period + seconds(t), true
}

// Spike is a flash crowd: Base, then Peak for Length from At, then Base.
type Spike struct {
	Base, Peak float64
	At, Length time.Duration
	Spacing    Spacing
}

func (s Spike) curve() piecewise {
	return newPiecewise([]segment{{0, s.Base, 0}, {s.At, s.Peak, 0}, {s.At + s.Length, s.Base, 0}}, 0)
}

func (s Spike) Arrivals(seed int64, d time.Duration) Source {
	return newRescaled(s.curve(), s.Spacing, seed, d)
}

func (s Spike) Rate(t time.Duration) float64 {
	if t >= s.At && t < s.At+s.Length {
		return s.Peak
	}
	return s.Base
}

func (s Spike) String() string {
	return "spike:base=" + ff(s.Base) + ",peak=" + ff(s.Peak) + ",at=" + s.At.String() + ",length=" + s.Length.String() + spacingArg(s.Spacing)
}

// OnOff sends RPS for On, then nothing for Off, repeating: idle gaps
// longer than a keep-alive force scale-to-zero and cold starts.
type OnOff struct {
	RPS     float64
	On, Off time.Duration
	Spacing Spacing
}

func (o OnOff) curve() piecewise {
	return newPiecewise([]segment{{0, o.RPS, 0}, {o.On, 0, 0}}, o.On+o.Off)
}

func (o OnOff) Arrivals(seed int64, d time.Duration) Source {
	return newRescaled(o.curve(), o.Spacing, seed, d)
}

func (o OnOff) Rate(t time.Duration) float64 {
	if t%(o.On+o.Off) < o.On {
		return o.RPS
	}
	return 0
}

func (o OnOff) String() string {
	return "onoff:rate=" + ff(o.RPS) + ",on=" + o.On.String() + ",off=" + o.Off.String() + spacingArg(o.Spacing)
}

func spacingArg(s Spacing) string {
	if s == Poisson {
		return ",arrivals=poisson"
	}
	return ""
}

// segment is one constant-rate piece of a piecewise curve; cum is Λ at
// its start.
type segment struct {
	start time.Duration
	rate  float64
	cum   float64
}

// piecewise is a piecewise-constant rate curve whose last segment holds
// forever, or, with cycle > 0, whose segments repeat every cycle.
type piecewise struct {
	segs     []segment
	cycle    time.Duration
	perCycle float64
}

func newPiecewise(segs []segment, cycle time.Duration) piecewise {
	cum := 0.0
	for i := range segs {
		if i > 0 {
			cum += segs[i-1].rate * (segs[i].start - segs[i-1].start).Seconds()
		}
		segs[i].cum = cum
	}
	p := piecewise{segs: segs, cycle: cycle}
	if cycle > 0 {
		last := segs[len(segs)-1]
		p.perCycle = cum + last.rate*(cycle-last.start).Seconds()
	}
	return p
}

func (p piecewise) invert(x float64, h *hint) (time.Duration, bool) {
	var base time.Duration
	if p.cycle > 0 {
		if p.perCycle <= 0 {
			return 0, false
		}
		k := math.Floor(x / p.perCycle)
		x -= k * p.perCycle
		if x >= p.perCycle { // rounding at a cycle boundary
			k, x = k+1, x-p.perCycle
		}
		x = max(x, 0)
		base = time.Duration(k) * p.cycle
		if x < p.segs[h.seg].cum {
			h.seg = 0 // a new cycle
		}
	}
	j := h.seg
	// Find the segment with cum_j ≤ x < cum_{j+1}; zero-rate segments have
	// no width in x and are skipped. The cursor makes this amortised O(1).
	for j+1 < len(p.segs) && p.segs[j+1].cum <= x {
		j++
	}
	h.seg = j
	s := p.segs[j]
	if s.rate <= 0 {
		return 0, false
	}
	return base + s.start + seconds((x-s.cum)/s.rate), true
}
