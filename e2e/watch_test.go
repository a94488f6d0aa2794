package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/animusjob"
)

// submitAndWait is a user's workflow: it would submit the job to Animus
// in an activity; here the test delivers the job's event itself. It waits
// for the outcome through a watch, a child workflow on mediaflow's task
// queue.
func submitAndWait(ctx workflow.Context, jobID, mediaflowQueue string) (animusjob.Result, error) {
	return animusjob.Options{TaskQueue: mediaflowQueue}.Watch(ctx, jobID, time.Hour)
}

// userWorker runs submitAndWait on a task queue of the user's own.
func userWorker(t *testing.T, c client.Client) string {
	t.Helper()
	queue := "user-" + rand.Text()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(submitAndWait)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return queue
}

// TestUserWorkflowWaitsForJob: a user's workflow starts a watch as a
// child; a signed webhook for the job arrives; the user's workflow
// receives the outcome. The watch is findable by its search attributes.
func TestUserWorkflowWaitsForJob(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	userQueue := userWorker(t, a.client)
	jobID := "job-watched-" + rand.Text()

	run, err := a.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: userQueue}, submitAndWait, jobID, a.taskQueue)
	require.NoError(t, err)
	// The watch is up (and waiting) before Animus is done.
	waitForWatch(t, a, jobID)

	id := newEventID()
	require.Equal(t, "started", deliver(t, a.url, id, timedEvent(jobID, "completed", "2026-11-20T10:00:00Z", ""), secret).body["status"])
	res, err := a.result(t, id)
	require.NoError(t, err)
	require.Contains(t, res.Steps, mediaflow.StepResult{Step: "watch", Outcome: "told", Detail: mediaflow.WatchID(jobID)})

	var got animusjob.Result
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, mediaflow.WatchDone, got.State)
	require.Equal(t, id, got.Outcome.EventID)
	require.Equal(t, mediaflow.JobCompleted, got.Outcome.Status)

	// Findable in the UI by job and state (visibility catches up shortly).
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := a.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: `AnimusJobID="` + jobID + `" AND AnimusWatchState="done"`,
		})
		if assert.NoError(c, err) {
			assert.EqualValues(c, 1, resp.GetCount())
		}
	}, 10*time.Second, 200*time.Millisecond)
}

// TestWatchStartedAfterTheEvent: from any Temporal client, a watch started
// after its job's event arrived completes at once with that outcome;
// starting it again joins the same watch.
func TestWatchStartedAfterTheEvent(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	jobID := "job-early-" + rand.Text()
	id := newEventID()
	require.Equal(t, "started", deliver(t, a.url, id, timedEvent(jobID, "FAILED", "2026-11-20T10:00:00Z", ""), secret).body["status"])
	_, err := a.result(t, id)
	require.NoError(t, err)

	opts := mediaflow.WatchStartOptions(a.taskQueue, jobID)
	run, err := a.client.ExecuteWorkflow(ctx, opts, mediaflow.WatchWorkflowType, mediaflow.WatchInput{JobID: jobID, Deadline: "2h"})
	require.NoError(t, err)
	var got mediaflow.WatchResult
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, mediaflow.WatchDone, got.State)
	require.Equal(t, id, got.Outcome.EventID)
	require.Equal(t, mediaflow.JobFailed, got.Outcome.Status)
	require.JSONEq(t, `"decoder crashed"`, string(got.Outcome.Error))

	// Events for jobs nobody watches are handled as before: no watch.
	other := newEventID()
	require.Equal(t, "started", deliver(t, a.url, other, timedEvent("job-unwatched-"+other, "completed", "2026-11-20T10:00:00Z", ""), secret).body["status"])
	res, err := a.result(t, other)
	require.NoError(t, err)
	require.Equal(t, []mediaflow.StepResult{{Step: "record", Outcome: "stored"}, {Step: "download", Outcome: "skipped", Detail: "MEDIA_DIR not set"},
		{Step: "notify", Outcome: "skipped", Detail: "no URL set"}}, res.Steps)
	_, err = a.client.DescribeWorkflow(ctx, mediaflow.WatchID("job-unwatched-"+other), "")
	require.True(t, isNotFound(err), "no watch is created: %v", err)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// waitForWatch waits until jobID's watch runs and says it is waiting.
func waitForWatch(t *testing.T, a *testApp, jobID string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		d, err := a.client.DescribeWorkflow(context.Background(), mediaflow.WatchID(jobID), "")
		if !assert.NoError(c, err) {
			return
		}
		state, _ := d.TypedSearchAttributes.GetKeyword(mediaflow.SearchAttrWatchState)
		assert.Equal(c, string(mediaflow.WatchWaiting), state)
	}, 20*time.Second, 100*time.Millisecond)
}
