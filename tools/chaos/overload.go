package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// overloadResult holds the figures of the overload phase.
type overloadResult struct {
	sustainable              float64 // events/s completed end to end, measured first
	offered                  float64 // events/s offered during the phase
	duration                 time.Duration
	sent, acked              int
	codes                    map[int]int
	transport                int
	completed, notCompleted  int
	serverUp                 bool
	completionTime           time.Duration
	calibrationEvents        int
	calibrationCompletedTime time.Duration
}

func (r *overloadResult) ok() bool {
	shed := r.codes[429] + r.codes[503]
	return r.serverUp && r.notCompleted == 0 && shed > 0 && r.codes[500] == 0
}

func (r *overloadResult) text() string {
	return fmt.Sprintf(`overload phase: sustainable %.0f events/s (%d events completed end to end in %s),
  offered %.0f events/s for %s: %d requests, answers %v, transport errors %d
  acknowledged %d: completed %d, not completed %d (all done %s after the phase began); server up after: %v
  result: %s
`, r.sustainable, r.calibrationEvents, r.calibrationCompletedTime.Round(time.Millisecond),
		r.offered, r.duration, r.sent, r.codes, r.transport, r.acked, r.completed, r.notCompleted,
		r.completionTime.Round(time.Millisecond), r.serverUp, passFail(r.ok()))
}

// overloadPhase first measures the sustainable rate (events completed end
// to end per second, closed loop), then restarts the server limited to that
// rate and offers four times as much, open loop, each event tried once.
func overloadPhase(ctx context.Context, c *cluster, o options) (*overloadResult, error) {
	res := &overloadResult{duration: o.overloadFor}

	// Calibrate: 16 senders for 10 s, then until all complete.
	s := &sender{url: c.webhookURL(), secret: secret, tally: newTally(), schedule: []time.Duration{0},
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
	if err := c.waitClosed(ctx, acked, 5*time.Minute); err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	res.calibrationEvents = len(acked)
	res.calibrationCompletedTime = time.Since(start)
	res.sustainable = float64(len(acked)) / res.calibrationCompletedTime.Seconds()
	res.offered = 4 * res.sustainable

	// The server, limited to the sustainable rate.
	rps := fmt.Sprintf("%.0f", res.sustainable)
	c.server.env = append(c.server.env, "RATE_LIMIT_RPS="+rps, "RATE_LIMIT_BURST="+rps)
	if err := c.restart(ctx, c.server, syscall.SIGTERM, 0); err != nil {
		return nil, err
	}

	tl := newTally()
	s.tally = tl
	n := int(res.offered * o.overloadFor.Seconds())
	events = newEvents("overload", n)
	start = time.Now()
	acked, err := sendPaced(ctx, events, time.Duration(float64(time.Second)/res.offered), func(ev event) bool {
		code, _ := s.once(ctx, ev)
		return code/100 == 2
	})
	if err != nil {
		return nil, err
	}
	res.sent, res.acked, res.codes, res.transport = n, len(acked), tl.codes, tl.transport

	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	res.serverUp = c.server.alive() && waitHTTP(hctx, "http://"+c.httpAddr+"/healthz") == nil
	cancel()

	if err := c.waitClosed(ctx, acked, 10*time.Minute); err != nil {
		fmt.Println("waiting for workflows:", err)
	}
	res.completionTime = time.Since(start)
	ackedEvents := make([]event, 0, len(acked))
	for _, ev := range events {
		if acked[ev.id] {
			ackedEvents = append(ackedEvents, ev)
		}
	}
	res.completed, res.notCompleted, err = c.statuses(ctx, ackedEvents)
	return res, err
}
