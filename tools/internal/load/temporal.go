package load

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// pollEvery is how often the waits ask Temporal's visibility store; a
// count query is cheap, and this keeps the polling's own load negligible.
const pollEvery = 500 * time.Millisecond

// StallAfter ends a wait that sees no progress for this long (no worker
// running, a workflow stuck in retries): the report then says so.
var StallAfter = 60 * time.Second

// Count returns the number of executions matching query.
func Count(ctx context.Context, c client.Client, query string) (int, error) {
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
	if err != nil {
		return 0, err
	}
	return int(resp.GetCount()), nil
}

// PrefixQuery matches the workflows whose ID starts with prefix.
func PrefixQuery(prefix string) string {
	return "WorkflowId STARTS_WITH " + strconv.Quote(prefix)
}

// ClosedQuery matches the closed workflows whose ID starts with prefix.
func ClosedQuery(prefix string) string {
	return PrefixQuery(prefix) + ` AND ExecutionStatus != "Running"`
}

// WaitResult says how a wait ended: Count is the last count seen.
type WaitResult struct {
	Count    int     `json:"count,omitempty"`
	Seconds  float64 `json:"waited_s"`
	TimedOut bool    `json:"timed_out,omitempty"`
	Stalled  bool    `json:"stalled,omitempty"`
}

// WaitClosed waits until want workflows whose ID starts with prefix are
// closed (visible as such in Temporal's visibility store), at most bound.
func WaitClosed(ctx context.Context, c client.Client, prefix string, want int, bound time.Duration, progress io.Writer) (WaitResult, error) {
	return WaitCount(ctx, c, ClosedQuery(prefix), func(n int) bool { return n >= want }, bound, progress)
}

// Drain waits until no workflow of taskQueue is running, so that a phase
// does not compete with the work an earlier one left behind.
func Drain(ctx context.Context, c client.Client, taskQueue string, bound time.Duration, progress io.Writer) (WaitResult, error) {
	q := fmt.Sprintf(`TaskQueue = %s AND ExecutionStatus = "Running"`, strconv.Quote(taskQueue))
	return WaitCount(ctx, c, q, func(n int) bool { return n == 0 }, bound, progress)
}

// WaitCount counts query every pollEvery until done says so, bound
// passes, or the count has not changed for StallAfter; one count query per
// poll, whatever the number of workflows.
func WaitCount(ctx context.Context, c client.Client, query string, done func(int) bool, bound time.Duration, progress io.Writer) (WaitResult, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	last, lastChange, lastPrint := -1, start, start
	for {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := Count(cctx, c, query)
		ccancel()
		now := time.Now()
		res := WaitResult{Count: n, Seconds: Round3(now.Sub(start).Seconds())}
		switch {
		case err != nil && ctx.Err() == nil:
			return res, fmt.Errorf("visibility query: %w", err)
		case err == nil && done(n):
			return res, nil
		case n != last:
			last, lastChange = n, now
		case now.Sub(lastChange) > StallAfter:
			res.Stalled = true
			return res, nil
		}
		if progress != nil && now.Sub(lastPrint) >= 5*time.Second {
			lastPrint = now
			fmt.Fprintf(progress, "  ... %d after %.0f s (%s)\n", n, now.Sub(start).Seconds(), query)
		}
		select {
		case <-ctx.Done():
			res.TimedOut = true
			return res, nil
		case <-time.After(pollEvery):
		}
	}
}

// CloseInfo is one closed workflow as the visibility store lists it.
type CloseInfo struct {
	Status    enumspb.WorkflowExecutionStatus
	CloseTime time.Time
}

// ListClosed lists the closed workflows whose ID starts with prefix, with
// their close time, a thousand per page.
func ListClosed(ctx context.Context, c client.Client, prefix string) (map[string]CloseInfo, error) {
	out := map[string]CloseInfo{}
	req := &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1000, Query: ClosedQuery(prefix)}
	for {
		resp, err := c.ListWorkflow(ctx, req)
		if err != nil {
			return out, fmt.Errorf("listing workflows: %w", err)
		}
		for _, info := range resp.GetExecutions() {
			out[info.GetExecution().GetWorkflowId()] = CloseInfo{Status: info.GetStatus(), CloseTime: info.GetCloseTime().AsTime()}
		}
		if len(resp.GetNextPageToken()) == 0 {
			return out, nil
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
}

// E2ESummary reports delivery to completion of the events whose workflow
// was started.
type E2ESummary struct {
	Started int `json:"started"`
	Closed  int `json:"closed"`
	// Statuses counts closed workflows by status ("Completed", "Failed"…).
	Statuses map[string]int `json:"statuses"`
	// Seconds runs from the first request due to the last close.
	Seconds float64 `json:"seconds"`
	// Rate is the workflows closed by the 95th percentile of the close
	// times over the time from the first request to it: the slowest 5%
	// (a workflow task timed out and retried 10 s later, say) would
	// otherwise make the whole rate.
	Rate float64 `json:"completed_per_s"`
	// Latency is close time minus the time the event was due.
	Latency Latency    `json:"delivery_to_completion_ms"`
	Wait    WaitResult `json:"wait"`
}

// SummarizeE2E matches the phase's started events with their close times.
func SummarizeE2E(r Result, d IDs, closed map[string]CloseInfo, wait WaitResult) E2ESummary {
	s := E2ESummary{Statuses: map[string]int{}, Wait: wait}
	base := map[int]time.Time{}
	for _, rec := range r.Records {
		if rec.Out.Status == "started" {
			base[rec.I] = rec.Base
			s.Started++
		}
	}
	var lat, closes []time.Duration
	for id, info := range closed {
		i, ok := d.Index(id)
		t0, started := base[i]
		if !ok || !started {
			continue
		}
		s.Closed++
		s.Statuses[info.Status.String()]++
		lat, closes = append(lat, info.CloseTime.Sub(t0)), append(closes, info.CloseTime.Sub(r.Start))
	}
	s.Latency = Summarize(lat)
	if s.Closed > 0 {
		slices.Sort(closes)
		n := int(math.Ceil(0.95 * float64(s.Closed)))
		s.Seconds, s.Rate = Round3(closes[s.Closed-1].Seconds()), Round3(float64(n)/max(closes[n-1].Seconds(), 1e-3))
	}
	return s
}

func (s E2ESummary) String() string {
	line := fmt.Sprintf("e2e    %d/%d started events closed in %.2f s, %.1f/s (95%% of them over the time to the 95th percentile close); %s\n       delivery->completion ms: %s",
		s.Closed, s.Started, s.Seconds, s.Rate, Counts(s.Statuses), s.Latency)
	switch {
	case s.Wait.TimedOut:
		line += fmt.Sprintf("\n       WAIT TIMED OUT after %.0f s: %d not closed", s.Wait.Seconds, s.Started-s.Closed)
	case s.Wait.Stalled:
		line += fmt.Sprintf("\n       WAIT STALLED (no progress for %s; is the worker running?): %d not closed", StallAfter, s.Started-s.Closed)
	}
	return line
}
