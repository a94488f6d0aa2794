// Package animusjob lets a Temporal workflow wait for an Animus job's
// outcome: mediaflow receives the job's media.completed event (through
// Svix) and tells the job's watch, which this package starts as a child
// workflow. Typical use, in the workflow that submits jobs to Animus:
//
//	watch := animusjob.Start(ctx, jobID, 2*time.Hour) // before submitting: no event can be missed
//	err := workflow.ExecuteActivity(ctx, SubmitToAnimus, jobID).Get(ctx, nil)
//	res, err := animusjob.Wait(ctx, watch)
//	if res.State == mediaflow.WatchDone && res.Outcome.Status == mediaflow.JobCompleted { … }
//
// Starting the watch after the event arrived is fine too: the watch then
// completes at once with the outcome mediaflow recorded. The watch runs on
// mediaflow's worker (its task queue, Options.TaskQueue), as workflow
// mediaflow.WatchID(jobID).
package animusjob

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
)

// Result is what a watch ends with: State mediaflow.WatchDone with the
// job's Outcome, or mediaflow.WatchExpired when no event arrived within
// the deadline and the grace period (the deadline's alert was sent).
type Result = mediaflow.WatchResult

// Options say where the watch runs and how long it stays open.
type Options struct {
	// TaskQueue is mediaflow's task queue (TEMPORAL_TASK_QUEUE of its
	// worker); empty means mediaflow.DefaultTaskQueue.
	TaskQueue string
	// Grace is how long the watch stays open after its deadline for a late
	// event; 0 means mediaflow.DefaultWatchGrace.
	Grace time.Duration
}

// Watch starts jobID's watch with deadline (how long to wait for the event
// before alerting) and waits for its result; see Options.Watch.
func Watch(ctx workflow.Context, jobID string, deadline time.Duration) (Result, error) {
	return Options{}.Watch(ctx, jobID, deadline)
}

// Start starts jobID's watch as a child workflow and returns it without
// waiting; Wait waits for it.
func Start(ctx workflow.Context, jobID string, deadline time.Duration) workflow.ChildWorkflowFuture {
	return Options{}.Start(ctx, jobID, deadline)
}

// Wait waits for a watch started with Start and returns its result.
func Wait(ctx workflow.Context, watch workflow.ChildWorkflowFuture) (Result, error) {
	var res Result
	err := watch.Get(ctx, &res)
	return res, err
}

// Watch is Start then Wait. It fails when the watch cannot start (a watch
// for the job is already running: *temporal.ChildWorkflowExecutionAlreadyStartedError)
// or fails (an invalid job ID or deadline).
func (o Options) Watch(ctx workflow.Context, jobID string, deadline time.Duration) (Result, error) {
	return Wait(ctx, o.Start(ctx, jobID, deadline))
}

// Start starts jobID's watch as a child workflow on mediaflow's task
// queue. The watch ends with the parent (Temporal's default parent close
// policy): a parent that no longer waits does not leave it running.
func (o Options) Start(ctx workflow.Context, jobID string, deadline time.Duration) workflow.ChildWorkflowFuture {
	queue := o.TaskQueue
	if queue == "" {
		queue = mediaflow.DefaultTaskQueue
	}
	in := mediaflow.WatchInput{JobID: jobID, Deadline: deadline.String()}
	if o.Grace > 0 {
		in.Grace = o.Grace.String()
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            mediaflow.WatchID(jobID),
		StaticSummary:         mediaflow.WatchSummary(jobID),
		TaskQueue:             queue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	})
	return workflow.ExecuteChildWorkflow(cctx, mediaflow.WatchWorkflowType, in)
}
