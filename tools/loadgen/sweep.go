package main

import (
	"context"
	"fmt"
	"io"

	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// saturated says whether an open loop at offered/s found the server
// unable to keep up: answers at under 90% of the offered rate, or more
// than 1% of them not a 200.
func saturated(offered float64, s load.PhaseSummary) bool {
	if s.Requests == 0 || s.Rate < 0.9*offered {
		return true
	}
	return float64(s.Requests-s.Codes["200"]) > 0.01*float64(s.Requests)
}

// runSweep runs an open loop at each of o.sweep's rates for o.duration,
// each after the task queue has drained (so each rate starts from the
// same quiet worker), and stops after the first saturated one. It drains
// again at the end, so the workflows' downloads and notifications reach
// -receiver while loadgen still serves them.
func runSweep(ctx context.Context, o options, base *httpTarget, tc client.Client, human io.Writer) ([]load.SweepPoint, error) {
	var points []load.SweepPoint
	for _, r := range o.sweep {
		w, err := load.Drain(ctx, tc, o.taskQueue, o.wait, human)
		if err != nil {
			return points, err
		}
		h := &httpTarget{urls: base.urls, secret: base.secret, client: base.client, tmpl: base.tmpl, ids: load.IDs{Token: load.NewToken()}}
		p := load.Plan{N: o.n, Duration: o.duration, Rate: r, MaxInflight: o.maxInflight}
		fmt.Fprintf(human, "sweep  %s (drained in %.1f s%s)\n", describePlan(p), w.Seconds, waitNote(w))
		cpu0 := sampleCPU(o.cpu)
		res := load.Run(ctx, p, h.send)
		pt := load.SweepPoint{Offered: r, HTTP: load.SummarizePhase("http", p, res), Drain: w}
		if len(o.cpu) > 0 {
			pt.CPU = cpuBetween(cpu0, sampleCPU(o.cpu), pt.HTTP.Requests)
		}
		pt.Saturated = saturated(r, pt.HTTP)
		points = append(points, pt)
		fmt.Fprintln(human, pt.HTTP)
		if pt.CPU != nil {
			fmt.Fprintln(human, pt.CPU)
		}
		if ctx.Err() != nil {
			return points, ctx.Err()
		}
		if pt.Saturated {
			fmt.Fprintf(human, "sweep  saturated at %g/s: stopping\n", r)
			break
		}
	}
	w, err := load.Drain(ctx, tc, o.taskQueue, o.wait, human)
	if err == nil {
		fmt.Fprintf(human, "drain  after the sweep: %.1f s%s\n", w.Seconds, waitNote(w))
	}
	return points, err
}
