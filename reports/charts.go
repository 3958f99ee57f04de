package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// palette gives each policy the same colour in every chart of a report.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xff, 0x7f, 0x0e, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
}

func colour(i int) color.Color { return palette[i%len(palette)] }

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
	return p
}

// TimeSeriesChart draws, for each run with a series, three panels side by
// side: traffic, desired and ready pods, and p95 latency over time.
func TimeSeriesChart(s Scenario) ([]byte, error) {
	var rows [][]*plot.Plot
	for i, r := range s.Runs {
		if r.Err != "" || len(r.Series) == 0 {
			continue
		}
		traffic := newPlot(r.Name()+": traffic", "time (s)", "req/s")
		pods := newPlot(r.Name()+": pods", "time (s)", "pods")
		lat := newPlot(r.Name()+": p95 latency", "time (s)", "ms")
		var rps, desired, ready, p95 plotter.XYs
		for _, pt := range r.Series {
			if !math.IsNaN(pt.RPS) {
				rps = append(rps, plotter.XY{X: pt.T, Y: pt.RPS})
			}
			desired = append(desired, plotter.XY{X: pt.T, Y: pt.Desired})
			ready = append(ready, plotter.XY{X: pt.T, Y: pt.Ready})
			if !math.IsNaN(pt.LatencyP95) {
				p95 = append(p95, plotter.XY{X: pt.T, Y: pt.LatencyP95})
			}
		}
		if err := addLine(traffic, rps, "", color.Black, false); err != nil {
			return nil, err
		}
		if err := addLine(pods, desired, "desired", colour(i), true); err != nil {
			return nil, err
		}
		if err := addLine(pods, ready, "ready", colour(i), false); err != nil {
			return nil, err
		}
		pods.Legend.Top = true
		pods.Y.Min = 0
		traffic.Y.Min = 0
		if len(p95) > 0 {
			sc, err := plotter.NewScatter(p95)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle.Color = colour(i)
			sc.GlyphStyle.Radius = vg.Points(1.5)
			lat.Add(sc)
		}
		lat.Y.Min = 0
		rows = append(rows, []*plot.Plot{traffic, pods, lat})
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return svg(27*vg.Centimeter, vg.Length(len(rows))*5.5*vg.Centimeter, len(rows), 3, rows)
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
	p := newPlot("cold-start latency CDF", "latency (ms, log scale)", "fraction of cold starts")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	var none []string
	drawn := 0
	for i, r := range s.Runs {
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
		if err := addLine(p, pts, r.Name(), colour(i), false); err != nil {
			return nil, err
		}
		drawn++
	}
	if drawn == 0 {
		return nil, nil
	}
	if len(none) > 0 {
		p.Title.Text += fmt.Sprintf(" (no cold starts: %d run(s))", len(none))
	}
	p.Legend.Top = false
	p.Legend.Left = false
	return svg(16*vg.Centimeter, 10*vg.Centimeter, 1, 1, [][]*plot.Plot{{p}})
}

// CostChart places each run as a point: pod-seconds across, cold starts up.
// The best policies sit nearest the origin.
func CostChart(s Scenario) ([]byte, error) {
	p := newPlot("cost vs cold starts", "pod-seconds", "cold starts")
	var pts plotter.XYs
	var labels []string
	for i, r := range s.Runs {
		if r.Err != "" {
			continue
		}
		xy := plotter.XYs{{X: r.Summary.PodSeconds, Y: float64(r.Summary.ColdStarts)}}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = colour(i)
		sc.GlyphStyle.Radius = vg.Points(4)
		p.Add(sc)
		pts = append(pts, xy[0])
		labels = append(labels, r.Name())
	}
	if len(pts) == 0 {
		return nil, nil
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].XAlign = draw.XLeft
	}
	l.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(2)}
	p.Add(l)
	p.X.Min, p.Y.Min = 0, 0
	// Room on the right for the last label.
	maxX := 0.0
	for _, q := range pts {
		maxX = math.Max(maxX, q.X)
	}
	p.X.Max = math.Max(maxX*1.25, 1)
	p.Y.Max = math.Max(p.Y.Max*1.1, 1)
	return svg(16*vg.Centimeter, 10*vg.Centimeter, 1, 1, [][]*plot.Plot{{p}})
}
