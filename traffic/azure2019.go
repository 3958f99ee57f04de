package traffic

import (
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scalebench/scalebench/dist"
)

// Spread says how a minute's invocation count is laid out inside it.
type Spread int

const (
	// SpreadExponential: exponential gaps, i.e. a Poisson process
	// conditioned on the minute's count.
	SpreadExponential Spread = iota
	// SpreadUniform: uniformly distributed gaps, less bursty than Poisson.
	SpreadUniform
	// SpreadEquidistant: evenly spaced.
	SpreadEquidistant
)

func (s Spread) String() string {
	switch s {
	case SpreadUniform:
		return "uniform"
	case SpreadEquidistant:
		return "equidistant"
	}
	return "exponential"
}

// ParseSpread reads exponential, uniform or equidistant.
func ParseSpread(s string) (Spread, error) {
	switch s {
	case "exponential", "":
		return SpreadExponential, nil
	case "uniform":
		return SpreadUniform, nil
	case "equidistant":
		return SpreadEquidistant, nil
	}
	return 0, fmt.Errorf("spread: want exponential, uniform or equidistant, got %q", s)
}

// Azure2019Options selects and reshapes the part of a 2019 trace to replay.
type Azure2019Options struct {
	// Functions keeps the first N functions in file order (0 keeps all).
	Functions int
	// Hashes keeps the functions whose HashFunction starts with one of
	// these prefixes instead, in file order.
	Hashes []string
	// Apps keeps the functions whose HashApp starts with one of these
	// prefixes; Triggers those whose Trigger is one of these (http, timer,
	// queue, ...). Every filter given must match.
	Apps, Triggers []string
	// Sample keeps a uniform random sample of this many of the functions
	// the filters let through, drawn with SampleSeed while the file is read
	// (each row's key is a seeded hash of its owner, app and function, and
	// the Sample smallest keys are kept), and replays them in file order.
	// It replaces Functions; 0 keeps every function that matches.
	Sample     int
	SampleSeed int64
	// FirstMinute is the first minute replayed (0-based); Minutes how
	// many (0 = to the end of the file).
	FirstMinute, Minutes int
	// Spread lays each minute's count out inside the minute.
	Spread Spread
	// Compression divides arrival times (144 replays a day in 10 minutes);
	// per-request Work keeps its trace duration. 0 means 1.
	Compression float64
	// Scale multiplies every count (0 means 1); fractional results are
	// carried from minute to minute so the total is scaled exactly.
	Scale float64
}

func (o Azure2019Options) normalized() (Azure2019Options, error) {
	if o.Compression == 0 {
		o.Compression = 1
	}
	if o.Scale == 0 {
		o.Scale = 1
	}
	switch {
	case o.Functions < 0:
		return o, errors.New("functions: want a non-negative count")
	case o.Sample < 0:
		return o, errors.New("sample: want a non-negative count")
	case o.Sample > 0 && o.Functions > 0:
		return o, errors.New("sample: give functions=N (the first N) or sample=N (N at random), not both")
	case o.FirstMinute < 0:
		return o, fmt.Errorf("firstMinute: want a non-negative minute, got %d", o.FirstMinute)
	case o.Minutes < 0:
		return o, fmt.Errorf("minutes: want a non-negative count, got %d", o.Minutes)
	case !(o.Compression > 0 && o.Compression <= 1e6):
		return o, errors.New("compress: want a factor above 0 and at most 1e6")
	case !(o.Scale > 0 && o.Scale <= 1e6):
		return o, errors.New("scale: want a factor above 0 and at most 1e6")
	case o.Spread < SpreadExponential || o.Spread > SpreadEquidistant:
		return o, errors.New("spread: want exponential, uniform or equidistant")
	}
	return o, nil
}

// minuteCount is one non-idle minute of a function; most functions are
// idle most minutes, so only these are stored.
type minuteCount struct {
	minute int32
	count  int32
}

