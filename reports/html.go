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
	SectionCDF     = "cold-cdf"
	SectionCost    = "cost"
)

// Sections lists the per-scenario section ids in page order.
var Sections = []string{SectionVerdict, SectionTable, SectionSeries, SectionCDF, SectionCost}

type htmlScenario struct {
	Scenario
	ID      string
	Verdict []string
	Rows    [][]string
	Series  template.HTML
	CDF     template.HTML
	Cost    template.HTML
}

// HTML renders the report as one self-contained page: inline CSS and inline
// SVG charts, no scripts, no external assets, so it opens offline and can be
// attached to a CI run as a single file.
func HTML(s Suite) ([]byte, error) {
	var scs []htmlScenario
	for i, sc := range s.Scenarios {
		h := htmlScenario{Scenario: sc, ID: fmt.Sprintf("s%d", i), Verdict: Verdict(sc)}
		for _, r := range sc.Runs {
			h.Rows = append(h.Rows, row(sc, r))
		}
		for _, c := range []struct {
			draw func(Scenario) ([]byte, error)
			dst  *template.HTML
		}{{TimeSeriesChart, &h.Series}, {ColdCDFChart, &h.CDF}, {CostChart, &h.Cost}} {
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
	var b bytes.Buffer
	err := page.Execute(&b, map[string]any{"Suite": s, "Scenarios": scs, "Columns": columns})
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Suite.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222;line-height:1.4}
h1{border-bottom:2px solid #444}
h2{margin-top:3rem;border-bottom:1px solid #aaa}
nav ul{columns:2}
table{border-collapse:collapse;font-size:.85rem;margin:1rem 0;display:block;overflow-x:auto}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{background:#f0f0f0}
.note{background:#fff8e0;border-left:4px solid #e0b000;padding:.5rem 1rem}
.verdict li{margin:.25rem 0}
figure{margin:1rem 0}
figure svg{max-width:100%;height:auto}
.empty{color:#777;font-style:italic}
code{background:#f4f4f4;padding:0 .2rem}
</style>
</head>
<body>
<h1>{{.Suite.Title}}</h1>
{{range .Suite.Notes}}<p class="note">{{.}}</p>
{{end}}<nav><ul>
{{range .Scenarios}}<li><a href="#{{.ID}}">{{.Name}}</a></li>
{{end}}</ul></nav>
{{range .Scenarios}}{{$id := .ID}}<section id="{{.ID}}" class="scenario">
<h2>{{.Name}}</h2>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Traffic}}<p>Traffic: <code>{{.Traffic}}</code></p>{{end}}
<section id="{{$id}}-verdict" class="verdict"><h3>Verdict</h3><ul>
{{range .Verdict}}<li>{{.}}</li>
{{end}}</ul></section>
<section id="{{$id}}-table"><h3>Comparison</h3>
<table><thead><tr>{{range $.Columns}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table></section>
<section id="{{$id}}-timeseries"><h3>Traffic, pods and latency over time</h3>
{{if .Series}}<figure>{{.Series}}</figure>{{else}}<p class="empty">No run recorded a time series.</p>{{end}}</section>
<section id="{{$id}}-cold-cdf"><h3>Cold-start latency CDF</h3>
{{if .CDF}}<figure>{{.CDF}}</figure>{{else}}<p class="empty">No run had a cold start.</p>{{end}}</section>
<section id="{{$id}}-cost"><h3>Cost vs cold starts</h3>
{{if .Cost}}<figure>{{.Cost}}</figure>{{else}}<p class="empty">No run completed.</p>{{end}}</section>
</section>
{{end}}</body>
</html>
`))
