package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

// temporalClient is the test's own view of Temporal, for the checks.
type temporalClient struct{ client.Client }

// dialTemporal connects to the Temporal frontend at addr, waiting up to a
// minute for it.
func dialTemporal(ctx context.Context, addr string) (*temporalClient, error) {
	c, err := localtemporal.Dial(ctx, addr, "default", time.Minute)
	if err != nil {
		return nil, err
	}
	return &temporalClient{c}, nil
}

// describeAll describes each workflow ID with bounded concurrency and
// returns each one's status (UNSPECIFIED when it does not exist).
func (tc *temporalClient) describeAll(ctx context.Context, ids []string) (map[string]enumspb.WorkflowExecutionStatus, error) {
	out := make(map[string]enumspb.WorkflowExecutionStatus, len(ids))
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			d, err := tc.DescribeWorkflowExecution(dctx, id, "")
			mu.Lock()
			defer mu.Unlock()
			var notFound *serviceerror.NotFound
			switch {
			case errors.As(err, &notFound):
				out[id] = enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
			case err != nil:
				if firstErr == nil {
					firstErr = err
				}
			default:
				out[id] = d.GetWorkflowExecutionInfo().GetStatus()
			}
		})
	}
	wg.Wait()
	return out, firstErr
}

// waitClosed waits until every workflow in want is closed, or timeout.
func (tc *temporalClient) waitClosed(ctx context.Context, want map[string]bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	open := make([]string, 0, len(want))
	for id := range want {
		open = append(open, id)
	}
	for len(open) > 0 {
		st, err := tc.describeAll(ctx, open)
		if err != nil && time.Now().After(deadline) {
			return err
		}
		var still []string
		for _, id := range open {
			if s, ok := st[id]; !ok || s == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || s == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
				still = append(still, id)
			}
		}
		open = still
		if len(open) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d workflows still open after %s", len(open), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil
}

// statuses returns how many of the events' workflows completed, and how
// many ended otherwise (failed, timed out, missing…).
func (tc *temporalClient) statuses(ctx context.Context, events []event) (completed, other int, err error) {
	ids := make([]string, len(events))
	for i, ev := range events {
		ids[i] = ev.id
	}
	st, err := tc.describeAll(ctx, ids)
	if err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		if st[id] == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			completed++
		} else {
			other++
		}
	}
	return completed, other, nil
}

// countRuns counts every MediaCompletedWorkflow execution Temporal knows
// of. Visibility lags a little: it polls until the count reaches want or
// stays put for 5 s.
func (tc *temporalClient) countRuns(ctx context.Context, want int) (int, error) {
	last, stable := -1, 0
	for range 60 {
		resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = '%s'", mediaflow.WorkflowType),
		})
		if err != nil {
			return 0, err
		}
		n := int(resp.GetCount())
		if n == want {
			return n, nil
		}
		if n == last {
			stable++
			if stable >= 10 {
				return n, nil
			}
		} else {
			last, stable = n, 0
		}
		time.Sleep(500 * time.Millisecond)
	}
	return last, nil
}