type azure2019 struct {
	opt       Azure2019Options
	counts    [][]minuteCount
	durations []dist.Dist
	total     []float64 // invocations per minute, all functions
}

// LoadAzure2019 reads an Azure Functions 2019 trace: per-minute
// invocation counts, and optionally the duration percentiles and memory
// files (pass "" to skip). Each function's per-request Work is drawn from
// its duration percentiles.
func LoadAzure2019(invocationsPath, durationsPath, memoryPath string, opt Azure2019Options) (*Trace, error) {
	var files [3]namedReader
	for i, p := range []string{invocationsPath, durationsPath, memoryPath} {
		if p == "" {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		files[i] = namedReader{f, p}
	}
	return readAzure2019(files[0], files[1], files[2], opt)
}

// namedReader is a trace file; a nil r means the file was not given.
type namedReader struct {
	r    io.Reader
	name string
}

func readAzure2019(inv, dur, mem namedReader, opt Azure2019Options) (*Trace, error) {
	opt, err := opt.normalized()
	if err != nil {
		return nil, fmt.Errorf("azure2019: %w", err)
	}
	funcs, m, j, err := readInvocations(inv.r, inv.name, opt)
	if err != nil {
		return nil, err
	}
	spec := "azure2019:invocations=" + inv.name
	if dur.r != nil {
		if err := readDurations(dur.r, dur.name, funcs, j); err != nil {
			return nil, err
		}
		spec += ",durations=" + dur.name
	}
	if mem.r != nil {
		if err := readMemory(mem.r, mem.name, funcs, j); err != nil {
			return nil, err
		}
		spec += ",memory=" + mem.name
	}
	spec += opt.spec()
	return newAzure2019Trace(spec, funcs, m, opt), nil
}

func (o Azure2019Options) spec() string {
	s := ""
	if len(o.Hashes) > 0 {
		s += ",hashes=" + strings.Join(o.Hashes, "/")
	}
	if len(o.Apps) > 0 {
		s += ",apps=" + strings.Join(o.Apps, "/")
	}
	if len(o.Triggers) > 0 {
		s += ",triggers=" + strings.Join(o.Triggers, "/")
	}
	switch {
	case o.Sample > 0:
		s += ",sample=" + strconv.Itoa(o.Sample) + ",sample-seed=" + strconv.FormatInt(o.SampleSeed, 10)
	case o.Functions > 0 && len(o.Hashes) == 0:
		s += ",functions=" + strconv.Itoa(o.Functions)
	}
	if o.FirstMinute > 0 || o.Minutes > 0 {
		s += ",minutes=" + strconv.Itoa(o.FirstMinute) + "+" + strconv.Itoa(o.Minutes)
	}
	s += ",spread=" + o.Spread.String()
	if o.Compression != 1 {
		s += ",compress=" + ff(o.Compression)
	}
	if o.Scale != 1 {
		s += ",scale=" + ff(o.Scale)
	}
	return s
}

func newAzure2019Trace(spec string, funcs []TraceFunction, m *azure2019, opt Azure2019Options) *Trace {
	minuteLen := 60 / opt.Compression // seconds of replay per trace minute
	length := seconds(float64(len(m.total)) * minuteLen)
	for i := range funcs {
		n := 0
		for _, mc := range m.counts[i] {
			n += int(mc.count)
		}
		if length > 0 {
			funcs[i].MeanRate = float64(n) / length.Seconds()
		}
		m.durations[i] = funcs[i].Duration
	}
	return &Trace{spec: spec, funcs: funcs, length: length, model: m}
}

// csvReader reads a trace CSV reporting file:line errors.
type csvReader struct {
	r    *csv.Reader
	name string
}

func newCSV(r io.Reader, name string) *csvReader {
	c := csv.NewReader(r)
	c.ReuseRecord = true
	c.FieldsPerRecord = 0
	return &csvReader{c, name}
}

// read returns the next record, io.EOF at the end, or an error naming the
// file and line.
func (c *csvReader) read() ([]string, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, err
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if pe.Err == csv.ErrFieldCount {
				return nil, fmt.Errorf("%s:%d: want %d columns like the header", c.name, pe.StartLine, c.r.FieldsPerRecord)
			}
			return nil, fmt.Errorf("%s:%d: %v", c.name, pe.Line, pe.Err)
		}
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return rec, nil
}

