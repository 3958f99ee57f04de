package traffic

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scalebench/scalebench/dist"
)

// Azure2021Options selects the part of a 2021 trace to replay.
type Azure2021Options struct {
	// Functions keeps the first N distinct app/func pairs in file order
	// (0 keeps all).
	Functions int
	// Start and Length cut a window of trace time, measured from the
	// earliest arrival; Length 0 runs to the end.
	Start, Length time.Duration
	// Compression divides arrival times; Work keeps the row's duration.
	// 0 means 1.
	Compression float64
}

// invocation is one row, 24 bytes: the two-week trace's two million rows
// fit in about 50 MB.
type invocation struct {
	at, work time.Duration
	fn       int32
}

type azure2021 struct {
	rows        []invocation
	compression float64
	perMinute   []float64 // arrivals per trace minute of the window
}

// LoadAzure2021 reads an Azure Functions 2021 invocation trace: rows of
// app,func,end_timestamp,duration in seconds, arrival = end − duration.
// The file is read line by line and kept as compact rows sorted by
// arrival, because rows are in end order and a long invocation arrives
// before many rows that precede it.
func LoadAzure2021(path string, opt Azure2021Options) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAzure2021(f, path, opt)
}

func readAzure2021(r io.Reader, name string, opt Azure2021Options) (*Trace, error) {
	if opt.Compression == 0 {
		opt.Compression = 1
	}
	switch {
	case !(opt.Compression > 0 && opt.Compression <= 1e6):
		return nil, fmt.Errorf("azure2021: compress: want a factor above 0 and at most 1e6")
	case opt.Functions < 0 || opt.Start < 0 || opt.Length < 0:
		return nil, fmt.Errorf("azure2021: functions, start, length: want non-negative values")
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	next := func() (string, bool) {
		for sc.Scan() {
			line++
			if s := strings.TrimSpace(sc.Text()); s != "" {
				return s, true
			}
		}
		return "", false
	}
	h, ok := next()
	if !ok {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, fmt.Errorf("%s:1: want a header app,func,end_timestamp,duration, the file is empty", name)
	}
	cols := map[string]int{}
	hs := strings.Split(strings.TrimPrefix(h, "\ufeff"), ",")
	for i, c := range hs {
		cols[strings.TrimSpace(c)] = i
	}
	for _, c := range []string{"app", "func", "end_timestamp", "duration"} {
		if _, ok := cols[c]; !ok {
			return nil, fmt.Errorf("%s:%d: want a header with app,func,end_timestamp,duration, got %q", name, line, h)
		}
	}
	fnIndex := map[string]int32{}
	var funcs []TraceFunction
	var rows []invocation
	fields := make([]string, 0, len(hs))
	for {
		s, ok := next()
		if !ok {
			break
		}
		fields = fields[:0]
		for f := range strings.SplitSeq(s, ",") {
			fields = append(fields, f)
		}
		if len(fields) != len(hs) {
			return nil, fmt.Errorf("%s:%d: want %d columns like the header, got %d", name, line, len(hs), len(fields))
		}
		end, err := secondsField(fields[cols["end_timestamp"]])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: column %d (%q): want an end timestamp in seconds", name, line, cols["end_timestamp"]+1, clip(fields[cols["end_timestamp"]]))
		}
		dur, err := secondsField(fields[cols["duration"]])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: column %d (%q): want a non-negative duration in seconds", name, line, cols["duration"]+1, clip(fields[cols["duration"]]))
		}
		app, fn := fields[cols["app"]], fields[cols["func"]]
		key := app + "/" + fn
		i, ok := fnIndex[key]
		if !ok {
			if opt.Functions > 0 && len(funcs) >= opt.Functions {
				continue
			}
			i = int32(len(funcs))
			fnIndex[key] = i
			funcs = append(funcs, TraceFunction{Name: key, App: app})
		}
		rows = append(rows, invocation{at: end - dur, work: dur, fn: i})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: want at least one invocation row", name)
	}
	slices.SortStableFunc(rows, func(a, b invocation) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	from := rows[0].at + opt.Start
	to := time.Duration(math.MaxInt64)
	if opt.Length > 0 && from < math.MaxInt64-opt.Length {
		to = from + opt.Length
	}
	kept := rows[:0]
	for _, r := range rows {
		if r.at >= from && r.at < to {
			r.at -= from
			kept = append(kept, r)
		}
	}
	rows = slices.Clip(kept)
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no invocation in the window start=%v length=%v", name, opt.Start, opt.Length)
	}
	window := rows[len(rows)-1].at + 1
	if opt.Length > 0 {
		window = opt.Length
	}
	m := &azure2021{rows: rows, compression: opt.Compression}
	m.perMinute = make([]float64, int(window/time.Minute)+1)
	counts := make([]int, len(funcs))
	works := make([][]time.Duration, len(funcs))
	for _, r := range rows {
		m.perMinute[r.at/time.Minute]++
		counts[r.fn]++
		works[r.fn] = append(works[r.fn], r.work)
	}
	length := seconds(window.Seconds() / opt.Compression)
	for i := range funcs {
		funcs[i].MeanRate = float64(counts[i]) / length.Seconds()
		funcs[i].Duration = percentilesOf(works[i])
	}
	spec := "azure2021:file=" + name
	if opt.Functions > 0 {
		spec += ",functions=" + strconv.Itoa(opt.Functions)
	}
	if opt.Start > 0 {
		spec += ",start=" + opt.Start.String()
	}
	if opt.Length > 0 {
		spec += ",length=" + opt.Length.String()
	}
	if opt.Compression != 1 {
		spec += ",compress=" + ff(opt.Compression)
	}
	return &Trace{spec: spec, funcs: funcs, length: length, model: m}, nil
}

