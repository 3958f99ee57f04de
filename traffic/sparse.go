package traffic

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/scalebench/scalebench/dist"
)

// SparseOptions shapes a synthetic many-function trace.
type SparseOptions struct {
	// Functions is how many functions to generate.
	Functions int
	// Seed fixes the population (rates, burstiness, durations, memory);
	// the Arrivals seed fixes the requests.
	Seed int64
	// Scale multiplies every function's rate (0 means 1).
	Scale float64
}

// Published shape of the Azure 2019 trace (Shahrad et al. 2020) that the
// synthetic population reproduces.
const (
	// Mean rates are log-uniform per minute, 81% in [1e-4, 1] and 19% in
	// [1, 1e4]: so 45% of functions are invoked at most once an hour, 81%
	// at most once a minute, rates span 8 orders of magnitude and the
	// busiest fifth carries nearly all invocations.
	sparseLowShare = 0.81
	// Timer-triggered functions (15.6% of functions) fire periodically;
	// 40% of functions have bursty gaps (CV > 1); the rest are Poisson.
	sparseTimerShare  = 0.156
	sparseBurstyShare = 0.40
	// Average durations are lognormal in seconds, log-mean −0.38, σ 2.36,
	// clipped to 1 ms – 10 min (the platform's default time limit).
	sparseDurLogMean = -0.38
	sparseDurSigma   = 2.36
	// A function's offered load (mean rate × mean duration) is capped at
	// this many concurrent requests. The published statistics give rates
	// and durations separately; drawn independently, a few busy functions
	// get minute-long durations and need thousands of concurrent pods,
	// which then dominate every number of the fleet. Busy functions are
	// short in practice, and the cap keeps the fleet laptop-sized while
	// leaving the duration distribution of the long tail of idle functions
	// untouched.
	sparseMaxOffered = 16.0
	// Per-request durations vary around a function's average with σ 0.5.
	sparseRequestSigma = 0.5
	// Memory: median 170 MB, 90% at most 400 MB.
	sparseMemMedian = 170.0
	sparseMemSigma  = 0.668
)

type sparseKind uint8

const (
	sparsePoisson sparseKind = iota
	sparseTimer
	sparseBursty
)

// sparseFunction is a stationary renewal process: periodic (timer),
// exponential gaps (CV 1) or balanced two-phase hyperexponential gaps
// (CV > 1).
type sparseFunction struct {
	kind   sparseKind
	mean   float64 // mean gap, seconds
	p      float64 // hyperexponential: probability of the short phase
	m1, m2 float64 // hyperexponential phase means, seconds
	dur    dist.Dist
}

type sparseModel struct {
	fns   []sparseFunction
	total float64
}

// SparseTrace generates a synthetic trace of many mostly idle functions
// with the published Azure 2019 shape. It has no end: Arrivals' duration
// bounds it.
func SparseTrace(opt SparseOptions) (*Trace, error) {
	if opt.Scale == 0 {
		opt.Scale = 1
	}
	if opt.Functions < 1 || opt.Functions > 10_000_000 {
		return nil, fmt.Errorf("sparse: functions: want 1 to 10000000, got %d", opt.Functions)
	}
	if !(opt.Scale > 0 && opt.Scale <= 1e6) {
		return nil, fmt.Errorf("sparse: scale: want a factor above 0 and at most 1e6")
	}
	r := newRand(opt.Seed, 1<<32)
	m := &sparseModel{fns: make([]sparseFunction, opt.Functions)}
	funcs := make([]TraceFunction, opt.Functions)
	for i := range m.fns {
		var log10PerMinute float64
		if r.Float64() < sparseLowShare {
			log10PerMinute = -4 + 4*r.Float64()
		} else {
			log10PerMinute = 4 * r.Float64()
		}
		rate := math.Pow(10, log10PerMinute) / 60 * opt.Scale
		f := sparseFunction{mean: 1 / rate}
		trigger := "http"
		switch u := r.Float64(); {
		case u < sparseTimerShare:
			f.kind, trigger = sparseTimer, "timer"
		case u < sparseTimerShare+sparseBurstyShare:
			f.kind = sparseBursty
			cv := 1.5 + 2.5*r.Float64()
			c2 := cv * cv
			f.p = 0.5 * (1 + math.Sqrt((c2-1)/(c2+1)))
			f.m1 = f.mean / (2 * f.p)
			f.m2 = f.mean / (2 * (1 - f.p))
		}
		avg := math.Exp(sparseDurLogMean + sparseDurSigma*r.NormFloat64())
		avg = min(max(avg, 0.001), 600, sparseMaxOffered*f.mean*opt.Scale)
		f.dur = dist.LogNormalMean(seconds(avg), sparseRequestSigma)
		mem := sparseMemMedian * math.Exp(sparseMemSigma*r.NormFloat64())
		m.fns[i] = f
		m.total += rate
		funcs[i] = TraceFunction{
			Name:     fmt.Sprintf("sparse-%04d", i),
			App:      fmt.Sprintf("sparse-%04d", i),
			Trigger:  trigger,
			MeanRate: rate,
			Duration: f.dur,
			MemoryMB: math.Round(min(max(mem, 64), 4096)),
		}
	}
	spec := "sparse:functions=" + strconv.Itoa(opt.Functions) + ",seed=" + strconv.FormatInt(opt.Seed, 10)
	if opt.Scale != 1 {
		spec += ",scale=" + ff(opt.Scale)
	}
	return &Trace{spec: spec, funcs: funcs, model: m}, nil
}

