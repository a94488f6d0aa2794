package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// Every chart's title says what it shows, then on its own lines the
// machine, the commit and the command that produced it.

var (
	blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	grey   = color.RGBA{R: 120, G: 120, B: 120, A: 255}
)

// caption is the lines under a chart's title: the machine, the commit and
// the command, wrapped.
func (r *results) caption(command string) string {
	return fmt.Sprintf("%s; load %s\ncommit %s, %s\n%s", r.Env["machine"], r.Env["load"], r.Env["commit"], r.Env["date"], wrap(command, 120))
}

// wrap breaks s at spaces into lines of at most width bytes.
func wrap(s string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}

func newPlot(title, caption, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title + "\n" + caption
	p.Title.TextStyle.Font.Size = vg.Points(9)
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

// addLine adds a line with points named name.
func addLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashed bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color, pts.Color = c, c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	pts.Shape = draw.CircleGlyph{}
	p.Add(l, pts)
	p.Legend.Add(name, l, pts)
	return nil
}

// logTicks labels a log axis with round values.
type logTicks struct{ unit func(float64) string }

func (t logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < min*0.999 || v > max*1.001 {
				continue
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: t.unit(v)})
		}
	}
	return ticks
}

func plain(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%g", v), ".0") }

// ackVsRate draws the sweep: acknowledgement p50 and p99 against the
// offered rate.
func (r *results) ackVsRate(path string, rep *load.Report, command string) error {
	p := newPlot("Acknowledgement latency against offered rate (open loop)", r.caption(command),
		"offered rate (events/s)", "acknowledgement latency (ms, log scale)")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{unit: plain}
	var p50, p99, sat plotter.XYs
	for _, pt := range rep.Sweep {
		p50 = append(p50, plotter.XY{X: pt.Offered, Y: math.Max(pt.HTTP.Latency.P50, 0.1)})
		p99 = append(p99, plotter.XY{X: pt.Offered, Y: math.Max(pt.HTTP.Latency.P99, 0.1)})
		if pt.Saturated {
			sat = append(sat, plotter.XY{X: pt.Offered, Y: math.Max(pt.HTTP.Latency.P99, 0.1)})
		}
	}
	if err := addLine(p, "p50", p50, blue, false); err != nil {
		return err
	}
	if err := addLine(p, "p99", p99, orange, false); err != nil {
		return err
	}
	if len(sat) > 0 {
		s, err := plotter.NewScatter(sat)
		if err != nil {
			return err
		}
		s.Shape = draw.CrossGlyph{}
		s.Radius = vg.Points(6)
		s.Color = color.Black
		p.Add(s)
		p.Legend.Add("saturated (answers < 90% of offered, or > 1% not 200)", s)
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// bySize draws, side by side, the end-to-end rate and the acknowledgement
// latency against the body size.
func (r *results) bySize(path string, reps []*load.Report, command string) error {
	slices.SortFunc(reps, func(a, b *load.Report) int { return a.BodyBytes - b.BodyBytes })
	sizeTicks := logTicks{unit: func(v float64) string {
		switch {
		case v >= 1<<20:
			return plain(v/(1<<20)) + " MiB"
		case v >= 1<<10:
			return plain(v/(1<<10)) + " KiB"
		}
		return plain(v) + " B"
	}}
	// Powers of 4 from 1 KiB: the sizes measured.
	sizeTicks2 := plot.TickerFunc(func(min, max float64) []plot.Tick {
		var t []plot.Tick
		for v := 1024.0; v <= max*1.001; v *= 4 {
			if v >= min*0.999 {
				t = append(t, plot.Tick{Value: v, Label: sizeTicks.unit(v)})
			}
		}
		return t
	})
	rate := newPlot("End to end against body size", r.caption(command), "body size (log scale)", "completed events/s")
	ack := newPlot("Acknowledgement against body size", r.caption(command), "body size (log scale)", "acknowledgement latency (ms, log scale)")
	for _, p := range []*plot.Plot{rate, ack} {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = sizeTicks2
	}
	ack.Y.Scale = plot.LogScale{}
	ack.Y.Tick.Marker = logTicks{unit: plain}
	var completed, p50, p99 plotter.XYs
	for _, rep := range reps {
		x := float64(rep.BodyBytes)
		if rep.E2E != nil {
			completed = append(completed, plotter.XY{X: x, Y: rep.E2E.Rate})
		}
		p50 = append(p50, plotter.XY{X: x, Y: math.Max(rep.HTTP.Latency.P50, 0.1)})
		p99 = append(p99, plotter.XY{X: x, Y: math.Max(rep.HTTP.Latency.P99, 0.1)})
	}
	if err := addLine(rate, "completed/s", completed, blue, false); err != nil {
		return err
	}
	rate.Y.Min = 0
	rate.Legend.Top, rate.Legend.Left = false, false
	if err := addLine(ack, "p50", p50, blue, false); err != nil {
		return err
	}
	if err := addLine(ack, "p99", p99, orange, false); err != nil {
		return err
	}
	return saveTiles(path, 12*vg.Inch, 5*vg.Inch, rate, ack)
}

// rss draws the server's and the worker's resident memory against the
// events processed: answered for the server, completed for the worker.
func (r *results) rss(path string, rep *load.Report, command string) error {
	p := newPlot("Resident memory against events processed", r.caption(command),
		"events (server: answered; worker: completed)", "RSS (MiB)")
	var server, worker plotter.XYs
	for _, s := range rep.RSS {
		if v, ok := s.RSSMiB["server"]; ok {
			server = append(server, plotter.XY{X: float64(s.Answered), Y: v})
		}
		if v, ok := s.RSSMiB["worker"]; ok && s.Closed >= 0 {
			worker = append(worker, plotter.XY{X: float64(s.Closed), Y: v})
		}
	}
	if err := addLine(p, "server", dedupe(server), blue, false); err != nil {
		return err
	}
	if err := addLine(p, "worker", dedupe(worker), orange, false); err != nil {
		return err
	}
	limit := plotter.NewFunction(func(float64) float64 { return 64 })
	limit.Color, limit.Dashes = grey, []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(limit)
	p.Legend.Add("64 MiB (the server's goal)", limit)
	p.Y.Min = 0
	p.Y.Max = math.Max(p.Y.Max, 70)
	p.Legend.Top, p.Legend.Left = false, false
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// dedupe keeps the last sample of each x (the counts stand still while a
// phase waits), so the line does not draw vertical strokes of noise.
func dedupe(xys plotter.XYs) plotter.XYs {
	var out plotter.XYs
	for _, xy := range xys {
		if n := len(out); n > 0 && out[n-1].X == xy.X {
			out[n-1] = xy
			continue
		}
		out = append(out, xy)
	}
	return out
}

// saveTiles draws plots side by side into one PNG.
func saveTiles(path string, w, h vg.Length, plots ...*plot.Plot) error {
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