// secondsField parses non-negative float seconds into a Duration.
func secondsField(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f >= 0 && f < 1e9) {
		return 0, errors.New("bad seconds")
	}
	return time.Duration(math.Round(f * 1e9)), nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// percentilesOf summarises observed durations the way the 2019 trace
// does, so both traces hand scenarios the same kind of distribution.
func percentilesOf(ds []time.Duration) dist.Dist {
	if len(ds) == 0 {
		return nil
	}
	slices.Sort(ds)
	var pts []dist.Point
	for _, p := range []float64{0, 1, 25, 50, 75, 99, 100} {
		pos := p / 100 * float64(len(ds)-1)
		lo := int(pos)
		hi := min(lo+1, len(ds)-1)
		d := ds[lo] + time.Duration((pos-float64(lo))*float64(ds[hi]-ds[lo]))
		pts = append(pts, dist.Point{P: p, D: d})
	}
	e, err := dist.Percentiles(pts)
	if err != nil {
		return nil // unreachable: sorted non-negative durations
	}
	return e
}

func (m *azure2021) rate(t time.Duration) float64 {
	if t < 0 {
		return 0
	}
	minuteLen := 60 / m.compression
	i := int(t.Seconds() / minuteLen)
	if i >= len(m.perMinute) {
		return 0
	}
	return m.perMinute[i] / minuteLen
}

func (m *azure2021) arrivals(_ int64, end time.Duration) Source {
	return &rowSource{m: m, end: end}
}

// rowSource replays rows in arrival order; the trace fixes every arrival
// and its work, so the seed has nothing to choose.
type rowSource struct {
	m   *azure2021
	i   int
	end time.Duration
}

func (s *rowSource) Next() (Arrival, bool) {
	if s.i >= len(s.m.rows) {
		return Arrival{}, false
	}
	r := s.m.rows[s.i]
	at := r.at
	if s.m.compression != 1 {
		at = seconds(r.at.Seconds() / s.m.compression)
	}
	if at >= s.end {
		s.i = len(s.m.rows)
		return Arrival{}, false
	}
	s.i++
	return Arrival{At: at, Function: int(r.fn), Work: r.work}, true
}
