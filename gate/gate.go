package gate

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/scalebench/scalebench/badinput"
	"github.com/scalebench/scalebench/results"
)

// Alpha is the one-sided significance level of the Mann–Whitney test for
// measured runs: a 1% chance of failing CI on noise alone.
const Alpha = 0.01

// DefaultBounds is what gate allows when told nothing.
const DefaultBounds = "cold_latency_ms.p95=10%,latency_ms.p99=10%,cold_start_ratio=10%,pod_seconds=10%,dropped=0"

// Bound is the growth allowed in one metric: a fraction of the baseline
// when Relative, else an absolute amount in the metric's unit.
type Bound struct {
	Metric   string
	Relative bool
	Limit    float64
}

// ParseBounds reads metric=10% and metric=number pairs, comma-separated.
func ParseBounds(s string) ([]Bound, error) {
	var out []Bound
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		m, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, badinput.Errorf("--max-regress %q: want metric=10%% or metric=number", part)
		}
		m = strings.TrimSpace(m)
		if !results.KnownMetric(m) {
			return nil, badinput.Errorf("--max-regress %q: unknown metric %q (known: %s)", part, m, strings.Join(results.MetricNames(), ", "))
		}
		b := Bound{Metric: m}
		v = strings.TrimSpace(v)
		if p, isPct := strings.CutSuffix(v, "%"); isPct {
			b.Relative, v = true, p
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, badinput.Errorf("--max-regress %q: want a non-negative bound, got %q", part, v)
		}
		if b.Relative {
			f /= 100
		}
		b.Limit = f
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, badinput.Errorf("--max-regress: want at least one metric=bound")
	}
	return out, nil
}

// Row is one checked bound of one run, or a run that could not be paired
// (Metric "—").
type Row struct {
	Run, Metric           string
	Base, Current, Limit  float64
	PValue                float64 // NaN when no test applies
	Regressed, NoBaseline bool
	Note                  string
}

func runKey(s results.Summary) string {
	return s.Scenario + "/" + s.Policy + "@" + s.Backend
}

// pairing is a current run and the baseline run it is compared with (nil
// when there is none).
type pairing struct {
	name      string
	base, cur *results.Summary
}

// pairRuns pairs runs by scenario, policy and backend (a single run pairs
// with a single run whatever their names) and lists the baseline runs left
// without a current one.
func pairRuns(base, cur []results.Summary) ([]pairing, []string) {
	byKey := map[string]*results.Summary{}
	for i := range base {
		byKey[runKey(base[i])] = &base[i]
	}
	var pairs []pairing
	for i := range cur {
		c := &cur[i]
		b := byKey[runKey(*c)]
		if b == nil && len(base) == 1 && len(cur) == 1 {
			b = &base[0]
		}
		if b != nil {
			delete(byKey, runKey(*b))
		}
		pairs = append(pairs, pairing{name: strings.TrimSuffix(runKey(*c), "@"), base: b, cur: c})
	}
	var gone []string
	for k := range byKey {
		gone = append(gone, k)
	}
	sort.Strings(gone)
	return pairs, gone
}

// Check pairs runs by scenario, policy and backend (a single run pairs with
// a single run whatever their names), checks every bound, and returns the
// rows and how many regressed. Runs that Match would refuse (see Options)
// are checked all the same, their rows saying why they should not be.
func Check(base, cur []results.Summary, bounds []Bound) ([]Row, int) {
	pairs, gone := pairRuns(base, cur)
	var rows []Row
	failed := 0
	for _, p := range pairs {
		if p.base == nil {
			rows = append(rows, Row{Run: p.name, Metric: "—", NoBaseline: true, PValue: math.NaN(), Note: "no baseline run; not gated"})
			continue
		}
		caveat := strings.Join(append(differences(p.base, p.cur), abortedNotes(p)...), "; ")
		for _, bd := range bounds {
			row := checkBound(p.base, p.cur, bd)
			row.Run = p.name
			if caveat != "" {
				row.Note = strings.TrimPrefix(row.Note+"; "+caveat, "; ")
			}
			if row.Regressed {
				failed++
			}
			rows = append(rows, row)
		}
	}
	// A run that disappeared is a regression: a gate must not pass because
	// the scenario that would have failed it stopped running.
	for _, k := range gone {
		rows = append(rows, Row{Run: k, Metric: "—", Regressed: true, PValue: math.NaN(), Note: "run missing from current"})
		failed++
	}
	return rows, failed
}