func (m *sparseModel) rate(time.Duration) float64 { return m.total }

func (m *sparseModel) arrivals(seed int64, end time.Duration) Source {
	s := &sparseStreams{m: m, fns: make([]sparseStream, len(m.fns))}
	for i := range s.fns {
		m.startStream(&s.fns[i], seed, i)
	}
	return newMerger(s, len(m.fns), end)
}

func (m *sparseModel) functionArrivals(seed int64, end time.Duration, fn int) Source {
	s := &sparseStreams{m: m, fns: make([]sparseStream, 1), first: fn}
	m.startStream(&s.fns[0], seed, fn)
	return &oneStream{set: s, fn: fn, end: end}
}

// startStream seeds function i's stream: its own PCG stream, so that it
// draws the same arrivals alone as merged with the others.
func (m *sparseModel) startStream(st *sparseStream, seed int64, i int) {
	st.pcg = *rand.NewPCG(uint64(seed), uint64(i)<<1|1)
	st.rng = rand.New(&st.pcg)
	f := &m.fns[i]
	// Start each process in equilibrium, so that a run's first minutes
	// look like any other: a uniform phase for timers, and for bursty
	// functions the phase picked in proportion to the time it covers.
	switch f.kind {
	case sparseTimer:
		st.phase = st.rng.Float64() * f.mean
		st.t = st.phase
		st.started = true
	case sparseBursty:
		if st.rng.Float64() < f.p*f.m1/f.mean {
			st.t = st.rng.ExpFloat64() * f.m1
		} else {
			st.t = st.rng.ExpFloat64() * f.m2
		}
		st.started = true
	}
}

type sparseStreams struct {
	m     *sparseModel
	fns   []sparseStream // functions first, first+1, ...
	first int
}

type sparseStream struct {
	t       float64 // seconds
	phase   float64 // timers: the first firing, seconds
	k       float64 // timers: firings so far
	started bool
	pcg     rand.PCG
	rng     *rand.Rand
}

func (s *sparseStreams) advance(i int) (Arrival, bool) {
	st := &s.fns[i-s.first]
	f := &s.m.fns[i]
	if st.started {
		st.started = false
	} else {
		switch f.kind {
		case sparseTimer:
			// Firing k is phase + k·period, never a running sum, so a
			// timer keeps its grid however long the run.
			st.k++
			st.t = st.phase + st.k*f.mean
		case sparseBursty:
			if st.rng.Float64() < f.p {
				st.t += st.rng.ExpFloat64() * f.m1
			} else {
				st.t += st.rng.ExpFloat64() * f.m2
			}
		default:
			st.t += st.rng.ExpFloat64() * f.mean
		}
	}
	if st.t > 1e10 { // beyond 300 years: no further arrivals to speak of
		return Arrival{}, false
	}
	return Arrival{At: seconds(st.t), Function: i, Work: f.dur.Sample(st.rng)}, true
}
