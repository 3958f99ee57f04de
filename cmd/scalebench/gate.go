package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

// gateAlpha is the one-sided significance level of the Mann–Whitney test
// for measured runs: a 1% chance of failing CI on noise alone.
const gateAlpha = 0.01

const defaultMaxRegress = "cold_latency_ms.p95=10%,latency_ms.p99=10%,cold_start_ratio=10%,pod_seconds=10%,dropped=0"

func init() {
	var baseline, current, maxRegress string
	cmd := &cobra.Command{
		Use:   "gate --baseline OLD.json --current NEW.json",
		Short: "Fail when a summary.json regressed beyond the allowed bounds",
		Long: `gate compares two summary.json files — a single run from sim, load or run,
or a bench's multi-run summary — and exits 0 when every bounded metric is
within bounds, 1 with a table of what regressed, 2 for unusable input.

--max-regress takes metric=bound pairs: a percentage (10%) allows that much
growth over the baseline, a plain number that much absolute growth.

Simulated runs are deterministic, so their numbers are compared directly.
Measured runs (kind load or run) are noisy: a latency metric there counts as
regressed only when it exceeds its bound AND a one-sided Mann–Whitney U test
on the two latency histograms (normal approximation with tie correction)
finds the current distribution stochastically larger at alpha = 0.01.`,
		Example: `  scalebench gate --baseline main/summary.json --current pr/summary.json
  scalebench gate --baseline main/summary.json --current pr/summary.json \
      --max-regress 'cold_latency_ms.p95=10%,cold_start_ratio=10%'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if baseline == "" || current == "" {
				return badInput(errors.New("gate: --baseline and --current are required"))
			}
			bounds, err := parseBounds(maxRegress)
			if err != nil {
				return badInput(err)
			}
			base, err := readRuns(baseline)
			if err != nil {
				return badInput(err)
			}
			cur, err := readRuns(current)
			if err != nil {
				return badInput(err)
			}
			rows, failed := gate(base, cur, bounds)
			printGate(cmd.OutOrStdout(), rows)
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("gate: %d regression(s) beyond bounds", failed)}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "gate: within bounds")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&baseline, "baseline", "", "baseline summary.json")
	f.StringVar(&current, "current", "", "current summary.json")
	f.StringVar(&maxRegress, "max-regress", defaultMaxRegress, "allowed growth per metric: metric=10% or metric=absolute")
	root.AddCommand(cmd)
}

type bound struct {
	metric   string
	relative bool
	limit    float64
}

func parseBounds(s string) ([]bound, error) {
	var out []bound
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		m, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("--max-regress %q: want metric=10%% or metric=number", part)
		}
		m = strings.TrimSpace(m)
		if !knownGateMetric(m) {
			return nil, fmt.Errorf("--max-regress %q: unknown metric %q (known: %s)", part, m, strings.Join(scenarios.MetricNames(), ", "))
		}
		b := bound{metric: m}
		v = strings.TrimSpace(v)
		if p, isPct := strings.CutSuffix(v, "%"); isPct {
			b.relative, v = true, p
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("--max-regress %q: want a non-negative bound, got %q", part, v)
		}
		if b.relative {
			f /= 100
		}
		b.limit = f
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, errors.New("--max-regress: want at least one metric=bound")
	}
	return out, nil
}

func knownGateMetric(m string) bool {
	for _, k := range scenarios.MetricNames() {
		if k == m {
			return true
		}
	}
	return false
}

// readRuns reads either summary.json shape into a list of runs.
func readRuns(path string) ([]results.Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gate: %s: %v", path, errors.Unwrap(err))
	}
	var probe struct {
		Kind string            `json:"kind"`
		Runs []results.Summary `json:"runs"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("gate: %s: not a summary.json: %v", path, err)
	}
	switch probe.Kind {
	case "bench":
		if len(probe.Runs) == 0 {
			return nil, fmt.Errorf("gate: %s: bench summary with no runs", path)
		}
		return probe.Runs, nil
	case "sim", "load", "run":
		var s results.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("gate: %s: not a summary.json: %v", path, err)
		}
		return []results.Summary{s}, nil
	}
	return nil, fmt.Errorf("gate: %s: kind %q, want sim, load, run or bench", path, probe.Kind)
}

