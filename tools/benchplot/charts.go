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

// line is one line of a chart; a dashed one is drawn without points.
type line struct {
	name   string
	xys    plotter.XYs
	color  color.Color
	dashed bool
}

// chartOf draws lines into the chart called name: a log scale on the axes
// whose ticker is not nil, y from 0 otherwise.
func (r *results) chartOf(name, title, x, y string, xTicks, yTicks plot.Ticker, lines ...line) error {
	p := r.newPlot(title, y)
	p.X.Label.Text = x
	if xTicks != nil {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, xTicks
	}
	if yTicks != nil {
		p.Y.Scale, p.Y.Tick.Marker, p.Y.Min = plot.LogScale{}, yTicks, math.Inf(1)
	}
	for _, l := range lines {
		if len(l.xys) == 0 {
			continue
		}
		ln, pts, err := plotter.NewLinePoints(l.xys)
		if err != nil {
			return err
		}
		ln.Color, pts.Color, ln.Width, pts.Shape = l.color, l.color, vg.Points(1.5), draw.CircleGlyph{}
		if l.dashed {
			ln.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(ln)
			p.Legend.Add(l.name, ln)
			continue
		}
		p.Add(ln, pts)
		p.Legend.Add(l.name, ln, pts)
	}
	if yTicks == nil {
		p.Y.Max *= 1.1 // room for the legend
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, r.charts+"-"+name+".png")
}

// newPlot is a chart with title and the run's machine, load, commit and
// date under it, a grid, the legend at the top and y from 0.
func (r *results) newPlot(title, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s\n%s; load %s\ncommit %s, %s", title, r.env["machine"], r.env["load"], r.env["commit"], r.env["date"])
	p.Title.TextStyle.Font.Size, p.Y.Label.Text, p.Y.Min, p.Legend.Top = vg.Points(9), y, 0, true
	p.Add(plotter.NewGrid())
	return p
}

// roundTicks labels a log axis with round values (1, 2, 5 × 10^n).
var roundTicks = plot.TickerFunc(func(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, e); v >= min*0.999 && v <= max*1.001 {
				ticks = append(ticks, plot.Tick{Value: v, Label: strings.TrimSuffix(fmt.Sprintf("%g", v), ".0")})
			}
		}
	}
	return ticks
})

// latencyLines are the acknowledgement p50 and p99 of reps against x.
func latencyLines(reps []*load.Report, x func(*load.Report) float64) []line {
	var p50, p99 plotter.XYs
	for _, rep := range reps {
		l := rep.Sides["webhooks"].Sent.Latency
		p50 = append(p50, plotter.XY{X: x(rep), Y: math.Max(l.P50, 0.1)})
		p99 = append(p99, plotter.XY{X: x(rep), Y: math.Max(l.P99, 0.1)})
	}
	return []line{{"p50", p50, blue, false}, {"p99", p99, orange, false}}
}

// ackVsRate draws the acknowledgement latency against the offered rate.
func (r *results) ackVsRate(reps []*load.Report) error {
	return r.chartOf("sweep", "Acknowledgement latency against offered rate (open loop)", "offered rate (events/s)",
		"acknowledgement latency (ms, log scale)", nil, roundTicks, latencyLines(reps, func(rep *load.Report) float64 { return rep.Rate })...)
}

// bySize draws the acknowledgement latency against the body size.
func (r *results) bySize(reps []*load.Report) error {
	sizes := plot.TickerFunc(func(min, max float64) []plot.Tick {
		var t []plot.Tick
		for v := 1024.0; v <= max*1.001; v *= 4 { // the sizes measured
			if v >= min*0.999 {
				t = append(t, plot.Tick{Value: v, Label: humanBytes(int(v))})
			}
		}
		return t
	})
	return r.chartOf("size", "Acknowledgement latency against body size", "body size (log scale)", "acknowledgement latency (ms, log scale)",
		sizes, roundTicks, latencyLines(reps, func(rep *load.Report) float64 { return float64(rep.BodyBytes) })...)
}

// rssChart draws the server's and the worker's resident memory against
// the events processed: answered for the server, completed for the worker.
func (r *results) rssChart(rep *load.Report) error {
	var server, worker plotter.XYs
	for _, s := range rep.RSS {
		server = appendLast(server, float64(s.Answered), s.RSSMiB["server"])
		if s.Closed >= 0 {
			worker = appendLast(worker, float64(s.Closed), s.RSSMiB["worker"])
		}
	}
	return r.chartOf("rss", "Resident memory against events processed", "events (server: answered; worker: completed)", "RSS (MiB)", nil, nil,
		line{"server", server, blue, false}, line{"worker", worker, orange, false},
		line{"64 MiB (the server's goal)", plotter.XYs{{X: 0, Y: 64}, {X: server[len(server)-1].X, Y: 64}}, grey, true})
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
func (r *results) outageChart(rc *load.ReceiverCounts, limit float64) error {
	var xys plotter.XYs
	for s, n := range rc.PerSecond {
		xys = append(xys, plotter.XY{X: float64(s), Y: float64(n)})
	}
	end := float64(len(rc.PerSecond))
	return r.chartOf("outage", fmt.Sprintf("Notification requests per second: the receiver down for %.0f s, then back", rc.DownSeconds),
		"seconds from the first event", "requests to the receiver in that second", nil, nil, line{"requests", xys, blue, false},
		line{fmt.Sprintf("NOTIFY_MAX_PER_SECOND (%g)", limit), plotter.XYs{{X: 0, Y: limit}, {X: end, Y: limit}}, grey, true},
		line{"receiver back", plotter.XYs{{X: rc.DownSeconds, Y: 0}, {X: rc.DownSeconds, Y: limit}}, orange, true})
}

// ratioChart draws each comparison's median ratio to its floor and to the
// bare shape (0: not compared), with the goals' lines.
func (r *results) ratioChart(labels []string, floor, bare []float64) error {
	p := r.newPlot("mediaflow's rate over the floor's and the bare shape's (median of the runs)", "ratio")
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
	for i, goal := range []float64{0.9, 1} {
		l, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: goal}, {X: float64(len(labels)) - 0.5, Y: goal}})
		if err != nil {
			return err
		}
		l.Color, l.Dashes = grey, []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add([]string{"0.9: the goal against the floors", "1.0: the goal against direct starts"}[i], l)
	}
	p.NominalX(labels...)
	return p.Save(8*vg.Inch, 5*vg.Inch, r.charts+"-ratios.png")
}