// errAt names the file, line and 1-based column of a bad field.
func (c *csvReader) errAt(col int, value, want string) error {
	line, _ := c.r.FieldPos(col)
	if len(value) > 40 {
		value = value[:40] + "..."
	}
	return fmt.Errorf("%s:%d: column %d (%q): want %s", c.name, line, col+1, value, want)
}

func (c *csvReader) line() int {
	line, _ := c.r.FieldPos(0)
	return line
}

// header reads the header row and returns the index of each named column.
func (c *csvReader) header(want ...string) (map[string]int, int, error) {
	rec, err := c.read()
	if err == io.EOF {
		return nil, 0, fmt.Errorf("%s:1: want a header row, the file is empty", c.name)
	}
	if err != nil {
		return nil, 0, err
	}
	idx := map[string]int{}
	for i, h := range rec {
		idx[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, w := range want {
		if _, ok := idx[w]; !ok {
			return nil, 0, fmt.Errorf("%s:1: want a %s column in the header", c.name, w)
		}
	}
	c.r.FieldsPerRecord = len(rec)
	return idx, len(rec), nil
}

func key3(owner, app, fn string) string { return owner + "\x00" + app + "\x00" + fn }

// join finds the selected functions again when reading the durations and
// memory files.
type join struct {
	index   map[string]int // key3 of a selected function → its index
	appSize map[string]int // key3(owner, app, "") → functions of the app in the file
}

// readInvocations reads the per-minute counts of the selected functions.
// It streams the file a row at a time (a day file is tens of thousands of
// rows of 1,440 minutes) and keeps only what the replay needs: the selected
// functions' non-idle minutes.
func readInvocations(r io.Reader, name string, opt Azure2019Options) ([]TraceFunction, *azure2019, join, error) {
	var none join
	c := newCSV(r, name)
	idx, ncol, err := c.header("HashOwner", "HashApp", "HashFunction", "Trigger")
	if err != nil {
		return nil, nil, none, err
	}
	first := idx["Trigger"] + 1
	for _, k := range []string{"HashOwner", "HashApp", "HashFunction"} {
		if idx[k] >= first {
			return nil, nil, none, fmt.Errorf("%s:1: want %s before Trigger and the minute columns", name, k)
		}
	}
	minutes := ncol - first
	if minutes < 1 {
		return nil, nil, none, fmt.Errorf("%s:1: want minute columns 1,2,... after Trigger", name)
	}
	if opt.FirstMinute >= minutes {
		return nil, nil, none, fmt.Errorf("%s: minutes: the range starts at minute %d but the file has %d", name, opt.FirstMinute, minutes)
	}
	last := minutes
	if opt.Minutes > 0 {
		last = min(minutes, opt.FirstMinute+opt.Minutes)
	}
	var rows []traceRow
	sample := &sampleHeap{}
	j := join{index: map[string]int{}, appSize: map[string]int{}}
	seen := map[string]int{}
	matched := 0
	for {
		rec, err := c.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, none, err
		}
		owner, app, fn, trigger := rec[idx["HashOwner"]], rec[idx["HashApp"]], rec[idx["HashFunction"]], rec[idx["Trigger"]]
		if fn == "" {
			return nil, nil, none, c.errAt(idx["HashFunction"], fn, "a function hash")
		}
		k := key3(owner, app, fn)
		if l, dup := seen[k]; dup {
			return nil, nil, none, fmt.Errorf("%s:%d: function %.12s also on line %d: want one row per function", name, c.line(), fn, l)
		}
		seen[k] = c.line()
		j.appSize[key3(owner, app, "")]++
		keep := matches(opt, app, fn, trigger)
		var key uint64
		if keep {
			matched++
			switch {
			case opt.Sample > 0:
				key = sampleKey(opt.SampleSeed, k)
				keep = len(sample.rows) < opt.Sample || key < sample.rows[0].key
			case opt.Functions > 0 && len(opt.Hashes) == 0:
				keep = matched <= opt.Functions
			}
		}
		if !keep {
			// Still validate: a bad row is bad whether or not it is replayed.
			for col := first; col < ncol; col++ {
				if _, err := parseCount(rec[col]); err != nil {
					return nil, nil, none, c.errAt(col, rec[col], "a non-negative integer count")
				}
			}
			continue
		}
		row := traceRow{key: key, line: c.line(), k: k, fn: TraceFunction{Name: fn, App: app, Trigger: trigger}}
		carry := 0.0
		for col := first; col < ncol; col++ {
			n, err := parseCount(rec[col])
			if err != nil {
				return nil, nil, none, c.errAt(col, rec[col], "a non-negative integer count")
			}
			minute := col - first
			if minute < opt.FirstMinute || minute >= last {
				continue
			}
			scaled := float64(n)*opt.Scale + carry
			whole := math.Floor(scaled)
			carry = scaled - whole
			if whole > math.MaxInt32 {
				return nil, nil, none, c.errAt(col, rec[col], fmt.Sprintf("a count that, scaled by %s, fits 2^31", ff(opt.Scale)))
			}
			if whole > 0 {
				row.counts = append(row.counts, minuteCount{int32(minute - opt.FirstMinute), int32(whole)})
			}
		}
		if opt.Sample > 0 {
			sample.add(row, opt.Sample)
		} else {
			rows = append(rows, row)
		}
	}
	if opt.Sample > 0 {
		rows = sample.rows
		sort.Slice(rows, func(a, b int) bool { return rows[a].line < rows[b].line })
	}
	if len(rows) == 0 {
		return nil, nil, none, fmt.Errorf("%s: no function selected: want rows, or filters (hashes, apps, triggers) that match one", name)
	}
	m := &azure2019{opt: opt, total: make([]float64, last-opt.FirstMinute), counts: make([][]minuteCount, len(rows))}
	funcs := make([]TraceFunction, len(rows))
	for i, row := range rows {
		for _, mc := range row.counts {
			m.total[mc.minute] += float64(mc.count)
		}
		m.counts[i] = row.counts
		j.index[row.k] = i
		funcs[i] = row.fn
	}
	m.durations = make([]dist.Dist, len(funcs))
	return funcs, m, j, nil
}

// traceRow is a selected function while the file is read.
type traceRow struct {
	key    uint64 // sample key
	line   int
	k      string // key3
	fn     TraceFunction
	counts []minuteCount
}

// matches applies the hash, app and trigger filters.
func matches(opt Azure2019Options, app, fn, trigger string) bool {
	prefixed := func(s string, prefixes []string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
		return false
	}
	if len(opt.Hashes) > 0 && !prefixed(fn, opt.Hashes) {
		return false
	}
	if len(opt.Apps) > 0 && !prefixed(app, opt.Apps) {
		return false
	}
	return len(opt.Triggers) == 0 || slices.Contains(opt.Triggers, trigger)
}

// sampleKey is a row's seeded, well-mixed hash: the rows with the smallest
// keys are a uniform random sample that does not depend on file order.
func sampleKey(seed int64, k string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(k))
	// splitmix64's finaliser: FNV's low bits alone mix poorly.
	z := h.Sum64()
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// sampleHeap keeps the n rows with the smallest keys: a max-heap on key, so
// the row to evict is at the root.
type sampleHeap struct{ rows []traceRow }

func (h *sampleHeap) add(r traceRow, n int) {
	if len(h.rows) < n {
		h.rows = append(h.rows, r)
		for i := len(h.rows) - 1; i > 0; {
			p := (i - 1) / 2
			if h.rows[p].key >= h.rows[i].key {
				break
			}
			h.rows[p], h.rows[i] = h.rows[i], h.rows[p]
			i = p
		}
		return
	}
	h.rows[0] = r
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(h.rows) && h.rows[l].key > h.rows[m].key {
			m = l
		}
		if l+1 < len(h.rows) && h.rows[l+1].key > h.rows[m].key {
			m = l + 1
		}
		if m == i {
			return
		}
		h.rows[i], h.rows[m] = h.rows[m], h.rows[i]
		i = m
	}
}