type gateRow struct {
	run, metric           string
	base, cur, limit      float64
	pValue                float64 // NaN when no test applies
	regressed, noBaseline bool
	note                  string
}

func runKey(s results.Summary) string {
	return s.Scenario + "/" + s.Policy + "@" + s.Backend
}

// gate pairs runs by scenario, policy and backend (a single run pairs with
// a single run whatever their names) and checks every bound.
func gate(base, cur []results.Summary, bounds []bound) ([]gateRow, int) {
	pairs := map[string]*results.Summary{}
	for i := range base {
		pairs[runKey(base[i])] = &base[i]
	}
	var rows []gateRow
	failed := 0
	for i := range cur {
		c := &cur[i]
		b := pairs[runKey(*c)]
		if b == nil && len(base) == 1 && len(cur) == 1 {
			b = &base[0]
		}
		name := strings.TrimSuffix(runKey(*c), "@")
		if b == nil {
			rows = append(rows, gateRow{run: name, metric: "—", noBaseline: true, pValue: math.NaN(), note: "no baseline run; not gated"})
			continue
		}
		delete(pairs, runKey(*b))
		for _, bd := range bounds {
			row := checkBound(b, c, bd)
			row.run = name
			if row.regressed {
				failed++
			}
			rows = append(rows, row)
		}
	}
	// A run that disappeared is a regression: a gate must not pass because
	// the scenario that would have failed it stopped running.
	var gone []string
	for k := range pairs {
		gone = append(gone, k)
	}
	sort.Strings(gone)
	for _, k := range gone {
		rows = append(rows, gateRow{run: k, metric: "—", regressed: true, pValue: math.NaN(), note: "run missing from current"})
		failed++
	}
	return rows, failed
}

func checkBound(b, c *results.Summary, bd bound) gateRow {
	bv, _ := scenarios.MetricValue(b, bd.metric)
	cv, _ := scenarios.MetricValue(c, bd.metric)
	row := gateRow{metric: bd.metric, base: bv, cur: cv, pValue: math.NaN()}
	if bd.relative {
		row.limit = bv * (1 + bd.limit)
	} else {
		row.limit = bv + bd.limit
	}
	row.regressed = cv > row.limit
	measured := c.Kind == "load" || c.Kind == "run"
	if !measured || !strings.Contains(bd.metric, "_ms.") {
		return row
	}
	hb, hc := b.LatencyHistogram, c.LatencyHistogram
	if strings.HasPrefix(bd.metric, "cold_") {
		hb, hc = b.ColdLatencyHistogram, c.ColdLatencyHistogram
	}
	p, ok := mannWhitneyGreater(hb, hc)
	if !ok {
		row.note = "no histograms; compared numbers only"
		return row
	}
	row.pValue = p
	if row.regressed && p >= gateAlpha {
		row.regressed = false
		row.note = fmt.Sprintf("over bound but not significant (p=%.3g >= %g)", p, gateAlpha)
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

func printGate(w io.Writer, rows []gateRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tMETRIC\tBASELINE\tCURRENT\tCHANGE\tLIMIT\tP-VALUE\tRESULT")
	for _, r := range rows {
		result := "ok"
		if r.regressed {
			result = "REGRESSED"
		}
		if r.note != "" {
			result += " (" + r.note + ")"
		}
		if r.metric == "—" {
			fmt.Fprintf(tw, "%s\t—\t—\t—\t—\t—\t—\t%s\n", r.run, result)
			continue
		}
		change := "—"
		if r.base != 0 {
			change = fmt.Sprintf("%+.1f%%", 100*(r.cur-r.base)/r.base)
		} else if r.cur != 0 {
			change = "new"
		}
		p := "—"
		if !math.IsNaN(r.pValue) {
			p = fmt.Sprintf("%.3g", r.pValue)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.4g\t%s\t%.4g\t%s\t%s\n", r.run, r.metric, r.base, r.cur, change, r.limit, p, result)
	}
	tw.Flush()
}
