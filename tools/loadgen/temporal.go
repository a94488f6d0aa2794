package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/animus"
)

// pollEvery is how often the waits ask Temporal's visibility store; a
// count query is cheap, and this keeps the polling's own load negligible.
const pollEvery = 500 * time.Millisecond

// stallAfter ends a wait that sees no progress for this long (no worker
// running, a workflow stuck in retries): the report then says so.
const stallAfter = 60 * time.Second

// directTarget starts workflows with client.ExecuteWorkflow exactly as the
// server does (same input, same options, same deadline), without HTTP,
// signature or gin: the baseline the ingest rate is compared with, and the
// starts of the bare workflow.
type directTarget struct {
	c            client.Client
	taskQueue    string
	workflowType string
	timeout      time.Duration
	tmpl         *template
	ids          ids
}

func (d *directTarget) send(ctx context.Context, i int) outcome {
	ev, err := animus.ReadEvent(d.ids.EventID(i), d.tmpl.Body(d.ids.JobID(i)), time.Now())
	if err != nil || ev.Input == nil {
		return outcome{Code: "error:parse"}
	}
	in := *ev.Input
	sctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	_, err = d.c.ExecuteWorkflow(sctx, mediaflow.StartOptions(d.taskQueue, in), d.workflowType, in)
	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		return outcome{Code: "ok", Status: "started"}
	case errors.As(err, &dup):
		return outcome{Code: "ok", Status: "duplicate"}
	default:
		return outcome{Code: "error:" + temporalErrorKind(err)}
	}
}

func temporalErrorKind(err error) string {
	var (
		exhausted   *serviceerror.ResourceExhausted
		unavailable *serviceerror.Unavailable
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &exhausted):
		return "resource_exhausted"
	case errors.As(err, &unavailable):
		return "unavailable"
	}
	return "other"
}

// count returns the number of executions matching query.
func count(ctx context.Context, c client.Client, query string) (int, error) {
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
	if err != nil {
		return 0, err
	}
	return int(resp.GetCount()), nil
}

// prefixQuery matches the workflows whose ID starts with prefix.
func prefixQuery(prefix string) string {
	return "WorkflowId STARTS_WITH " + strconv.Quote(prefix)
}

// waitResult says how a wait ended.
type waitResult struct {
	Closed   int     `json:"closed,omitempty"`
	Seconds  float64 `json:"waited_s"`
	TimedOut bool    `json:"timed_out,omitempty"`
	Stalled  bool    `json:"stalled,omitempty"`
}

// waitClosed waits until want workflows whose ID starts with prefix are
// closed (visible as such in Temporal's visibility store), at most bound.
// One pair of count queries per poll, whatever the number of workflows.
func waitClosed(ctx context.Context, c client.Client, prefix string, want int, bound time.Duration, progress io.Writer) (waitResult, error) {
	q := prefixQuery(prefix)
	return poll(ctx, bound, progress, func(ctx context.Context) (int, bool, error) {
		closed, err := count(ctx, c, q+` AND ExecutionStatus != "Running"`)
		return closed, closed >= want, err
	}, want)
}

// drain waits until no workflow of taskQueue is running, so that a phase
// does not compete with the work an earlier one left behind.
func drain(ctx context.Context, c client.Client, taskQueue string, bound time.Duration, progress io.Writer) (waitResult, error) {
	q := fmt.Sprintf(`TaskQueue = %s AND ExecutionStatus = "Running"`, strconv.Quote(taskQueue))
	return poll(ctx, bound, progress, func(ctx context.Context) (int, bool, error) {
		running, err := count(ctx, c, q)
		return -running, running == 0, err
	}, 0)
}

// poll calls check until it says done, bound passes, or its progress value
// has not changed for stallAfter.
func poll(ctx context.Context, bound time.Duration, progress io.Writer, check func(context.Context) (int, bool, error), want int) (waitResult, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	last, lastChange, lastPrint := -1<<31, start, start
	for {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		v, done, err := check(cctx)
		ccancel()
		res := waitResult{Closed: max(v, 0), Seconds: round3(time.Since(start).Seconds())}
		if err != nil && ctx.Err() == nil {
			return res, fmt.Errorf("visibility query: %w", err)
		}
		if done {
			return res, nil
		}
		now := time.Now()
		if v != last {
			last, lastChange = v, now
		}
		if now.Sub(lastChange) > stallAfter {
			res.Stalled = true
			return res, nil
		}
		if progress != nil && now.Sub(lastPrint) >= 5*time.Second {
			lastPrint = now
			if want > 0 {
				fmt.Fprintf(progress, "  ... %d/%d closed after %.0f s\n", v, want, now.Sub(start).Seconds())
			} else {
				fmt.Fprintf(progress, "  ... %d running after %.0f s\n", -v, now.Sub(start).Seconds())
			}
		}
		select {
		case <-ctx.Done():
			res.TimedOut = true
			return res, nil
		case <-time.After(pollEvery):
		}
	}
}