func parseCount(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		// Some exports write counts as floats ("3.0").
		f, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if ferr != nil || f < 0 || f != math.Trunc(f) || f > math.MaxInt64/2 {
			return 0, errors.New("bad count")
		}
		return int64(f), nil
	}
	return n, nil
}

var durationPercentiles = []struct {
	col string
	p   float64
}{
	{"percentile_Average_0", 0}, {"percentile_Average_1", 1}, {"percentile_Average_25", 25},
	{"percentile_Average_50", 50}, {"percentile_Average_75", 75}, {"percentile_Average_99", 99},
	{"percentile_Average_100", 100},
}

func readDurations(r io.Reader, name string, funcs []TraceFunction, j join) error {
	cols := []string{"HashOwner", "HashApp", "HashFunction"}
	for _, p := range durationPercentiles {
		cols = append(cols, p.col)
	}
	c := newCSV(r, name)
	idx, _, err := c.header(cols...)
	if err != nil {
		return err
	}
	for {
		rec, err := c.read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		pts := make([]dist.Point, len(durationPercentiles))
		for i, p := range durationPercentiles {
			col := idx[p.col]
			ms, err := strconv.ParseFloat(strings.TrimSpace(rec[col]), 64)
			if err != nil || !(ms >= 0 && ms < 1e12) {
				return c.errAt(col, rec[col], "a non-negative duration in milliseconds")
			}
			pts[i] = dist.Point{P: p.p, D: time.Duration(math.Round(ms * 1e6))}
			if i > 0 && pts[i].D < pts[i-1].D {
				return c.errAt(col, rec[col], fmt.Sprintf("percentiles in non-decreasing order (%s is %s ms)", durationPercentiles[i-1].col, ff(float64(pts[i-1].D)/1e6)))
			}
		}
		i, ok := j.index[key3(rec[idx["HashOwner"]], rec[idx["HashApp"]], rec[idx["HashFunction"]])]
		if !ok {
			continue
		}
		d, err := dist.Percentiles(pts)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", name, c.line(), err)
		}
		funcs[i].Duration = d
	}
}

