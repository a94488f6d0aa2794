package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
)

// The bare workflow is what a team would write without mediaflow: the
// same input, started directly with the same options, and three no-op
// activities in a row (record, download, notify), each one a workflow task
// and an activity task. -bare runs it on workers inside loadgen, on a task
// queue of their own, so mediaflow's end-to-end rate can be set beside it
// on the same Temporal, the same machine and the same run.
const (
	bareWorkflowType = "LoadgenBareWorkflow"
	bareActivityType = "LoadgenNoopActivity"
	// bareSteps is the number of activities in a row.
	bareSteps = 3
)

// bareWorkflow runs bareSteps no-op activities, one after the other.
func bareWorkflow(ctx workflow.Context, in mediaflow.MediaCompletedInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range bareSteps {
		if err := workflow.ExecuteActivity(ctx, bareActivityType, in.EventID).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// noopActivity does nothing.
func noopActivity(context.Context, string) error { return nil }

// bareWorkers are the workers of the bare workflow, each with a client of
// its own as each of mediaflow's workers has.
type bareWorkers struct {
	clients []client.Client
	workers []worker.Worker
}

// startBareWorkers starts n workers (worker.Options defaults, as
// mediaflow's worker) polling taskQueue, with clients as -temporal and
// -grpc-compression say.
func startBareWorkers(ctx context.Context, o options, taskQueue string, n int) (*bareWorkers, error) {
	b := &bareWorkers{}
	for range n {
		c, err := dial(ctx, o)
		if err != nil {
			b.Stop()
			return nil, err
		}
		b.clients = append(b.clients, c)
		w := worker.New(c, taskQueue, worker.Options{})
		w.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: bareWorkflowType})
		w.RegisterActivityWithOptions(noopActivity, activity.RegisterOptions{Name: bareActivityType})
		if err := w.Start(); err != nil {
			b.Stop()
			return nil, fmt.Errorf("bare worker: %w", err)
		}
		b.workers = append(b.workers, w)
	}
	return b, nil
}

// Stop stops the workers and closes their clients.
func (b *bareWorkers) Stop() {
	for _, w := range b.workers {
		w.Stop()
	}
	for _, c := range b.clients {
		c.Close()
	}
}
