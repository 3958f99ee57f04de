package dist

import (
	"math"
	"math/rand/v2"
	"time"
)

// Dist is a distribution of durations.
type Dist interface {
	// Sample draws one value. It must not allocate.
	Sample(r *rand.Rand) time.Duration
	// Mean is the distribution's mean.
	Mean() time.Duration
	// String is the spec Parse accepts for this distribution.
	String() string
}

var (
	_ Dist = Fixed{}
	_ Dist = Uniform{}
	_ Dist = Exponential{}
	_ Dist = LogNormal{}
	_ Dist = (*Empirical)(nil)
)

// Fixed always yields D.
type Fixed struct{ D time.Duration }

func (f Fixed) Sample(*rand.Rand) time.Duration { return f.D }
func (f Fixed) Mean() time.Duration             { return f.D }
func (f Fixed) String() string                  { return "fixed:" + f.D.String() }

// Uniform is uniform on [Min, Max].
type Uniform struct{ Min, Max time.Duration }

func (u Uniform) Sample(r *rand.Rand) time.Duration {
	if u.Max <= u.Min {
		return u.Min
	}
	// Uint64N keeps full nanosecond resolution over any span, and the
	// unsigned +1 cannot overflow even for the widest one.
	return u.Min + time.Duration(r.Uint64N(uint64(u.Max-u.Min)+1))
}
func (u Uniform) Mean() time.Duration { return u.Min + (u.Max-u.Min)/2 }
func (u Uniform) String() string {
	return "uniform:min=" + u.Min.String() + ",max=" + u.Max.String()
}

// Exponential has mean M (memoryless service, as in M/M/c).
type Exponential struct{ M time.Duration }

func (e Exponential) Sample(r *rand.Rand) time.Duration {
	return fromNanos(r.ExpFloat64() * float64(e.M))
}
func (e Exponential) Mean() time.Duration { return e.M }
func (e Exponential) String() string      { return "exp:mean=" + e.M.String() }

// LogNormal is exp(N(ln Median, Sigma²)). Median rather than μ is stored
// so that the spec stays in durations a reader can judge.
type LogNormal struct {
	Median time.Duration
	Sigma  float64
}

func (l LogNormal) Sample(r *rand.Rand) time.Duration {
	return fromNanos(float64(l.Median) * math.Exp(l.Sigma*r.NormFloat64()))
}
func (l LogNormal) Mean() time.Duration {
	return fromNanos(float64(l.Median) * math.Exp(l.Sigma*l.Sigma/2))
}
func (l LogNormal) String() string {
	return "lognormal:median=" + l.Median.String() + ",sigma=" + formatFloat(l.Sigma)
}

// LogNormalMean builds the lognormal with the given mean and sigma.
func LogNormalMean(mean time.Duration, sigma float64) LogNormal {
	return LogNormal{Median: fromNanos(float64(mean) * math.Exp(-sigma*sigma/2)), Sigma: sigma}
}

// Point is one percentile of an empirical distribution: P percent of
// values are at most D.
type Point struct {
	P float64
	D time.Duration
}

// Empirical samples by piecewise-linear interpolation of the inverse CDF
// between percentile points, which is how the Azure 2019 trace's duration
// percentiles are turned into per-request durations.
type Empirical struct {
	points []Point
	mean   time.Duration
}

// Percentiles builds an empirical distribution. Points must start at P=0,
// end at P=100, have strictly increasing P and non-decreasing D ≥ 0.
func Percentiles(points []Point) (*Empirical, error) {
	if len(points) < 2 {
		return nil, errorf("want at least two percentile points (0 and 100)")
	}
	if points[0].P != 0 || points[len(points)-1].P != 100 {
		return nil, errorf("want percentiles from 0 to 100, got %s to %s",
			formatFloat(points[0].P), formatFloat(points[len(points)-1].P))
	}
	for i, p := range points {
		if p.D < 0 {
			return nil, errorf("percentile %s: want a non-negative duration, got %s", formatFloat(p.P), p.D)
		}
		if i == 0 {
			continue
		}
		if !(p.P > points[i-1].P) {
			return nil, errorf("percentile %s: want percentiles in increasing order", formatFloat(p.P))
		}
		if p.D < points[i-1].D {
			return nil, errorf("percentile %s (%s): want durations non-decreasing, previous is %s",
				formatFloat(p.P), p.D, points[i-1].D)
		}
	}
	e := &Empirical{points: append([]Point(nil), points...)}
	var m float64
	for i := 1; i < len(points); i++ {
		a, b := points[i-1], points[i]
		m += (b.P - a.P) / 100 * (float64(a.D) + float64(b.D)) / 2
	}
	e.mean = fromNanos(m)
	return e, nil
}

// Points returns a copy of the percentile points.
func (e *Empirical) Points() []Point { return append([]Point(nil), e.points...) }

func (e *Empirical) Sample(r *rand.Rand) time.Duration { return e.Quantile(r.Float64()) }

// Quantile is the inverse CDF at q in [0,1].
func (e *Empirical) Quantile(q float64) time.Duration {
	p := q * 100
	pts := e.points
	// Binary search: traces have seven points, user specs rarely more
	// than a dozen, but nothing bounds them.
	lo, hi := 0, len(pts)-1
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if pts[mid].P <= p {
			lo = mid
		} else {
			hi = mid
		}
	}
	a, b := pts[lo], pts[hi]
	f := (p - a.P) / (b.P - a.P)
	if f < 0 {
		f = 0
	} else if f > 1 {
		f = 1
	}
	return a.D + fromNanos(f*float64(b.D-a.D))
}

func (e *Empirical) Mean() time.Duration { return e.mean }

func (e *Empirical) String() string {
	b := []byte("percentiles:")
	for i, p := range e.points {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, formatFloat(p.P)...)
		b = append(b, '=')
		b = append(b, p.D.String()...)
	}
	return string(b)
}

// fromNanos converts a float nanosecond count, saturating rather than
// overflowing: heavy-tailed lognormals can exceed 292 years.
func fromNanos(ns float64) time.Duration {
	switch {
	case ns != ns || ns <= 0:
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(math.Round(ns))
}
