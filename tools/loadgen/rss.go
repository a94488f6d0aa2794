package main

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// rssSampler samples every rssEvery until stopped.
type rssSampler struct {
	stop    context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []load.RSSSample
}

const rssEvery = time.Second

// startRSSSampler samples refs' memory, h's answers and the closed
// workflows whose IDs start with prefix (one count query per sample).
func startRSSSampler(ctx context.Context, refs []procRef, h *httpTarget, tc client.Client, prefix string) *rssSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &rssSampler{stop: cancel, done: make(chan struct{})}
	start := time.Now()
	take := func() {
		sm := load.RSSSample{Seconds: load.Round3(time.Since(start).Seconds()), Answered: h.answered.Load(), Closed: -1, RSSMiB: map[string]float64{}}
		for _, r := range refs {
			if m, err := readMemory(r.PID); err == nil {
				sm.RSSMiB[r.Name] = m.RSSMiB
			}
		}
		if tc != nil {
			cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
			if n, err := load.Count(cctx, tc, load.PrefixQuery(prefix)+` AND ExecutionStatus != "Running"`); err == nil {
				sm.Closed = n
			}
			ccancel()
		}
		s.mu.Lock()
		s.samples = append(s.samples, sm)
		s.mu.Unlock()
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(rssEvery)
		defer t.Stop()
		take()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				take()
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the samples.
func (s *rssSampler) Stop() []load.RSSSample {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}
