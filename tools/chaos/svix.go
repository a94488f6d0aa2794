package main

import (
	"context"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// svixSchedule is Svix's retry schedule (immediately, 5 s, 5 min, 30 min,
// 2 h, 5 h, 10 h, 10 h) compressed 100 times, so a fault test sees the
// same pattern in minutes.
var svixSchedule = []time.Duration{0, 50 * time.Millisecond, 3 * time.Second, 18 * time.Second,
	72 * time.Second, 180 * time.Second, 360 * time.Second, 360 * time.Second}

// newSender delivers events as Svix does, each attempt to one of the
// servers at random. One event in five is a failed job, so that both
// paths (notify and alert) run.
func newSender(urls []string) (*load.Sender, error) {
	var t [2]load.Template // a completed job's event, a failed job's
	for i, name := range []string{"success", "failure"} {
		body, err := samples.Get(name)
		if err == nil {
			t[i], err = load.NewTemplate(body, 0, "")
		}
		if err != nil {
			return nil, err
		}
	}
	s := load.NewSender(urls, secret, 64, func(i int, jobID string) []byte { return t[i%5/4].Body(jobID) })
	s.Random = true
	return s, nil
}

// deliver tries event i along Svix's schedule until it is acknowledged
// (2xx), and returns the last answer.
func deliver(ctx context.Context, s *load.Sender, i int) load.Outcome {
	var out load.Outcome
	for _, wait := range svixSchedule {
		// Jitter as Svix does, so retries do not arrive in lockstep.
		wait += time.Duration(rand.Int64N(int64(wait/10) + 1))
		select {
		case <-ctx.Done():
			return out
		case <-time.After(wait):
		}
		if out = s.Send(ctx, i); strings.HasPrefix(out.Code, "2") {
			return out
		}
	}
	return out
}
