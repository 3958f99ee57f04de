package traffic

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scalebench/scalebench/internal/spec"
)

// Parse reads a pattern spec, kind:key=value,...:
//
//	constant:rate=100
//	poisson:rate=100
//	ramp:from=0,to=200,over=5m
//	steps:rates=10/50/100,every=1m
//	sine:base=100,amplitude=80,period=10m
//	spike:base=10,peak=500,at=2m,length=30s
//	onoff:rate=50,on=1m,off=3m
//	sparse:functions=1000,seed=1
//	azure2019:invocations=FILE[,durations=FILE][,memory=FILE][,...]
//	azure2021:file=FILE[,...]
//
// Every rate pattern but poisson takes arrivals=uniform|poisson.
func Parse(spec string) (Pattern, error) {
	p, err := parse(spec)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", spec, err)
	}
	return p, nil
}

func parse(spec string) (Pattern, error) {
	kind, args, _ := strings.Cut(strings.TrimSpace(spec), ":")
	switch kind {
	case "constant", "poisson":
		kv, err := keyValues(args, "rate", "arrivals")
		if err != nil {
			return nil, err
		}
		c := Constant{}
		if c.RPS, err = kv.rate("rate"); err != nil {
			return nil, err
		}
		if c.Spacing, err = kv.spacing(); err != nil {
			return nil, err
		}
		if kind == "poisson" {
			if _, ok := kv["arrivals"]; ok {
				return nil, errors.New("arrivals: poisson is always Poisson; use constant:rate=R,arrivals=uniform for even spacing")
			}
			c.Spacing = Poisson
		}
		return c, nil
	case "ramp":
		kv, err := keyValues(args, "from", "to", "over", "arrivals")
		if err != nil {
			return nil, err
		}
		r := Ramp{}
		if r.From, err = kv.rate("from"); err != nil {
			return nil, err
		}
		if r.To, err = kv.rate("to"); err != nil {
			return nil, err
		}
		if r.Over, err = kv.positive("over"); err != nil {
			return nil, err
		}
		r.Spacing, err = kv.spacing()
		return r, err
	case "steps":
		kv, err := keyValues(args, "rates", "every", "arrivals")
		if err != nil {
			return nil, err
		}
		s := Steps{}
		v, ok := kv["rates"]
		if !ok {
			return nil, errors.New("rates: missing, want rates like 10/50/100")
		}
		for _, f := range strings.Split(v, "/") {
			r, err := rate(f)
			if err != nil {
				return nil, fmt.Errorf("rates: %q: want a non-negative rate in requests per second", f)
			}
			s.Rates = append(s.Rates, r)
		}
		if s.Every, err = kv.positive("every"); err != nil {
			return nil, err
		}
		s.Spacing, err = kv.spacing()
		return s, err
	case "sine":
		kv, err := keyValues(args, "base", "amplitude", "period", "arrivals")
		if err != nil {
			return nil, err
		}
		s := Sine{}
		if s.Base, err = kv.rate("base"); err != nil {
			return nil, err
		}
		if s.Amplitude, err = kv.rate("amplitude"); err != nil {
			return nil, err
		}
		if s.Amplitude > s.Base {
			return nil, errors.New("amplitude: want amplitude ≤ base so the rate never goes negative")
		}
		if s.Period, err = kv.positive("period"); err != nil {
			return nil, err
		}
		s.Spacing, err = kv.spacing()
		return s, err
	case "spike":
		kv, err := keyValues(args, "base", "peak", "at", "length", "arrivals")
		if err != nil {
			return nil, err
		}
		s := Spike{}
		if s.Base, err = kv.rate("base"); err != nil {
			return nil, err
		}
		if s.Peak, err = kv.rate("peak"); err != nil {
			return nil, err
		}
		if s.At, err = kv.duration("at"); err != nil {
			return nil, err
		}
		if s.Length, err = kv.positive("length"); err != nil {
			return nil, err
		}
		if s.At > math.MaxInt64/2 || s.Length > math.MaxInt64/2 {
			return nil, errors.New("at, length: want durations under 100 years")
		}
		s.Spacing, err = kv.spacing()
		return s, err
	case "onoff":
		kv, err := keyValues(args, "rate", "on", "off", "arrivals")
		if err != nil {
			return nil, err
		}
		o := OnOff{}
		if o.RPS, err = kv.rate("rate"); err != nil {
			return nil, err
		}
		if o.On, err = kv.positive("on"); err != nil {
			return nil, err
		}
		if o.Off, err = kv.duration("off"); err != nil {
			return nil, err
		}
		if o.On > math.MaxInt64/2 || o.Off > math.MaxInt64/2 {
			return nil, errors.New("on, off: want durations under 100 years")
		}
		o.Spacing, err = kv.spacing()
		return o, err
	}
	if p, ok, err := parseTrace(kind, args); ok {
		return p, err
	}
	return nil, fmt.Errorf("unknown kind %q: want constant, poisson, ramp, steps, sine, spike, onoff, sparse, azure2019 or azure2021", kind)
}

// maxRate bounds rates to what a float64 index and a nanosecond clock can
// represent meaningfully.
const maxRate = 1e9

func rate(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f >= 0 && f <= maxRate) {
		return 0, errors.New("bad rate")
	}
	return f, nil
}

// values are a spec's key=value pairs, with typed getters.
type values spec.Values

func keyValues(args string, known ...string) (values, error) {
	kv, err := spec.KeyValues(args, known...)
	return values(kv), err
}

func (kv values) rate(k string) (float64, error) {
	v, ok := kv[k]
	if !ok {
		return 0, fmt.Errorf("%s: missing, want a rate in requests per second like 100", k)
	}
	r, err := rate(v)
	if err != nil {
		return 0, fmt.Errorf("%s: want a rate in requests per second between 0 and 1e9, got %q", k, v)
	}
	return r, nil
}

func (kv values) duration(k string) (time.Duration, error) {
	v, ok := kv[k]
	if !ok {
		return 0, fmt.Errorf("%s: missing, want a duration like 1m", k)
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: want a duration like 1m, got %q", k, v)
	}
	return d, nil
}

func (kv values) positive(k string) (time.Duration, error) {
	d, err := kv.duration(k)
	if err == nil && d <= 0 {
		err = fmt.Errorf("%s: want a positive duration like 1m", k)
	}
	return d, err
}

func (kv values) spacing() (Spacing, error) {
	switch kv["arrivals"] {
	case "", "uniform":
		return Uniform, nil
	case "poisson":
		return Poisson, nil
	}
	return 0, fmt.Errorf("arrivals: want uniform or poisson, got %q", kv["arrivals"])
}

func (kv values) int(k string, def, min, max int) (int, error) {
	v, ok := kv[k]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("%s: want an integer from %d to %d, got %q", k, min, max, v)
	}
	return n, nil
}

func (kv values) float(k string, def, min, max float64) (float64, error) {
	v, ok := kv[k]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= min && f <= max) {
		return 0, fmt.Errorf("%s: want a number from %s to %s, got %q", k, ff(min), ff(max), v)
	}
	return f, nil
}

func ff(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
