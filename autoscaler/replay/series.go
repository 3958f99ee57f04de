package replay

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/scenarios"
)

// Sample is one second of a revision's metrics.
type Sample struct {
	T     int64 // whole seconds
	Stat  autoscaler.Stat
	Ready int
}

// Limits on a series, so that a two-row input cannot ask for unbounded
// work: Run ticks through every interval between the first row and the
// last, so the span is bounded like a scenario's duration, and values are
// bounded so that no policy's arithmetic overflows into ±Inf.
const (
	// MaxSpan is the longest a series may cover, last t minus first t.
	MaxSpan = int64(scenarios.MaxDuration / time.Second)
	// MaxValue bounds concurrency, rps, max_concurrency and cpu cells.
	MaxValue = 1e9
)

// columns the series may carry; t, concurrency and ready are required.
var knownColumns = map[string]bool{"t": true, "concurrency": true, "ready": true, "rps": true, "max_concurrency": true, "cpu": true}

// ParseSeries reads a CSV series with the header t,concurrency,ready and
// optional rps, max_concurrency and cpu columns. name labels errors, which
// read "name:line: what was expected".
func ParseSeries(name string, r io.Reader) ([]Sample, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	errf := func(format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, a...))
	}
	var header []string
	idx := map[string]int{}
	var out []Sample
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cells := strings.Split(text, ",")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header == nil {
			header = cells
			for i, c := range cells {
				if !knownColumns[c] {
					return nil, errf("unknown column %q in header; want t,concurrency,ready with optional rps,max_concurrency,cpu", c)
				}
				if _, dup := idx[c]; dup {
					return nil, errf("column %q appears twice in header", c)
				}
				idx[c] = i
			}
			for _, req := range []string{"t", "concurrency", "ready"} {
				if _, ok := idx[req]; !ok {
					return nil, errf("header lacks column %q; want t,concurrency,ready", req)
				}
			}
			continue
		}
		if len(cells) != len(header) {
			return nil, errf("%d cells, want %d (%s)", len(cells), len(header), strings.Join(header, ","))
		}
		num := func(col string) (float64, error) {
			i, ok := idx[col]
			if !ok {
				return 0, nil
			}
			v, err := strconv.ParseFloat(cells[i], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > MaxValue {
				return 0, errf("column %s: want a number from 0 to %g, got %q", col, MaxValue, cells[i])
			}
			return v, nil
		}
		var s Sample
		t, err := strconv.ParseInt(cells[idx["t"]], 10, 64)
		if err != nil || t < 0 || t > math.MaxInt64/int64(1e9)-1 {
			return nil, errf("column t: want whole seconds (a non-negative integer), got %q", cells[idx["t"]])
		}
		if len(out) > 0 && t <= out[len(out)-1].T {
			return nil, errf("t = %d does not increase (previous row has t = %d)", t, out[len(out)-1].T)
		}
		if len(out) > 0 && t-out[0].T > MaxSpan {
			return nil, errf("t = %d is %d s after the first row's t = %d; a series spans at most %d s (%v)", t, t-out[0].T, out[0].T, MaxSpan, scenarios.MaxDuration)
		}
		s.T = t
		ready, err := strconv.Atoi(cells[idx["ready"]])
		if err != nil || ready < 0 || ready > autoscaler.MaxPods {
			return nil, errf("column ready: want a pod count from 0 to %d, got %q", autoscaler.MaxPods, cells[idx["ready"]])
		}
		s.Ready = ready
		if s.Stat.Concurrency, err = num("concurrency"); err != nil {
			return nil, err
		}
		if s.Stat.RPS, err = num("rps"); err != nil {
			return nil, err
		}
		if s.Stat.MaxConcurrency, err = num("max_concurrency"); err != nil {
			return nil, err
		}
		if s.Stat.CPU, err = num("cpu"); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", name, line+1, err)
	}
	if header == nil {
		return nil, fmt.Errorf("%s:1: empty file; want a header t,concurrency,ready", name)
	}
	return out, nil
}
