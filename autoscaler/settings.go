package autoscaler

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Setting describes one knob of a policy, as --help and capacity plans show it.
type Setting struct {
	Key     string
	Default string
	Usage   string
}

// param binds a setting key to a field of a policy's config.
// ptr is a *float64, *int, *bool, *string or *time.Duration.
type param struct {
	key   string
	usage string
	ptr   any
}

func (p param) value() string {
	switch v := p.ptr.(type) {
	case *float64:
		return strconv.FormatFloat(*v, 'g', -1, 64)
	case *int:
		return strconv.Itoa(*v)
	case *bool:
		return strconv.FormatBool(*v)
	case *string:
		return *v
	case *time.Duration:
		return v.String()
	}
	panic(fmt.Sprintf("autoscaler: unsupported setting type %T", p.ptr))
}

func (p param) set(s string) error {
	s = strings.TrimSpace(s)
	switch v := p.ptr.(type) {
	case *float64:
		f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			// NaN passes every range check (all comparisons are false).
			return fmt.Errorf("setting %s: want a finite number, got %q", p.key, s)
		}
		*v = f
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("setting %s: want an integer, got %q", p.key, s)
		}
		*v = n
	case *bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("setting %s: want true or false, got %q", p.key, s)
		}
		*v = b
	case *string:
		*v = s
	case *time.Duration:
		d, err := parseDuration(s)
		if err != nil {
			return fmt.Errorf("setting %s: want a duration like 30s or 5m, got %q", p.key, s)
		}
		*v = d
	}
	return nil
}

// parseDuration accepts Go durations and bare seconds ("30" = 30s), as
// Knative's annotations do.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

// applySettings sets each key of set on the matching param, in sorted key
// order so errors are deterministic.
func applySettings(policy string, params []param, set map[string]string) error {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var found *param
		for i := range params {
			if params[i].key == k {
				found = &params[i]
				break
			}
		}
		if found == nil {
			known := make([]string, len(params))
			for i, p := range params {
				known[i] = p.key
			}
			return fmt.Errorf("policy %s has no setting %q (known: %s)", policy, k, strings.Join(known, ", "))
		}
		if err := found.set(set[k]); err != nil {
			return err
		}
	}
	return nil
}

func describe(params []param) []Setting {
	out := make([]Setting, len(params))
	for i, p := range params {
		out[i] = Setting{Key: p.key, Default: p.value(), Usage: p.usage}
	}
	return out
}

// ParseSettings parses "key=value" pairs (as given to --set) into a map.
func ParseSettings(pairs []string) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		for _, part := range strings.Split(kv, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			k, v, ok := strings.Cut(part, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("setting %q: want key=value", part)
			}
			out[k] = strings.TrimSpace(v)
		}
	}
	return out, nil
}
