package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow/tools/internal/load"
	"github.com/mediaflow/mediaflow/tools/internal/stack"
)

// overloadResult holds the figures of the overload phase.
type overloadResult struct {
	Sustainable              float64 // events/s completed end to end, measured first
	Offered                  float64 // events/s offered during the phase
	Duration                 time.Duration
	Sent, Acked              int
	load.Tally               // the answers
	Completed, NotCompleted  int
	ServerUp                 bool
	CompletionTime           time.Duration
	CalibrationEvents        int
	CalibrationCompletedTime time.Duration
}

func (r *overloadResult) ok() bool {
	shed := r.Codes[429] + r.Codes[503]
	return r.ServerUp && r.NotCompleted == 0 && shed > 0 && r.Codes[500] == 0
}

// overloadPhase first measures the sustainable rate (events completed end
// to end per second, closed loop), then restarts the server limited to that
// rate and offers four times as much, open loop, each event tried once.
func overloadPhase(ctx context.Context, sys *system, tc client.Client, o options) (*overloadResult, error) {
	res := &overloadResult{Duration: overloadFor}
	s, err := newSender(sys.urls)
	if err != nil {
		return nil, err
	}
	// Calibrate: 16 senders for 10 s, then until all complete.
	start := time.Now()
	res.CalibrationEvents = len(acked(load.Run(ctx, load.Plan{Duration: 10 * time.Second, Conc: 16}, s.Send), s.IDs))
	if w, err := load.WaitClosed(ctx, tc, s.IDs.EventPrefix(), res.CalibrationEvents, 5*time.Minute, nil); err != nil || w.TimedOut || w.Stalled {
		return nil, fmt.Errorf("calibration: %d workflows not closed after %.0f s (%v)", res.CalibrationEvents-w.Count, w.Seconds, err)
	}
	res.CalibrationCompletedTime = time.Since(start)
	res.Sustainable = float64(res.CalibrationEvents) / res.CalibrationCompletedTime.Seconds()
	res.Offered = 4 * res.Sustainable

	// The server, limited to the sustainable rate.
	rps := fmt.Sprintf("%.0f", res.Sustainable)
	server := sys.st.Proc("server")
	server.Env = stack.With(server.Env, "RATE_LIMIT_RPS="+rps, "RATE_LIMIT_BURST="+rps)
	if err := sys.st.Restart(ctx, "server", false, 0); err != nil {
		return nil, err
	}

	if s, err = newSender(sys.urls); err != nil {
		return nil, err
	}
	res.Sent = int(res.Offered * overloadFor.Seconds())
	start = time.Now()
	ackedIDs := acked(load.Run(ctx, load.Plan{N: res.Sent, Rate: res.Offered, MaxInflight: res.Sent}, s.Send), s.IDs)
	res.Acked, res.Tally = len(ackedIDs), s.Tally()

	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	res.ServerUp = sys.st.Running("server") && stack.HTTPReady(sys.serverURL+"/healthz")(hctx) == nil
	cancel()

	if _, err := load.WaitClosed(ctx, tc, s.IDs.EventPrefix(), res.Acked, 10*time.Minute, nil); err != nil {
		fmt.Println("waiting for workflows:", err)
	}
	res.CompletionTime = time.Since(start)
	res.Completed, err = completed(ctx, tc, s.IDs.EventPrefix(), ackedIDs)
	res.NotCompleted = res.Acked - res.Completed
	return res, err
}