// readMemory joins AverageAllocatedMb by function when the file has a
// HashFunction column, and otherwise by app, split evenly among the app's
// functions (as the In-Vitro loader does), since a pod holds one function.
func readMemory(r io.Reader, name string, funcs []TraceFunction, j join) error {
	c := newCSV(r, name)
	idx, _, err := c.header("HashOwner", "HashApp", "AverageAllocatedMb")
	if err != nil {
		return err
	}
	fnCol, perFunction := idx["HashFunction"]
	for {
		rec, err := c.read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		col := idx["AverageAllocatedMb"]
		mb, err := strconv.ParseFloat(strings.TrimSpace(rec[col]), 64)
		if err != nil || !(mb >= 0 && mb < 1e9) {
			return c.errAt(col, rec[col], "a non-negative size in MB")
		}
		owner, app := rec[idx["HashOwner"]], rec[idx["HashApp"]]
		if perFunction {
			if i, ok := j.index[key3(owner, app, rec[fnCol])]; ok {
				funcs[i].MemoryMB = mb
			}
			continue
		}
		n := j.appSize[key3(owner, app, "")]
		for i := range funcs {
			if funcs[i].App == app && n > 0 {
				if k, ok := j.index[key3(owner, app, funcs[i].Name)]; ok && k == i {
					funcs[i].MemoryMB = mb / float64(n)
				}
			}
		}
	}
}