// closeInfo is one closed workflow as the visibility store lists it.
type closeInfo struct {
	Status    enumspb.WorkflowExecutionStatus
	CloseTime time.Time
}

// listClosed lists the closed workflows whose ID starts with prefix, with
// their close time, a thousand per page.
func listClosed(ctx context.Context, c client.Client, prefix string) (map[string]closeInfo, error) {
	out := map[string]closeInfo{}
	req := &workflowservice.ListWorkflowExecutionsRequest{
		PageSize: 1000,
		Query:    prefixQuery(prefix) + ` AND ExecutionStatus != "Running"`,
	}
	for {
		resp, err := c.ListWorkflow(ctx, req)
		if err != nil {
			return out, fmt.Errorf("listing workflows: %w", err)
		}
		for _, info := range resp.GetExecutions() {
			out[info.GetExecution().GetWorkflowId()] = closeInfo{Status: info.GetStatus(), CloseTime: info.GetCloseTime().AsTime()}
		}
		if len(resp.GetNextPageToken()) == 0 {
			return out, nil
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
}

// e2eSummary reports delivery to completion of the events whose workflow
// was started.
type e2eSummary struct {
	Started int `json:"started"`
	Closed  int `json:"closed"`
	// Statuses counts closed workflows by status ("Completed", "Failed"…).
	Statuses map[string]int `json:"statuses"`
	// Seconds runs from the first request due to the last close.
	Seconds float64 `json:"seconds"`
	// Rate is closed events per second over Seconds.
	Rate float64 `json:"completed_per_s"`
	// Latency is close time minus the time the event was due.
	Latency latencyStats `json:"delivery_to_completion_ms"`
	Wait    waitResult   `json:"wait"`
}

// summarizeE2E matches the phase's started events with their close times.
func summarizeE2E(r phaseResult, d ids, closed map[string]closeInfo, wait waitResult) e2eSummary {
	s := e2eSummary{Statuses: map[string]int{}, Wait: wait}
	base := map[int]time.Time{}
	for _, rec := range r.Records {
		if rec.Out.Status == "started" {
			base[rec.I] = rec.Base
			s.Started++
		}
	}
	var lat []time.Duration
	last := r.Start
	for id, info := range closed {
		i, ok := d.Index(id)
		if !ok {
			continue
		}
		t0, ok := base[i]
		if !ok {
			continue
		}
		s.Closed++
		s.Statuses[statusName(info.Status)]++
		lat = append(lat, info.CloseTime.Sub(t0))
		if info.CloseTime.After(last) {
			last = info.CloseTime
		}
	}
	s.Latency = summarize(lat)
	if d := last.Sub(r.Start); d > 0 && s.Closed > 0 {
		s.Seconds = round3(d.Seconds())
		s.Rate = round3(float64(s.Closed) / d.Seconds())
	}
	return s
}

// statusName turns WORKFLOW_EXECUTION_STATUS_COMPLETED into "Completed".
func statusName(st enumspb.WorkflowExecutionStatus) string {
	return st.String()
}

func (s e2eSummary) String() string {
	line := fmt.Sprintf("e2e    %d/%d started events closed in %.2f s = %.1f/s (first request due to last close); %s\n       delivery->completion ms: %s",
		s.Closed, s.Started, s.Seconds, s.Rate, counts(s.Statuses), s.Latency)
	switch {
	case s.Wait.TimedOut:
		line += fmt.Sprintf("\n       WAIT TIMED OUT after %.0f s: %d not closed", s.Wait.Seconds, s.Started-s.Closed)
	case s.Wait.Stalled:
		line += fmt.Sprintf("\n       WAIT STALLED (no progress for %s; is the worker running?): %d not closed", stallAfter, s.Started-s.Closed)
	}
	return line
}
