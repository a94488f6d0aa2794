package main

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// Every chart's title says what it shows, then the machine, its load, the
// commit and the date of the run that produced it.

var (
	blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	grey   = color.RGBA{R: 120, G: 120, B: 120, A: 255}
)

func (r *results) newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s\n%s; load %s\ncommit %s, %s", title, r.env["machine"], r.env["load"], r.env["commit"], r.env["date"])
	p.Title.TextStyle.Font.Size = vg.Points(9)
	p.X.Label.Text, p.Y.Label.Text = x, y
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// save writes p as the chart called name.
func (r *results) save(p *plot.Plot, name string) error {
	return p.Save(8*vg.Inch, 5*vg.Inch, r.charts+"-"+name+".png")
}

// addLine adds a line with points named name; dashed without points.
func addLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashed bool) error {
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color, pts.Color, l.Width, pts.Shape = c, c, vg.Points(1.5), draw.CircleGlyph{}
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	p.Add(l, pts)
	p.Legend.Add(name, l, pts)
	return nil
}

// logTicks labels a log axis with round values (1, 2, 5 × 10^n).
type logTicks struct{ unit func(float64) string }

func (t logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, e); v >= min*0.999 && v <= max*1.001 {
				ticks = append(ticks, plot.Tick{Value: v, Label: t.unit(v)})
			}
		}
	}
	return ticks
}

func plain(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%g", v), ".0") }

// latencyLines adds the p50 and p99 of phases against x, on a log scale.
func latencyLines(p *plot.Plot, x []float64, phases []load.PhaseSummary) error {
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{unit: plain}
	var p50, p99 plotter.XYs
	for i, s := range phases {
		p50 = append(p50, plotter.XY{X: x[i], Y: math.Max(s.Latency.P50, 0.1)})
		p99 = append(p99, plotter.XY{X: x[i], Y: math.Max(s.Latency.P99, 0.1)})
	}
	if err := addLine(p, "p50", p50, blue, false); err != nil {
		return err
	}
	return addLine(p, "p99", p99, orange, false)
}

// ackVsRate draws the sweep: acknowledgement p50 and p99 against the
// offered rate.
func (r *results) ackVsRate(reps []*load.Report) error {
	p := r.newPlot("Acknowledgement latency against offered rate (open loop)", "offered rate (events/s)", "acknowledgement latency (ms, log scale)")
	var x []float64
	var phases []load.PhaseSummary
	for _, rep := range reps {
		x, phases = append(x, rep.Rate), append(phases, rep.Sides["webhooks"].Sent)
	}
	if err := latencyLines(p, x, phases); err != nil {
		return err
	}
	return r.save(p, "sweep")
}

// bySize draws the acknowledgement latency against the body size.
func (r *results) bySize(reps []*load.Report) error {
	p := r.newPlot("Acknowledgement latency against body size", "body size (log scale)", "acknowledgement latency (ms, log scale)")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var t []plot.Tick
		for v := 1024.0; v <= max*1.001; v *= 4 { // the sizes measured
			if v >= min*0.999 {
				t = append(t, plot.Tick{Value: v, Label: humanBytes(int(v))})
			}
		}
		return t
	})
	var x []float64
	var phases []load.PhaseSummary
	for _, rep := range reps {
		x, phases = append(x, float64(rep.BodyBytes)), append(phases, rep.Sides["webhooks"].Sent)
	}
	if err := latencyLines(p, x, phases); err != nil {
		return err
	}
	return r.save(p, "size")
}

// rssChart draws the server's and the worker's resident memory against
// the events processed: answered for the server, completed for the worker.
func (r *results) rssChart(rep *load.Report) error {
	p := r.newPlot("Resident memory against events processed", "events (server: answered; worker: completed)", "RSS (MiB)")
	var server, worker plotter.XYs
	for _, s := range rep.RSS {
		server = appendLast(server, float64(s.Answered), s.RSSMiB["server"])
		if s.Closed >= 0 {
			worker = appendLast(worker, float64(s.Closed), s.RSSMiB["worker"])
		}
	}
	limit := plotter.XYs{{X: 0, Y: 64}, {X: server[len(server)-1].X, Y: 64}}
	for i, l := range []struct {
		name string
		xys  plotter.XYs
	}{{"server", server}, {"worker", worker}, {"64 MiB (the server's goal)", limit}} {
		if len(l.xys) > 0 {
			if err := addLine(p, l.name, l.xys, []color.Color{blue, orange, grey}[i], i == 2); err != nil {
				return err
			}
		}
	}
	p.Y.Min, p.Legend.Top = 0, false
	return r.save(p, "rss")
}

// appendLast keeps the last sample of each x (the counts stand still while
// a phase waits), so the line draws no vertical strokes of noise.
func appendLast(xys plotter.XYs, x, y float64) plotter.XYs {
	if n := len(xys); n > 0 && xys[n-1].X == x {
		xys[n-1].Y = y
		return xys
	}
	return append(xys, plotter.XY{X: x, Y: y})
}

// outageChart draws the receiver's requests in each second of the run,
// the limit, and the end of the outage.
func (r *results) outageChart(rep *load.Report, limit float64) error {
	rc := rep.Receiver
	p := r.newPlot(fmt.Sprintf("Notification requests per second: receiver down for %.0f s, then back", rc.DownSeconds),
		"seconds from the first event", "requests to the receiver in that second")
	var xys plotter.XYs
	for s, n := range rc.PerSecond {
		xys = append(xys, plotter.XY{X: float64(s), Y: float64(n)})
	}
	if err := addLine(p, "requests", xys, blue, false); err != nil {
		return err
	}
	top := math.Max(limit, float64(len(rc.PerSecond)))
	if err := addLine(p, fmt.Sprintf("NOTIFY_MAX_PER_SECOND (%g)", limit), plotter.XYs{{X: 0, Y: limit}, {X: float64(len(rc.PerSecond)), Y: limit}}, grey, true); err != nil {
		return err
	}
	if err := addLine(p, "receiver back", plotter.XYs{{X: rc.DownSeconds, Y: 0}, {X: rc.DownSeconds, Y: limit * 1.2}}, orange, true); err != nil {
		return err
	}
	p.Y.Min, p.Y.Max, p.X.Max = 0, limit*1.3, top
	return r.save(p, "outage")
}

// ratioChart draws each comparison's median ratio to its floor and to the
// bare shape (0: not compared), with the goals' lines.
func (r *results) ratioChart(labels []string, floor, bare []float64) error {
	p := r.newPlot("mediaflow's rate over the floor's and the bare shape's (median of the runs)", "", "ratio")
	w := vg.Points(18)
	for i, v := range []plotter.Values{floor, bare} {
		bars, err := plotter.NewBarChart(v, w)
		if err != nil {
			return err
		}
		bars.Color, bars.Offset = []color.Color{blue, orange}[i], w*vg.Length(2*i-1)/2
		p.Add(bars)
		p.Legend.Add([]string{"against its floor (ingest: direct starts)", "against the bare shape"}[i], bars)
	}
	for _, goal := range []float64{0.9, 1} {
		if err := addLine(p, fmt.Sprintf("%g", goal), plotter.XYs{{X: -0.5, Y: goal}, {X: float64(len(labels)) - 0.5, Y: goal}}, grey, true); err != nil {
			return err
		}
	}
	p.NominalX(labels...)
	p.Y.Min, p.Legend.Left = 0, true
	return r.save(p, "ratios")
}