func (m *azure2019) rate(t time.Duration) float64 {
	if t < 0 {
		return 0
	}
	minuteLen := 60 / m.opt.Compression
	i := int(t.Seconds() / minuteLen)
	if i >= len(m.total) {
		return 0
	}
	return m.total[i] / minuteLen
}

func (m *azure2019) arrivals(seed int64, end time.Duration) Source {
	n := len(m.counts)
	s := &minuteStreams{m: m, fns: make([]minuteStream, n), minuteLen: 60 / m.opt.Compression}
	for i := range s.fns {
		m.startStream(&s.fns[i], seed, i)
	}
	return newMerger(s, n, end)
}

func (m *azure2019) functionArrivals(seed int64, end time.Duration, fn int) Source {
	s := &minuteStreams{m: m, fns: make([]minuteStream, 1), first: fn, minuteLen: 60 / m.opt.Compression}
	m.startStream(&s.fns[0], seed, fn)
	return &oneStream{set: s, fn: fn, end: end}
}

// startStream seeds function i's streams (spreading and work), its own
// PCG streams whether it is replayed alone or merged with the others.
func (m *azure2019) startStream(f *minuteStream, seed int64, i int) {
	f.pcg = *rand.NewPCG(uint64(seed), uint64(2*i+1))
	f.rng = rand.New(&f.pcg)
	f.work = rand.New(rand.NewPCG(uint64(seed), uint64(2*i+2)))
	f.counts = m.counts[i]
	f.dur = m.durations[i]
}

// minuteStreams lays each function's per-minute counts out in time.
type minuteStreams struct {
	m         *azure2019
	fns       []minuteStream // functions first, first+1, ...
	first     int
	minuteLen float64 // seconds of replay per trace minute
}

// minuteStream spreads each minute's c arrivals at the cumulative sums of
// c+1 random gaps normalised to the minute. The gaps' sum is needed before
// the first arrival, so the generator state is saved, the gaps summed,
// and the state restored to draw the same gaps again one per arrival:
// O(1) memory whatever the count.
type minuteStream struct {
	counts      []minuteCount
	next        int // index into counts of the current minute
	left        int32
	sum, acc    float64
	pcg, after  rand.PCG
	rng, work   *rand.Rand
	dur         dist.Dist
	minuteStart float64
}

func (s *minuteStreams) gap(f *minuteStream) float64 {
	switch s.m.opt.Spread {
	case SpreadUniform:
		return f.rng.Float64()
	case SpreadEquidistant:
		return 1
	}
	return f.rng.ExpFloat64()
}

func (s *minuteStreams) advance(i int) (Arrival, bool) {
	f := &s.fns[i-s.first]
	if f.left == 0 {
		if f.next >= len(f.counts) {
			return Arrival{}, false
		}
		mc := f.counts[f.next]
		f.next++
		f.left = mc.count
		start := f.pcg
		f.sum = 0
		for range mc.count + 1 {
			f.sum += s.gap(f)
		}
		f.after, f.pcg = f.pcg, start
		f.acc = 0
		f.minuteStart = float64(mc.minute)
	}
	f.acc += s.gap(f)
	f.left--
	if f.left == 0 {
		f.pcg = f.after
	}
	a := Arrival{At: seconds((f.minuteStart + f.acc/f.sum) * s.minuteLen), Function: i}
	if f.dur != nil {
		a.Work = f.dur.Sample(f.work)
	}
	return a, true
}
