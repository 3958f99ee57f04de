package plan

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/scalebench/scalebench/traffic"
)

// ScaleTraffic returns p with k times the request rate and the same shape.
//
// Rate patterns are rebuilt with every rate multiplied, so their arrival
// process keeps its kind (Poisson stays Poisson with k times the rate,
// uniform stays evenly spaced) and their timing (on/off periods, the spike's
// start) is untouched. Traces that take a scale option (azure2019, sparse)
// are re-read with it, which multiplies each function's per-minute counts
// and keeps the within-minute spread. Anything else is superposed: k
// independent copies of the stream with seeds derived from the run's seed,
// merged in time order; for Poisson arrivals this is exactly the k-fold
// rate, and for other processes it preserves each copy's burst structure.
func ScaleTraffic(p traffic.Pattern, k float64) (traffic.Pattern, error) {
	if !(k > 0) || math.IsInf(k, 0) {
		return nil, fmt.Errorf("plan: traffic scale %g, want a positive factor", k)
	}
	switch v := p.(type) {
	case traffic.Constant:
		v.RPS *= k
		return v, nil
	case traffic.Ramp:
		v.From *= k
		v.To *= k
		return v, nil
	case traffic.Steps:
		rates := make([]float64, len(v.Rates))
		for i, r := range v.Rates {
			rates[i] = r * k
		}
		v.Rates = rates
		return v, nil
	case traffic.Sine:
		v.Base *= k
		v.Amplitude *= k
		return v, nil
	case traffic.Spike:
		v.Base *= k
		v.Peak *= k
		return v, nil
	case traffic.OnOff:
		v.RPS *= k
		return v, nil
	case *traffic.Trace:
		if q, ok, err := rescaleTrace(v.String(), k); ok {
			return q, err
		}
	}
	n := int(math.Round(k))
	if math.Abs(k-float64(n)) > 1e-9 {
		return nil, fmt.Errorf("plan: traffic %s can only be scaled by whole factors, got %g", p, k)
	}
	return superposed{p: p, n: n}, nil
}

var scaleOpt = regexp.MustCompile(`,scale=([^,]*)`)

// rescaleTrace re-parses a trace spec with its scale option multiplied by
// k; ok is false when the trace kind has no scale option.
func rescaleTrace(spec string, k float64) (traffic.Pattern, bool, error) {
	kind := spec
	for i, c := range spec {
		if c == ':' {
			kind = spec[:i]
			break
		}
	}
	if kind != "azure2019" && kind != "sparse" {
		return nil, false, nil
	}
	cur := 1.0
	if m := scaleOpt.FindStringSubmatch(spec); m != nil {
		f, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return nil, true, fmt.Errorf("plan: trace %s: scale %q: %v", spec, m[1], err)
		}
		cur = f
		spec = scaleOpt.ReplaceAllString(spec, "")
	}
	q, err := traffic.Parse(spec + ",scale=" + strconv.FormatFloat(cur*k, 'g', -1, 64))
	return q, true, err
}

// superposed is n independent copies of a pattern's stream.
type superposed struct {
	p traffic.Pattern
	n int
}

func (s superposed) Arrivals(seed int64, d time.Duration) traffic.Source {
	m := &merged{srcs: make([]traffic.Source, s.n), heads: make([]traffic.Arrival, s.n), ok: make([]bool, s.n)}
	for i := range m.srcs {
		// Copy 0 keeps the run's seed, so ×1 is the scenario's own stream.
		m.srcs[i] = s.p.Arrivals(seed+int64(i)*0x4F1BBCDCBFA53E0B, d)
		m.heads[i], m.ok[i] = m.srcs[i].Next()
	}
	return m
}

func (s superposed) Rate(t time.Duration) float64 { return float64(s.n) * s.p.Rate(t) }
func (s superposed) String() string               { return fmt.Sprintf("%d×(%s)", s.n, s.p) }

// merged yields the earliest head of its sources; a linear scan is cheaper
// than a heap for the handful of copies a scale factor makes.
type merged struct {
	srcs  []traffic.Source
	heads []traffic.Arrival
	ok    []bool
}

func (m *merged) Next() (traffic.Arrival, bool) {
	best := -1
	for i, ok := range m.ok {
		if ok && (best < 0 || m.heads[i].At < m.heads[best].At) {
			best = i
		}
	}
	if best < 0 {
		return traffic.Arrival{}, false
	}
	a := m.heads[best]
	m.heads[best], m.ok[best] = m.srcs[best].Next()
	return a, true
}
