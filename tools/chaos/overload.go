package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mediaflow/mediaflow/tools/internal/stack"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// overloadResult holds the figures of the overload phase.
type overloadResult struct {
	Sustainable              float64 // events/s completed end to end, measured first
	Offered                  float64 // events/s offered during the phase
	Duration                 time.Duration
	Sent, Acked              int
	Codes                    map[int]int
	Transport                int
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

func (r *overloadResult) text() string {
	return fmt.Sprintf(`overload phase: sustainable %.0f events/s (%d events completed end to end in %s),
  offered %.0f events/s for %s: %d requests, answers %v, transport errors %d
  acknowledged %d: completed %d, not completed %d (all done %s after the phase began); server up after: %v
  result: %s
`, r.Sustainable, r.CalibrationEvents, r.CalibrationCompletedTime.Round(time.Millisecond),
		r.Offered, r.Duration, r.Sent, r.Codes, r.Transport, r.Acked, r.Completed, r.NotCompleted,
		r.CompletionTime.Round(time.Millisecond), r.ServerUp, passFail(r.ok()))
}

// overloadPhase first measures the sustainable rate (events completed end
// to end per second, closed loop), then restarts the server limited to that
// rate and offers four times as much, open loop, each event tried once.
func overloadPhase(ctx context.Context, sys *system, tc *temporalClient, o options) (*overloadResult, error) {
	res := &overloadResult{Duration: o.overloadFor}

	// Calibrate: 16 senders for 10 s, then until all complete.
	s := &sender{urls: sys.urls, secret: secret, tally: newTally(), schedule: []time.Duration{0},
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	events := newEvents("calibrate", 100_000)
	start := time.Now()
	var next atomic.Int64
	var cal ackSet
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for time.Since(start) < 10*time.Second && ctx.Err() == nil {
				ev := events[next.Add(1)-1]
				if code, _ := s.once(ctx, ev); code/100 == 2 {
					cal.add(ev.id)
				}
			}
		})
	}
	wg.Wait()
	acked := cal.ids
	if err := tc.waitClosed(ctx, acked, 5*time.Minute); err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	res.CalibrationEvents = len(acked)
	res.CalibrationCompletedTime = time.Since(start)
	res.Sustainable = float64(len(acked)) / res.CalibrationCompletedTime.Seconds()
	res.Offered = 4 * res.Sustainable

	// The server, limited to the sustainable rate.
	rps := fmt.Sprintf("%.0f", res.Sustainable)
	server := sys.st.Proc("server")
	server.Env = stack.With(server.Env, "RATE_LIMIT_RPS="+rps, "RATE_LIMIT_BURST="+rps)
	if err := sys.st.Restart(ctx, "server", false, 0); err != nil {
		return nil, err
	}

	tl := newTally()
	s.tally = tl
	n := int(res.Offered * o.overloadFor.Seconds())
	events = newEvents("overload", n)
	start = time.Now()
	acked, err := sendPaced(ctx, events, time.Duration(float64(time.Second)/res.Offered), func(ev event) bool {
		code, _ := s.once(ctx, ev)
		return code/100 == 2
	})
	if err != nil {
		return nil, err
	}
	res.Sent, res.Acked, res.Codes, res.Transport = n, len(acked), tl.codes, tl.transport

	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	res.ServerUp = sys.st.Running("server") && stack.HTTPReady(sys.serverURL+"/healthz")(hctx) == nil
	cancel()

	if err := tc.waitClosed(ctx, acked, 10*time.Minute); err != nil {
		fmt.Println("waiting for workflows:", err)
	}
	res.CompletionTime = time.Since(start)
	ackedEvents := make([]event, 0, len(acked))
	for _, ev := range events {
		if acked[ev.id] {
			ackedEvents = append(ackedEvents, ev)
		}
	}
	res.Completed, res.NotCompleted, err = tc.statuses(ctx, ackedEvents)
	return res, err
}
