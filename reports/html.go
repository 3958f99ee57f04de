package reports

import (
	"bytes"
	"fmt"
	"html/template"
)

// section ids the HTML report always has for every scenario; the browser
// test checks each is present.
const (
	SectionVerdict = "verdict"
	SectionTable   = "table"
	SectionSeries  = "timeseries"
	SectionPods    = "pods"
	SectionCDF     = "cold-cdf"
	SectionCost    = "cost"
)

// Sections lists the per-scenario section ids in page order.
var Sections = []string{SectionVerdict, SectionTable, SectionSeries, SectionPods, SectionCDF, SectionCost}

// TopSections are the report-wide section ids, before the scenarios.
var TopSections = []string{"summary", "how-to-read", "setup"}

type htmlScenario struct {
	Scenario
	ID         string
	Verdict    []string
	Rows       [][]string
	Legend     []legendEntry
	Series     template.HTML
	RealSeries template.HTML
	Pods       template.HTML
	Rollout    template.HTML
	CDF        template.HTML
	Cost       template.HTML
}

type legendEntry struct{ Name, Colour string }

// HTML renders the report as one self-contained page: inline CSS and inline
// SVG charts, no scripts, no external assets, so it opens offline and can be
// attached to a CI run as a single file.
func HTML(s Suite) ([]byte, error) {
	var scs []htmlScenario
	for i, sc := range s.Scenarios {
		h := htmlScenario{Scenario: sc, ID: fmt.Sprintf("s%d", i), Verdict: Verdict(sc)}
		seen := map[string]bool{}
		for _, r := range sc.Runs {
			h.Rows = append(h.Rows, row(sc, r))
			if !seen[r.Label] {
				seen[r.Label] = true
				h.Legend = append(h.Legend, legendEntry{r.Label, CSSColour(r.Label)})
			}
		}
		for _, c := range []struct {
			draw func(Scenario) ([]byte, error)
			dst  *template.HTML
		}{{TimeSeriesChart, &h.Series}, {RealTimeSeriesChart, &h.RealSeries}, {PodsChart, &h.Pods}, {RolloutChart, &h.Rollout}, {ColdCDFChart, &h.CDF}, {CostChart, &h.Cost}} {
			svg, err := c.draw(sc)
			if err != nil {
				return nil, fmt.Errorf("scenario %s: chart: %w", sc.Name, err)
			}
			// The SVG comes from gonum/plot, not from user input, so it is
			// safe to inline unescaped.
			*c.dst = template.HTML(svg)
		}
		scs = append(scs, h)
	}
	var scores [][]string
	for _, p := range PolicyScores(s) {
		scores = append(scores, p.cells())
	}
	var b bytes.Buffer
	err := page.Execute(&b, map[string]any{
		"Suite": s, "Scenarios": scs, "Columns": columns, "Overview": Overviews(s),
		"OverviewColumns": overviewColumns, "Scores": scores, "ScoreColumns": scoreColumns, "HowToRead": HowToRead,
	})
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{"css": func(s string) template.CSS { return template.CSS(s) }}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Suite.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}
h2{margin-top:3rem;border-bottom:1px solid #aaa}
nav ul{columns:4}
table{border-collapse:collapse;font-size:.85rem;margin:1rem 0;display:block;overflow-x:auto}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{background:#f0f0f0}
table.text td,table.text th{text-align:left;white-space:normal}
.note{background:#fff8e0;border-left:4px solid #e0b000;padding:.5rem 1rem}
.verdict li{margin:.25rem 0}
.verdict li:first-child{font-weight:600}
.legend span{display:inline-block;margin-right:1.2rem;font-size:.9rem}
.legend i{display:inline-block;width:1.6rem;height:.3rem;vertical-align:middle;margin-right:.35rem}
figure{margin:1rem 0}
figure svg{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#555}
.empty{color:#777;font-style:italic}
code{background:#f4f4f4;padding:0 .2rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}
dd{margin:0}
</style>
</head>
<body>
<h1>{{.Suite.Title}}</h1>
{{range .Suite.Notes}}<p class="note">{{.}}</p>
{{end}}
<section id="summary"><h2>Summary</h2>
<p>The winner of each scenario on each count; the details, charts and caveats follow per scenario.</p>
<table class="text"><thead><tr>{{range .OverviewColumns}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Overview}}<tr><td>{{.Scenario}}</td><td>{{.Pick}}</td><td>{{.FewestCold}}</td><td>{{.LowestP99}}</td><td>{{.Cheapest}}</td></tr>
{{end}}</tbody></table>
<p>Each policy across all scenarios:</p>
<table><thead><tr>{{range .ScoreColumns}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Scores}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>
</section>
<section id="how-to-read"><h2>How to read this report</h2><ul>
{{range .HowToRead}}<li>{{.}}</li>
{{end}}</ul></section>
<section id="setup"><h2>What was run</h2>
<dl>{{range .Suite.Setup}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>
{{end}}</dl>
{{if .Suite.Policies}}<table class="text"><thead><tr><th>policy</th><th>what it models</th><th>settings</th></tr></thead><tbody>
{{range .Suite.Policies}}<tr><td>{{.Label}}</td><td>{{.Summary}}</td><td>{{if .Settings}}<code>{{.Settings}}</code>{{else}}defaults{{end}}</td></tr>
{{end}}</tbody></table>{{end}}
<table class="text"><thead><tr><th>scenario</th><th>run</th><th>traffic</th></tr></thead><tbody>
{{range .Scenarios}}<tr><td><a href="#{{.ID}}">{{.Name}}</a></td><td>{{.Setup}}</td><td><code>{{.Traffic}}</code></td></tr>
{{end}}</tbody></table>
</section>
{{range .Scenarios}}{{$id := .ID}}<section id="{{.ID}}" class="scenario">
<h2>{{.Name}}</h2>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Setup}}<p>{{.Setup}}.</p>{{end}}
<section id="{{$id}}-verdict" class="verdict"><h3>Verdict</h3><ul>
{{range .Verdict}}<li>{{.}}</li>
{{end}}</ul></section>
<section id="{{$id}}-table"><h3>Comparison</h3>
<table><thead><tr>{{range $.Columns}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table></section>
<p class="legend">{{range .Legend}}<span><i style="background:{{css .Colour}}"></i>{{.Name}}</span>{{end}}</p>
<section id="{{$id}}-timeseries"><h3>Traffic, pods, latency and cold starts over time</h3>
{{if .Series}}<figure>{{.Series}}<figcaption>Simulated runs. Traffic is the same for every policy; each line is one policy in its colour.</figcaption></figure>{{else}}<p class="empty">No simulated run recorded a time series.</p>{{end}}
{{if .RealSeries}}<figure>{{.RealSeries}}<figcaption>Real runs on the local platform, measured by the load generator (traffic, latency and cold starts by arrival time) and the autoscaler's ticks (pods). They cover only the start of the scenario.</figcaption></figure>{{end}}</section>
<section id="{{$id}}-pods"><h3>Desired and ready pods per policy</h3>
{{if .Pods}}<figure>{{.Pods}}<figcaption>Desired (dashed) is what the policy asked for, ready (solid) what was serving; the gap is start-up lag.</figcaption></figure>{{else}}<p class="empty">No run recorded a time series.</p>{{end}}</section>
{{if .Rollout}}<section id="{{$id}}-rollout"><h3>Pods per revision and the traffic split</h3>
<figure>{{.Rollout}}<figcaption>Per run: ready pods of each revision (upper panel, solid) over the route's share of each revision (lower panel, dashed, same colours). The title counts the cold starts in revisions created after the start.</figcaption></figure></section>{{end}}
<section id="{{$id}}-cold-cdf"><h3>Cold-start latency CDF</h3>
{{if .CDF}}<figure>{{.CDF}}<figcaption>Left and steep is better: the share of cold-started requests answered within a given latency.</figcaption></figure>{{else}}<p class="empty">No run had a cold start.</p>{{end}}</section>
<section id="{{$id}}-cost"><h3>Cost vs cold starts</h3>
{{if .Cost}}<figure>{{.Cost}}<figcaption>Bottom left is better. Policies with (nearly) identical results share a point and a label.</figcaption></figure>{{else}}<p class="empty">No run completed.</p>{{end}}</section>
</section>
{{end}}</body>
</html>
`))