func checkBound(b, c *results.Summary, bd Bound) Row {
	// Bounds are parsed against the catalogue, so the metric is known.
	bv, _ := b.Metric(bd.Metric)
	cv, _ := c.Metric(bd.Metric)
	row := Row{Metric: bd.Metric, Base: bv, Current: cv, PValue: math.NaN()}
	if bd.Relative {
		row.Limit = bv * (1 + bd.Limit)
	} else {
		row.Limit = bv + bd.Limit
	}
	row.Regressed = cv > row.Limit
	measured := c.Kind == "load" || c.Kind == "run"
	if !measured || !strings.Contains(bd.Metric, "_ms.") {
		return row
	}
	hb, hc := b.LatencyHistogram, c.LatencyHistogram
	if strings.HasPrefix(bd.Metric, "cold_") {
		hb, hc = b.ColdLatencyHistogram, c.ColdLatencyHistogram
	}
	p, ok := mannWhitneyGreater(hb, hc)
	if !ok {
		row.Note = "no histograms; compared numbers only"
		return row
	}
	row.PValue = p
	if row.Regressed && p >= Alpha {
		row.Regressed = false
		row.Note = fmt.Sprintf("over bound but not significant (p=%.3g >= %g)", p, Alpha)
	}
	return row
}

// mannWhitneyGreater is the one-sided Mann–Whitney U test that the current
// sample (y) tends to be larger than the baseline (x), computed on histogram
// buckets: each bucket is a group of tied values taking the midrank. It
// uses the normal approximation with tie correction and continuity
// correction, sound for the hundreds of requests a measured run has.
func mannWhitneyGreater(x, y [][2]int64) (float64, bool) {
	type grp struct{ x, y float64 }
	vals := map[int64]*grp{}
	var n1, n2 float64
	for _, b := range x {
		if vals[b[0]] == nil {
			vals[b[0]] = &grp{}
		}
		vals[b[0]].x += float64(b[1])
		n1 += float64(b[1])
	}
	for _, b := range y {
		if vals[b[0]] == nil {
			vals[b[0]] = &grp{}
		}
		vals[b[0]].y += float64(b[1])
		n2 += float64(b[1])
	}
	if n1 < 1 || n2 < 1 {
		return 0, false
	}
	keys := make([]int64, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var rank, ry, ties float64
	for _, k := range keys {
		g := vals[k]
		t := g.x + g.y
		mid := rank + (t+1)/2
		ry += g.y * mid
		ties += t*t*t - t
		rank += t
	}
	n := n1 + n2
	u := ry - n2*(n2+1)/2
	mean := n1 * n2 / 2
	variance := n1 * n2 / 12 * ((n + 1) - ties/(n*(n-1)))
	if variance <= 0 {
		// Every value tied: no evidence either way.
		return 1, true
	}
	z := (u - mean - 0.5) / math.Sqrt(variance)
	return 1 - distuv.UnitNormal.CDF(z), true
}

// WriteTable prints the rows as an aligned table.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tMETRIC\tBASELINE\tCURRENT\tCHANGE\tLIMIT\tP-VALUE\tRESULT")
	for _, r := range rows {
		result := "ok"
		if r.Regressed {
			result = "REGRESSED"
		}
		if r.Note != "" {
			result += " (" + r.Note + ")"
		}
		if r.Metric == "—" {
			fmt.Fprintf(tw, "%s\t—\t—\t—\t—\t—\t—\t%s\n", r.Run, result)
			continue
		}
		change := "—"
		if r.Base != 0 {
			change = fmt.Sprintf("%+.1f%%", 100*(r.Current-r.Base)/r.Base)
		} else if r.Current != 0 {
			change = "new"
		}
		p := "—"
		if !math.IsNaN(r.PValue) {
			p = fmt.Sprintf("%.3g", r.PValue)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.4g\t%s\t%.4g\t%s\t%s\n", r.Run, r.Metric, r.Base, r.Current, change, r.Limit, p, result)
	}
	return tw.Flush()
}
