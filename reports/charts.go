package reports

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// palette gives each policy the same colour in every chart of every
// report: the built-in policies have fixed slots, other labels share the
// rest by name, so "kpa" is blue whichever scenario or run order.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0x17, 0xbe, 0xcf, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xff, 0x7f, 0x0e, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff},
	{0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff},
}

var fixedColour = map[string]int{"kpa": 0, "knative": 1, "hpa": 2, "openfaas-ce": 3, "openfaas-pro": 4, "keepalive": 5}

// PolicyColour is the colour of a policy label in every chart.
func PolicyColour(label string) color.RGBA {
	if i, ok := fixedColour[label]; ok {
		return palette[i]
	}
	h := fnv.New32a()
	h.Write([]byte(label))
	rest := len(palette) - len(fixedColour)
	return palette[len(fixedColour)+int(h.Sum32()%uint32(rest))]
}

// CSSColour is PolicyColour for the HTML legend.
func CSSColour(label string) string {
	c := PolicyColour(label)
	return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B)
}

// svg renders plots into one SVG, rows × cols tiles.
func svg(w, h vg.Length, rows, cols int, plots [][]*plot.Plot) ([]byte, error) {
	c := vgsvg.New(w, h)
	dc := draw.New(c)
	t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, t, dc)
	for r := range plots {
		for col, p := range plots[r] {
			if p != nil {
				p.Draw(canvases[r][col])
			}
		}
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return stripProlog(buf.Bytes()), nil
}

// stripProlog drops the XML declaration and doctype so the SVG can sit
// inline in HTML.
func stripProlog(b []byte) []byte {
	if i := bytes.Index(b, []byte("<svg")); i > 0 {
		return b[i:]
	}
	return b
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	return p
}

// plainTicks are gonum's default ticks labelled without trailing zeros:
// "50", not "50.00", on a pod or request axis.
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
		}
	}
	return ts
}

// timeAxis picks the unit of a run's time axis: minutes once a run is
// long enough that seconds would be four-digit tick labels.
func timeAxis(runs []Run) (label string, div float64) {
	longest := 0.0
	for _, r := range runs {
		if n := len(r.Series); n > 0 {
			longest = math.Max(longest, r.Series[n-1].T)
		}
	}
	if longest >= 600 {
		return "time (min)", 60
	}
	return "time (s)", 1
}

// seriesRuns are a backend's runs that have a series, in report order.
func seriesRuns(s Scenario, real bool) []Run {
	var out []Run
	for _, r := range s.Runs {
		if r.Err != "" || len(r.Series) == 0 || isSim(r) == real {
			continue
		}
		out = append(out, r)
	}
	return out
}

func isSim(r Run) bool { return r.Backend == "" || r.Backend == "sim" || r.Backend == "simulator" }

// TimeSeriesChart draws the simulated runs over time as four stacked panels
// sharing the time axis, one line per policy in its colour: traffic, ready
// pods, p95 latency (log scale: a cold start and a warm request differ by a
// decade or more) and cold starts. The runs share the scenario's traffic,
// so it is drawn once.
func TimeSeriesChart(s Scenario) ([]byte, error) { return overTime(seriesRuns(s, false), true) }

// RealTimeSeriesChart is TimeSeriesChart for the runs on a real backend,
// whose measured traffic differs run by run and whose time axis is the
// (shorter) real run's.
func RealTimeSeriesChart(s Scenario) ([]byte, error) { return overTime(seriesRuns(s, true), false) }

