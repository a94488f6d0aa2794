package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// TestWatchStartedAtAnyMoment: a watch completes only with a finished
// outcome, the saved media's path included, whenever it starts: before
// the job's event, while the event is recorded (the database locked by
// another process), while its media downloads, while its notification is
// sent, and after it was handled.
func TestWatchStartedAtAnyMoment(t *testing.T) {
	t.Parallel()
	gates := map[string]chan struct{}{}
	for _, g := range []string{"download", "notify"} {
		gates[g] = make(chan struct{})
	}
	var asked sync.Map // gate → true once its request arrived
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow.mp4" {
			asked.Store("download", true)
			<-gates["download"]
		}
		w.Write([]byte("clip"))
	}))
	defer media.Close()
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "job-notify-") {
			asked.Store("notify", true)
			<-gates["notify"]
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer notify.Close()
	defer func() {
		for _, g := range gates {
			select {
			case <-g:
			default:
				close(g)
			}
		}
	}()
	lock := sqliteLocked(t)
	a := newApp(t, func(c *appConfig) {
		c.env["DATABASE_URL"] = lock.url
		c.env["MEDIA_DIR"], c.env["MEDIA_ALLOWED_HOSTS"], c.env["NOTIFY_URL"] = t.TempDir(), "127.0.0.1", notify.URL
	})
	ctx := context.Background()
	startWatch := func(jobID string) client.WorkflowRun {
		run, err := a.client.ExecuteWorkflow(ctx, mediaflow.WatchStartOptions(a.taskQueue, jobID), mediaflow.WatchWorkflowType,
			mediaflow.WatchInput{JobID: jobID, Deadline: "1h"})
		require.NoError(t, err)
		return run
	}
	stillWaiting := func(run client.WorkflowRun) {
		time.Sleep(time.Second) // its lookup has run by now
		d, err := a.client.DescribeWorkflowExecution(ctx, run.GetID(), "")
		require.NoError(t, err)
		require.Equal(t, "Running", d.GetWorkflowExecutionInfo().GetStatus().String(), "an outcome that is not final yet is not taken")
	}
	// outcome waits for the event and the watch, and checks the watch has
	// the row's whole outcome.
	outcome := func(id, jobID string, run client.WorkflowRun) {
		_, err := a.resultWithin(t, id, time.Minute)
		require.NoError(t, err)
		var got mediaflow.WatchResult
		require.NoError(t, run.Get(ctx, &got))
		require.Equal(t, mediaflow.WatchDone, got.State)
		row, err := a.store.Job(ctx, jobID)
		require.NoError(t, err)
		require.NotEmpty(t, row.MediaPath)
		require.Equal(t, id, got.Outcome.EventID)
		require.Equal(t, row.MediaPath, got.Outcome.MediaPath, "the outcome with its media")
	}
	send := func(jobID, path string) string {
		id := newEventID()
		require.Equal(t, "started", deliver(t, a.url, id, eventFor(jobID, "completed", media.URL+path), secret).body["status"])
		return id
	}

	t.Run("before the event", func(t *testing.T) {
		jobID := "job-before-" + rand.Text()
		run := startWatch(jobID)
		waitForWatch(t, a, jobID)
		outcome(send(jobID, "/clip.mp4"), jobID, run)
	})
	t.Run("while the event is recorded", func(t *testing.T) {
		jobID := "job-record-" + rand.Text()
		lock.brk()
		id := send(jobID, "/clip.mp4")
		waitRecordFailed(t, a, 1)
		run := startWatch(jobID)
		stillWaiting(run)
		lock.mend()
		outcome(id, jobID, run)
	})
	t.Run("while the media downloads", func(t *testing.T) {
		jobID := "job-download-" + rand.Text()
		id := send(jobID, "/slow.mp4")
		require.Eventually(t, func() bool { _, ok := asked.Load("download"); return ok }, 20*time.Second, 20*time.Millisecond)
		run := startWatch(jobID)
		stillWaiting(run)
		close(gates["download"])
		outcome(id, jobID, run)
	})
	t.Run("while the notification is sent", func(t *testing.T) {
		jobID := "job-notify-" + rand.Text()
		id := send(jobID, "/clip.mp4")
		require.Eventually(t, func() bool { _, ok := asked.Load("notify"); return ok }, 20*time.Second, 20*time.Millisecond)
		run := startWatch(jobID)
		var got mediaflow.WatchResult
		require.NoError(t, run.Get(ctx, &got), "the outcome is final once the watch was told")
		close(gates["notify"])
		outcome(id, jobID, run)
	})
	t.Run("after the event", func(t *testing.T) {
		jobID := "job-after-" + rand.Text()
		id := send(jobID, "/clip.mp4")
		_, err := a.resultWithin(t, id, time.Minute)
		require.NoError(t, err)
		outcome(id, jobID, startWatch(jobID))
	})
}
