package plan

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/results"
)

// annotation maps a KPA setting to its Knative per-revision annotation.
var annotation = map[string]string{
	"target":                             "autoscaling.knative.dev/target",
	"target-utilization-percentage":      "autoscaling.knative.dev/target-utilization-percentage",
	"stable-window":                      "autoscaling.knative.dev/window",
	"panic-window-percentage":            "autoscaling.knative.dev/panic-window-percentage",
	"panic-threshold-percentage":         "autoscaling.knative.dev/panic-threshold-percentage",
	"min-scale":                          "autoscaling.knative.dev/min-scale",
	"max-scale":                          "autoscaling.knative.dev/max-scale",
	"scale-to-zero-pod-retention-period": "autoscaling.knative.dev/scale-to-zero-pod-retention-period",
}

// Annotations renders settings as the Service template annotations a user
// pastes (kpa, knative), or as scalebench --set pairs for policies that are
// not Knative's.
func Annotations(policy string, settings map[string]string) string {
	keys := searchedKeys(settings)
	var b strings.Builder
	if policy != "kpa" && policy != "knative" {
		b.WriteString("# scalebench sim --policy " + policy)
		for _, k := range keys {
			fmt.Fprintf(&b, " --set %s=%s", k, settings[k])
		}
		b.WriteString("\n")
		return b.String()
	}
	b.WriteString("spec:\n  template:\n    metadata:\n      annotations:\n")
	for _, k := range keys {
		a, ok := annotation[k]
		if !ok {
			continue
		}
		if k == "scale-to-zero-pod-retention-period" && settings["min-scale"] != "0" {
			// With a floor of pods the revision never goes to zero.
			continue
		}
		fmt.Fprintf(&b, "        %s: %q\n", a, settings[k])
	}
	return b.String()
}