func overTime(runs []Run, sharedTraffic bool) ([]byte, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	xl, div := timeAxis(runs)
	traffic := newPlot("traffic (arrivals)", "", "requests/s")
	pods := newPlot("ready pods", "", "pods")
	lat := newPlot("p95 latency of the requests arriving in each interval", "", "ms (log scale)")
	cold := newPlot("cold starts so far", xl, "cold starts (cumulative)")
	lat.Y.Scale = plot.LogScale{}
	lat.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	minLat, maxLat, maxT := math.Inf(1), 0.0, 0.0
	for k, r := range runs {
		c := PolicyColour(r.Label)
		var rps, ready, p95, cs plotter.XYs
		var total int64
		for _, pt := range r.Series {
			x := pt.T / div
			if !math.IsNaN(pt.RPS) {
				rps = append(rps, plotter.XY{X: x, Y: pt.RPS})
			}
			ready = append(ready, plotter.XY{X: x, Y: pt.Ready})
			if !math.IsNaN(pt.LatencyP95) && pt.LatencyP95 > 0 {
				p95 = append(p95, plotter.XY{X: x, Y: pt.LatencyP95})
				minLat, maxLat = math.Min(minLat, pt.LatencyP95), math.Max(maxLat, pt.LatencyP95)
			}
			total += pt.Cold
			cs = append(cs, plotter.XY{X: x, Y: float64(total)})
			maxT = math.Max(maxT, x)
		}
		if !sharedTraffic || k == 0 {
			tc := color.Color(c)
			if sharedTraffic {
				tc = color.Black
			}
			if err := addLine(traffic, rps, "", tc, false); err != nil {
				return nil, err
			}
		}
		for _, l := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{pods, ready}, {lat, p95}, {cold, cs}} {
			if err := addLine(l.p, l.xys, "", c, false); err != nil {
				return nil, err
			}
		}
	}
	traffic.Y.Min, pods.Y.Min, cold.Y.Min = 0, 0, 0
	for _, p := range []*plot.Plot{traffic, pods, lat, cold} {
		p.X.Min, p.X.Max = 0, maxT
	}
	if maxLat > 0 {
		// Whole decades, so the log ticks always have labels.
		lat.Y.Min = math.Pow(10, math.Floor(math.Log10(minLat)))
		lat.Y.Max = math.Pow(10, math.Ceil(math.Log10(maxLat*1.01)))
	} else {
		lat.Y.Scale, lat.Y.Tick.Marker = plot.LinearScale{}, plot.DefaultTicks{}
		lat.Title.Text += " (nothing completed)"
	}
	rows := [][]*plot.Plot{{traffic}, {pods}, {lat}, {cold}}
	return svg(26*vg.Centimeter, 4*5*vg.Centimeter, len(rows), 1, rows)
}

// PodsChart draws desired (dashed) and ready (solid) pods per run, one small
// panel each: the gap between them is the start-up lag a policy pays.
func PodsChart(s Scenario) ([]byte, error) {
	var runs []Run
	for _, r := range s.Runs {
		if r.Err == "" && len(r.Series) > 0 {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return nil, nil
	}
	const cols = 3
	nrows := (len(runs) + cols - 1) / cols
	rows := make([][]*plot.Plot, nrows)
	for i := range rows {
		rows[i] = make([]*plot.Plot, cols)
	}
	for i, r := range runs {
		xl, div := timeAxis([]Run{r})
		p := newPlot(r.Name(), xl, "pods")
		var desired, ready plotter.XYs
		for _, pt := range r.Series {
			desired = append(desired, plotter.XY{X: pt.T / div, Y: pt.Desired})
			ready = append(ready, plotter.XY{X: pt.T / div, Y: pt.Ready})
		}
		c := PolicyColour(r.Label)
		// The caption says which line is which: a legend in a panel this
		// small covers the lines.
		if err := addLine(p, desired, "", c, true); err != nil {
			return nil, err
		}
		if err := addLine(p, ready, "", c, false); err != nil {
			return nil, err
		}
		p.Y.Min = 0
		rows[i/cols][i%cols] = p
	}
	// Empty tiles of the last row get blank plots so the grid aligns.
	for i := len(runs); i < nrows*cols; i++ {
		p := plot.New()
		p.HideAxes()
		rows[i/cols][i%cols] = p
	}
	return svg(26*vg.Centimeter, vg.Length(nrows)*5.5*vg.Centimeter, nrows, cols, rows)
}

func addLine(p *plot.Plot, xys plotter.XYs, name string, c color.Color, dashed bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
	}
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
	return nil
}

// CDF returns the cumulative distribution of a summary histogram as
// (milliseconds, fraction) points, one per bucket.
func CDF(buckets [][2]int64) plotter.XYs {
	var total int64
	for _, b := range buckets {
		total += b[1]
	}
	if total == 0 {
		return nil
	}
	out := make(plotter.XYs, 0, len(buckets)+1)
	var cum int64
	for _, b := range buckets {
		cum += b[1]
		out = append(out, plotter.XY{X: float64(b[0]) / 1000, Y: float64(cum) / float64(total)})
	}
	return out
}

