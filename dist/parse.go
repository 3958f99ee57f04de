package dist

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scalebench/scalebench/internal/spec"
)

// Parse reads a distribution spec:
//
//	100ms  or  fixed:100ms
//	uniform:min=10ms,max=50ms
//	exp:mean=100ms
//	lognormal:median=80ms,sigma=0.5   (or mean=100ms,sigma=0.5)
//	percentiles:0=1ms,25=20ms,50=80ms,75=120ms,99=400ms,100=2s
func Parse(spec string) (Dist, error) {
	d, err := parse(spec)
	if err != nil {
		return nil, fmt.Errorf("dist %q: %w", spec, err)
	}
	return d, nil
}

func parse(spec string) (Dist, error) {
	spec = strings.TrimSpace(spec)
	kind, args, ok := strings.Cut(spec, ":")
	if !ok {
		d, err := duration(spec)
		if err != nil {
			return nil, errorf("want a duration like 100ms or kind:args with kind fixed, uniform, exp, lognormal or percentiles")
		}
		return Fixed{d}, nil
	}
	switch kind {
	case "fixed":
		if k, v, ok := strings.Cut(args, "="); ok {
			if k != "d" && k != "value" {
				return nil, errorf("unknown parameter %q: want fixed:100ms", k)
			}
			args = v
		}
		d, err := duration(args)
		if err != nil {
			return nil, errorf("want a duration like fixed:100ms")
		}
		return Fixed{d}, nil
	case "uniform":
		kv, err := keyValues(args, "min", "max")
		if err != nil {
			return nil, err
		}
		min, err := kv.duration("min", true)
		if err != nil {
			return nil, err
		}
		max, err := kv.duration("max", true)
		if err != nil {
			return nil, err
		}
		if max < min {
			return nil, errorf("max: want max ≥ min (%s)", min)
		}
		return Uniform{min, max}, nil
	case "exp", "exponential":
		kv, err := keyValues(args, "mean")
		if err != nil {
			return nil, err
		}
		m, err := kv.duration("mean", true)
		if err != nil {
			return nil, err
		}
		return Exponential{m}, nil
	case "lognormal":
		kv, err := keyValues(args, "median", "mean", "sigma")
		if err != nil {
			return nil, err
		}
		sigma, err := kv.float("sigma")
		if err != nil {
			return nil, err
		}
		if sigma < 0 || sigma > 10 {
			return nil, errorf("sigma: want a number between 0 and 10")
		}
		_, hasMedian := kv["median"]
		_, hasMean := kv["mean"]
		if hasMedian == hasMean {
			return nil, errorf("want exactly one of median= or mean=")
		}
		if hasMedian {
			m, err := kv.duration("median", true)
			if err != nil {
				return nil, err
			}
			return LogNormal{m, sigma}, nil
		}
		m, err := kv.duration("mean", true)
		if err != nil {
			return nil, err
		}
		return LogNormalMean(m, sigma), nil
	case "percentiles", "empirical":
		var pts []Point
		for _, f := range strings.Split(args, ",") {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return nil, errorf("%q: want percentile=duration like 50=80ms", f)
			}
			p, err := strconv.ParseFloat(strings.TrimSpace(k), 64)
			if err != nil || math.IsNaN(p) || p < 0 || p > 100 {
				return nil, errorf("%q: want a percentile between 0 and 100", k)
			}
			d, err := duration(v)
			if err != nil {
				return nil, errorf("%s: want a duration like 80ms", k)
			}
			pts = append(pts, Point{p, d})
		}
		return Percentiles(pts)
	}
	return nil, errorf("unknown kind %q: want fixed, uniform, exp, lognormal or percentiles", kind)
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

// duration parses a non-negative Go duration.
func duration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

// values are a spec's key=value pairs, with typed getters.
type values spec.Values

func keyValues(args string, known ...string) (values, error) {
	kv, err := spec.KeyValues(args, known...)
	return values(kv), err
}

func (kv values) duration(k string, required bool) (time.Duration, error) {
	v, ok := kv[k]
	if !ok {
		if required {
			return 0, errorf("%s: missing, want a duration like 100ms", k)
		}
		return 0, nil
	}
	d, err := duration(v)
	if err != nil {
		return 0, errorf("%s: want a duration like 100ms", k)
	}
	return d, nil
}

func (kv values) float(k string) (float64, error) {
	v, ok := kv[k]
	if !ok {
		return 0, errorf("%s: missing, want a number", k)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errorf("%s: want a number like 0.5", k)
	}
	return f, nil
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
