package main

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// rssSample is the resident memory of the -rss processes at one moment,
// with how far the run had got.
type rssSample struct {
	Seconds float64 `json:"t_s"`
	// Answered counts the webhook deliveries answered so far; Closed the
	// run's workflows closed so far (-1: not known).
	Answered int64              `json:"answered"`
	Closed   int                `json:"closed"`
	RSSMiB   map[string]float64 `json:"rss_mib"`
}

// rssSampler samples every rssEvery until stopped.
type rssSampler struct {
	stop    context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []rssSample
}

const rssEvery = time.Second

// startRSSSampler samples refs' memory, h's answers and the closed
// workflows whose IDs start with prefix (one count query per sample).
func startRSSSampler(ctx context.Context, refs []procRef, h *httpTarget, tc client.Client, prefix string) *rssSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &rssSampler{stop: cancel, done: make(chan struct{})}
	start := time.Now()
	take := func() {
		sm := rssSample{Seconds: round3(time.Since(start).Seconds()), Answered: h.answered.Load(), Closed: -1, RSSMiB: map[string]float64{}}
		for _, r := range refs {
			if m, err := readMemory(r.PID); err == nil {
				sm.RSSMiB[r.Name] = m.RSSMiB
			}
		}
		if tc != nil {
			cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
			if n, err := count(cctx, tc, prefixQuery(prefix)+` AND ExecutionStatus != "Running"`); err == nil {
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
func (s *rssSampler) Stop() []rssSample {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}
