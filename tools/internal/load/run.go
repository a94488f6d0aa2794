// Package load is what loadgen and the fault test share: signed events
// sent in closed or open loops (Plan, Run), their IDs and bodies (IDs,
// Template), Temporal's view of them (WaitClosed, ListClosed), the far end
// of the worker's optional steps (Peer, also devpeer's) and loadgen's
// -json report, which benchplot reads.
package load

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Plan says how many requests a phase sends and how.
type Plan struct {
	// N stops the phase after N requests (0: no count bound).
	N int
	// Duration stops issuing requests after this long (0: no time bound).
	Duration time.Duration
	// Conc is the closed loop's number of workers, each sending its next
	// request when the previous one is answered.
	Conc int
	// Rate, when above 0, makes the phase an open loop: request i is due
	// at start + i/Rate whatever happened to the earlier ones.
	Rate float64
	// MaxInflight bounds the open loop's requests in flight; when it is
	// reached, later requests wait, and that wait counts in their latency.
	MaxInflight int
}

// Outcome is what one request got.
type Outcome struct {
	// Code is the HTTP status ("200"), "ok" for a direct start, or
	// "error:<kind>" for a transport or Temporal error.
	Code string
	// Status is the answer's status field ("started", "duplicate", …).
	Status string
}

// Record is one request of a phase.
type Record struct {
	I int
	// Base is when the request was due: its scheduled time in the open
	// loop, its send time in the closed loop. Latency counts from it, so
	// queueing behind a slow server is not hidden.
	Base    time.Time
	Latency time.Duration
	Out     Outcome
}

// Result is what Run saw.
type Result struct {
	Start, End time.Time // first request due, last answer
	Records    []Record
}

// SendFunc sends request i and says what it got.
type SendFunc func(ctx context.Context, i int) Outcome

// Run sends requests per p until the count or time bound is reached
// or ctx is done; requests in flight are always waited for.
func Run(ctx context.Context, p Plan, send SendFunc) Result {
	if p.Rate > 0 {
		return runOpenLoop(ctx, p, send, sleepUntil)
	}
	return runClosedLoop(ctx, p, send)
}

func runClosedLoop(ctx context.Context, p Plan, send SendFunc) Result {
	start := time.Now()
	var deadline time.Time
	if p.Duration > 0 {
		deadline = start.Add(p.Duration)
	}
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  = Result{Start: start}
		wg   sync.WaitGroup
	)
	for range max(p.Conc, 1) {
		wg.Go(func() {
			var local []Record
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if p.N > 0 && i >= p.N {
					break
				}
				t0 := time.Now()
				if !deadline.IsZero() && !t0.Before(deadline) {
					break
				}
				out := send(ctx, i)
				local = append(local, Record{I: i, Base: t0, Latency: time.Since(t0), Out: out})
			}
			mu.Lock()
			res.Records = append(res.Records, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.End = lastAnswer(res.Records, start)
	return res
}

// OpenLoopCount returns how many requests an open loop at rate sends with
// bounds n and d (0: unbounded; at least one of them is set).
func OpenLoopCount(rate float64, n int, d time.Duration) int {
	if d <= 0 {
		return n
	}
	byTime := int(math.Ceil(d.Seconds()*rate - 1e-9))
	if n > 0 && n < byTime {
		return n
	}
	return byTime
}

// scheduledAt returns when request i of an open loop at rate per second
// started at start is due. Computed from i, not accumulated, so it never
// drifts.
func scheduledAt(start time.Time, rate float64, i int) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// runOpenLoop dispatches request i at scheduledAt(start, Rate, i). A
// request dispatched late (the loop itself was slow, or MaxInflight was
// reached) keeps its scheduled time as Base. wait sleeps until a time or
// until ctx is done; tests replace it.
func runOpenLoop(ctx context.Context, p Plan, send SendFunc, wait func(context.Context, time.Time) error) Result {
	count := OpenLoopCount(p.Rate, p.N, p.Duration)
	start := time.Now()
	res := Result{Start: start, Records: make([]Record, 0, count)}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, max(p.MaxInflight, 1))
	)
	for i := range count {
		at := scheduledAt(start, p.Rate, i)
		if wait(ctx, at) != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			out := send(ctx, i)
			r := Record{I: i, Base: at, Latency: time.Since(at), Out: out}
			mu.Lock()
			res.Records = append(res.Records, r)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.End = lastAnswer(res.Records, start)
	return res
}

// sleepUntil waits until t or until ctx is done, and says which (ctx's
// error).
func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
	return ctx.Err()
}

func lastAnswer(rs []Record, start time.Time) time.Time {
	end := start
	for _, r := range rs {
		if t := r.Base.Add(r.Latency); t.After(end) {
			end = t
		}
	}
	return end
}