// searchedKeys are the settings a plan chose, without the ones it pins.
func searchedKeys(settings map[string]string) []string {
	var keys []string
	for k := range settings {
		if _, pinned := autoscaler.KPAExtensionsOff()[k]; !pinned {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// WriteText writes the plan as the table scalebench plan prints.
func WriteText(w io.Writer, p *Plan) error { return write(w, p, false) }

// WriteDir writes plan.json (every candidate evaluated) and plan.md (the
// report) into dir.
func WriteDir(dir string, p *Plan) error {
	if err := results.WriteJSON(filepath.Join(dir, "plan.json"), p); err != nil {
		return err
	}
	md, err := os.Create(filepath.Join(dir, "plan.md"))
	if err != nil {
		return err
	}
	if err := WriteMarkdown(md, p); err != nil {
		md.Close()
		return err
	}
	return md.Close()
}

// WriteMarkdown writes the plan as plan.md.
func WriteMarkdown(w io.Writer, p *Plan) error { return write(w, p, true) }

func write(w io.Writer, p *Plan, md bool) error {
	out := &report{md: md}
	dur := time.Duration(p.DurationSeconds * float64(time.Second))
	if md {
		out.line("# Capacity plan: %s under %s", p.Scenario, p.Policy)
		out.line("")
	} else {
		out.line("Capacity plan: %s under %s", p.Scenario, p.Policy)
	}
	out.line("Traffic %s for %v, seed %d. SLO: %s.", p.Traffic, dur, p.Seed, strings.Join(p.SLOs, ", "))
	out.line("%d simulations of a budget of %d; cost is %s.", p.Simulations, p.Budget, p.CostUnit)
	out.line("")
	if !p.Feasible {
		out.line("NO SETTING MEETS THE SLO. The closest candidates (largest relative excess over a bound first):")
		out.line("")
		out.candidates(p.Closest, p, true)
		return out.flush(w)
	}
	c := p.Choice
	out.heading("Cheapest settings that meet the SLO")
	rows := [][]string{{"setting", "value", "default"}}
	for _, k := range searchedKeys(c.Settings) {
		rows = append(rows, []string{k, c.Settings[k], p.Default.Settings[k]})
	}
	out.table(rows)
	out.line("")
	out.line("Cost %.1f %s over %v (the policy's defaults: %.1f, %s).", c.Cost, p.CostUnit, dur, p.Default.Cost, verdict(p.Default))
	out.line("Expected %.1f pod-hours per day at this traffic; peak %d pods.", p.PodHoursPerDay, p.PeakPods)
	out.line("")
	out.heading("Margin to each SLO")
	rows = [][]string{{"SLO", "value", "bound", "headroom"}}
	for _, m := range p.Margins {
		rows = append(rows, []string{m.Metric, num(m.Metric, m.Value), num(m.Metric, m.Max), headroom(m)})
	}
	out.table(rows)
	out.line("")
	if len(p.Scaling) > 0 {
		out.heading("As traffic grows")
		rows = [][]string{{"traffic", "settings", "meets SLO", p.CostUnit.String(), "cost ×", "pod-hours/day", "peak pods", "simulations"}}
		rows = append(rows, []string{"×1", "chosen", "yes", f1(c.Cost), "1.00", f1(p.PodHoursPerDay), strconv.Itoa(p.PeakPods), "-"})
		for _, s := range p.Scaling {
			set := "chosen"
			if s.Replanned {
				set = "re-planned: " + diff(c.Settings, s.Settings)
			}
			rows = append(rows, []string{"×" + strconv.FormatFloat(s.Factor, 'g', -1, 64), set, yes(s.Feasible), f1(s.Cost), fmt.Sprintf("%.2f", s.CostRatio), f1(s.PodHoursPerDay), strconv.Itoa(s.PeakPods), strconv.Itoa(s.Simulations)})
		}
		out.table(rows)
		out.line("")
	}
	out.heading("Annotations to paste")
	out.code(Annotations(p.Policy, c.Settings))
	out.line("")
	out.heading("Runners-up")
	var feasible []Candidate
	for _, c := range rankedCopy(p.Candidates) {
		if c.Feasible {
			feasible = append(feasible, c)
		}
	}
	out.candidates(feasible[:min(5, len(feasible))], p, false)
	return out.flush(w)
}

func (u CostUnit) String() string { return string(u) }

func verdict(c *Candidate) string {
	if c.Feasible {
		return "meets the SLO"
	}
	return "misses the SLO"
}

// diff lists the settings that changed from a to b.
func diff(a, b map[string]string) string {
	var out []string
	for _, k := range searchedKeys(b) {
		if a[k] != b[k] {
			out = append(out, k+"="+b[k])
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, " ")
}

func rankedCopy(cs []Candidate) []Candidate {
	s := &search{cands: cs}
	return s.ranked()
}

func (r *report) candidates(cs []Candidate, p *Plan, showExcess bool) {
	head := []string{"settings", p.CostUnit.String(), "peak pods"}
	for _, o := range p.SLOs {
		m, _, _ := strings.Cut(o, "<=")
		head = append(head, m)
	}
	if showExcess {
		head = append(head, "excess")
	}
	rows := [][]string{head}
	for _, c := range cs {
		row := []string{compact(c.Settings), f1(c.Cost), strconv.Itoa(c.MaxPods)}
		for _, o := range p.SLOs {
			m, _, _ := strings.Cut(o, "<=")
			row = append(row, num(m, c.Metrics[m]))
		}
		if showExcess {
			if c.Error != "" {
				row = append(row, "error: "+c.Error)
			} else {
				row = append(row, fmt.Sprintf("%+.0f%%", 100*c.Violation))
			}
		}
		rows = append(rows, row)
	}
	r.table(rows)
}

// compact abbreviates settings for a table cell.
func compact(s map[string]string) string {
	short := map[string]string{
		"target-utilization-percentage": "util", "stable-window": "window",
		"panic-threshold-percentage": "panic", "scale-to-zero-pod-retention-period": "retention",
		"min-scale": "min",
	}
	var parts []string
	for _, k := range searchedKeys(s) {
		n := k
		if v, ok := short[k]; ok {
			n = v
		}
		parts = append(parts, n+"="+s[k])
	}
	return strings.Join(parts, " ")
}

func num(metric string, v float64) string {
	if strings.Contains(metric, "_ms.") {
		return time.Duration(v * float64(time.Millisecond)).Round(100 * time.Microsecond).String()
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func headroom(m Margin) string {
	if m.Max > 0 {
		return fmt.Sprintf("%.0f%%", 100*m.Headroom)
	}
	return strconv.FormatFloat(m.Headroom, 'g', 4, 64)
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

// report renders lines and tables as aligned text or Markdown.
type report struct {
	md  bool
	buf strings.Builder
}

func (r *report) line(format string, a ...any) {
	fmt.Fprintf(&r.buf, format+"\n", a...)
}

func (r *report) heading(s string) {
	if r.md {
		r.line("## %s\n", s)
		return
	}
	r.line("%s:", s)
}

func (r *report) code(s string) {
	if r.md {
		r.line("```yaml\n%s```", s)
		return
	}
	r.buf.WriteString(s)
}

func (r *report) table(rows [][]string) {
	if r.md {
		for i, row := range rows {
			r.line("| %s |", strings.Join(row, " | "))
			if i == 0 {
				r.line("|%s", strings.Repeat("---|", len(row)))
			}
		}
		return
	}
	tw := tabwriter.NewWriter(&r.buf, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintln(tw, "  "+strings.Join(row, "\t"))
	}
	tw.Flush()
}

func (r *report) flush(w io.Writer) error {
	_, err := io.WriteString(w, r.buf.String())
	return err
}