// ColdCDFChart draws each run's cold-start latency CDF; runs with no cold
// starts have no curve and are named in the title instead.
func ColdCDFChart(s Scenario) ([]byte, error) {
	p := newPlot("cold-start latency CDF", "latency of requests that met a cold start (ms, log scale)", "fraction of cold starts")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	var none []string
	drawn := 0
	for _, r := range s.Runs {
		if r.Err != "" {
			continue
		}
		pts := CDF(r.Summary.ColdLatencyHistogram)
		if len(pts) == 0 {
			none = append(none, r.Name())
			continue
		}
		// Log scales reject zero; the histogram floor is 1 µs anyway.
		for j := range pts {
			pts[j].X = math.Max(pts[j].X, 0.001)
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.Color = PolicyColour(r.Label)
		l.Width = vg.Points(1.5)
		if !isSim(r) {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(l)
		p.Legend.Add(r.Name(), l)
		drawn++
	}
	if drawn == 0 {
		return nil, nil
	}
	if len(none) > 0 {
		p.Title.Text += " (no cold starts: " + strings.Join(none, ", ") + ")"
	}
	p.Legend.Top = false
	p.Legend.Left = false
	return svg(16*vg.Centimeter, 10*vg.Centimeter, 1, 1, [][]*plot.Plot{{p}})
}

// CostChart places each run as a point: pod-seconds across, cold starts
// up; the best policies sit nearest the bottom left. Only the runs the
// verdict compares are drawn (the simulated ones when there are any), as a
// real run covers a shorter stretch and its pod-seconds are not comparable.
// Runs landing on the same spot share one point and one label.
func CostChart(s Scenario) ([]byte, error) {
	runs := sameBackend(s.okRuns())
	if len(runs) == 0 {
		return nil, nil
	}
	p := newPlot("cost vs cold starts", "pod-seconds (cost)", "cold starts")
	type spot struct {
		xy     plotter.XY
		labels []string
	}
	var spots []*spot
	minX, maxX, maxY := math.Inf(1), 0.0, 0.0
	for _, r := range runs {
		minX, maxX = math.Min(minX, r.Summary.PodSeconds), math.Max(maxX, r.Summary.PodSeconds)
		maxY = math.Max(maxY, float64(r.Summary.ColdStarts))
	}
	logX := minX > 0 && maxX/minX > 10
	// Points within 2% of the axes' spans of each other would print their
	// labels over one another, so they share one label.
	near := func(a, b plotter.XY) bool {
		dx := math.Abs(a.X-b.X) / math.Max(maxX-minX, 1e-9)
		if logX {
			dx = math.Abs(math.Log10(a.X/b.X)) / math.Log10(maxX/minX)
		}
		return dx < 0.02 && math.Abs(a.Y-b.Y) <= 0.02*math.Max(maxY, 1)
	}
	for _, r := range runs {
		xy := plotter.XY{X: r.Summary.PodSeconds, Y: float64(r.Summary.ColdStarts)}
		sc, err := plotter.NewScatter(plotter.XYs{xy})
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = PolicyColour(r.Label)
		sc.GlyphStyle.Radius = vg.Points(5)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
		var at *spot
		for _, o := range spots {
			if near(o.xy, xy) {
				at = o
			}
		}
		if at == nil {
			at = &spot{xy: xy}
			spots = append(spots, at)
		}
		at.labels = append(at.labels, r.Name())
	}
	var xys plotter.XYs
	var labels []string
	for _, o := range spots {
		xys = append(xys, o.xy)
		labels = append(labels, strings.Join(o.labels, " ≈ "))
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].XAlign = draw.XLeft
	}
	l.Offset = vg.Point{X: vg.Points(7), Y: vg.Points(2)}
	p.Add(l)
	p.Y.Min = 0
	p.Y.Max = math.Max(p.Y.Max*1.1, 1)
	if logX {
		// Policies' costs span decades (keep-alive against scale-to-zero),
		// so a linear axis would pile the cheap ones onto the origin.
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.X.Label.Text = "pod-seconds (cost, log scale)"
		p.X.Min = math.Pow(10, math.Floor(math.Log10(minX)))
		p.X.Max = math.Pow(10, math.Ceil(math.Log10(maxX*3)))
	} else {
		p.X.Min = 0
		// Room on the right for the last label.
		p.X.Max = math.Max(maxX*1.3, 1)
	}
	return svg(18*vg.Centimeter, 11*vg.Centimeter, 1, 1, [][]*plot.Plot{{p}})
}
