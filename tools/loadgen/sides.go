package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/animus"
	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// sideKinds are -sides' names, with the workflow type of the floors.
var sideKinds = map[string]string{"webhooks": "", "direct": "", "floor0": "LoadgenFloor0", "floor1": "LoadgenFloor1", "bare": "LoadgenBare"}

// floorActivities is the number of no-op activities, in a row, of each
// floor workflow: what Temporal does at least for an event that needs
// one durable record (floor0), one durable step such as a download
// (floor1), or three steps as separate activities (bare: record,
// download, notify, as a team would write it without mediaflow).
var floorActivities = map[string]int{"LoadgenFloor0": 0, "LoadgenFloor1": 1, "LoadgenBare": 3}

const noopActivity = "LoadgenNoop"

// floorWorkflow runs its type's number of no-op activities, one after the
// other. Each leaves Temporal a timeout timer due 30 s after it starts, as
// mediaflow's download leaves its heartbeat timeout's: a side's leftover
// timers fire while the next side runs, whichever goes first.
func floorWorkflow(ctx workflow.Context, in mediaflow.MediaCompletedInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	for range floorActivities[workflow.GetInfo(ctx).WorkflowType.Name] {
		if err := workflow.ExecuteActivity(ctx, noopActivity, in.EventID).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// floorWorkers are the workers of the floor workflows, each with a client
// of its own as each of mediaflow's workers has.
type floorWorkers struct {
	taskQueue string
	clients   []client.Client
	workers   []worker.Worker
}

// startFloorWorkers starts -workers workers (worker.Options defaults, as
// mediaflow's worker) on a task queue of their own.
func startFloorWorkers(ctx context.Context, o options) (*floorWorkers, error) {
	f := &floorWorkers{taskQueue: "loadgen-floor-" + load.NewToken()}
	for range o.workers {
		c, err := dial(ctx, o)
		if err != nil {
			f.Stop()
			return nil, err
		}
		f.clients = append(f.clients, c)
		w := worker.New(c, f.taskQueue, worker.Options{})
		for name := range floorActivities {
			w.RegisterWorkflowWithOptions(floorWorkflow, workflow.RegisterOptions{Name: name})
		}
		w.RegisterActivityWithOptions(func(context.Context, string) error { return nil }, activity.RegisterOptions{Name: noopActivity})
		f.workers = append(f.workers, w)
		if err := w.Start(); err != nil {
			f.Stop()
			return nil, fmt.Errorf("floor worker: %w", err)
		}
	}
	return f, nil
}

// Stop stops the workers and closes their clients.
func (f *floorWorkers) Stop() {
	if f == nil {
		return
	}
	for _, w := range f.workers {
		w.Stop()
	}
	for _, c := range f.clients {
		c.Close()
	}
}

// directTarget starts workflows with client.ExecuteWorkflow as the server
// does (same input, same options, same deadline), without HTTP, signature
// or gin.
type directTarget struct {
	c                       client.Client
	taskQueue, workflowType string
	timeout                 time.Duration // the server's START_TIMEOUT
	tmpl                    load.Template
	ids                     load.IDs
}

func (d *directTarget) send(ctx context.Context, i int) load.Outcome {
	ev, err := animus.ReadEvent(d.ids.EventID(i), d.tmpl.Body(d.ids.JobID(i)), time.Now())
	if err != nil || ev.Input == nil {
		return load.Outcome{Code: "error:parse"}
	}
	in := *ev.Input
	sctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	_, err = d.c.ExecuteWorkflow(sctx, mediaflow.StartOptions(d.taskQueue, in), d.workflowType, in)
	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		return load.Outcome{Code: "ok", Status: "started"}
	case errors.As(err, &dup):
		return load.Outcome{Code: "ok", Status: "duplicate"}
	}
	return load.Outcome{Code: "error:" + serviceerror.ToStatus(err).Code().String()} // error:DeadlineExceeded, error:NotFound…
}
