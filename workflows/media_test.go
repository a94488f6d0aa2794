package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

var a *activities.Activities

func input(t *testing.T, data string) mediaflow.MediaCompletedInput {
	t.Helper()
	var job mediaflow.Job
	require.NoError(t, json.Unmarshal([]byte(data), &job))
	return mediaflow.MediaCompletedInput{
		EventID:    "msg_test",
		EventType:  "media.completed",
		ReceivedAt: time.Date(2026, 11, 20, 14, 3, 28, 0, time.UTC),
		Status:     mediaflow.ClassifyStatus(job.Status),
		Job:        job,
	}
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := s.NewTestWorkflowEnvironment()
	Register(env, Workflow{Options: DefaultOptions()}, &activities.Activities{})
	return env
}

var savedMedia = activities.Media{URL: "https://m/a.mp4", Path: "/media/j1/a.mp4", Size: 3, SHA256: "abc"}

func TestSuccessPath(t *testing.T) {
	env := newEnv(t)
	in := input(t, `{"job_id":"j1","status":"COMPLETED","media_url":"https://m/a.mp4","results":{"frames":60},"custom_payload":{"k":1},"extra":true}`)
	env.OnActivity(a.DownloadMedia, mock.Anything, activities.DownloadInput{EventID: "msg_test", JobID: "j1", URL: "https://m/a.mp4"}).
		Return(savedMedia, nil).Once()
	env.OnActivity(a.RecordJob, mock.Anything, mock.MatchedBy(func(got activities.RecordInput) bool {
		// Unknown fields survive the trip through Temporal's converter.
		return got.Event.Job.JobID == "j1" && string(got.Event.Job.Raw) == string(in.Job.Raw) && got.Media == savedMedia
	})).Return(activities.Recorded{}, nil).Once()
	env.OnActivity(a.Notify, mock.Anything, mock.MatchedBy(func(n activities.Notice) bool {
		return n.Type == "mediaflow.job.completed" && n.EventID == "msg_test" && n.Media != nil &&
			string(n.CustomPayload) == `{"k":1}`
	})).Return(activities.Delivery{Status: 204}, nil).Once()

	env.ExecuteWorkflow(mediaflow.WorkflowType, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res mediaflow.MediaCompletedResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, mediaflow.JobCompleted, res.Status)
	require.Equal(t, []string{
		"download: saved /media/j1/a.mp4 (3 bytes, sha256 abc)",
		"record: stored",
		"notify: delivered (HTTP 204)",
	}, res.Steps)
	env.AssertExpectations(t)
}

func TestFailurePathCompletesTheWorkflow(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.RecordJob, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil).Once()
	env.OnActivity(a.Alert, mock.Anything, mock.MatchedBy(func(n activities.Notice) bool {
		return n.Type == "mediaflow.job.failed" && n.Text == `Animus job j2 failed: {"code":"E_CODEC","message":"bad codec"}`
	})).Return(activities.Delivery{Skipped: true}, nil).Once()

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j2","status":"failed","error":{"code":"E_CODEC","message":"bad codec"}}`))
	require.NoError(t, env.GetWorkflowError(), "a failed Animus job is a job handled, not a failed workflow")
	var res mediaflow.MediaCompletedResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, mediaflow.JobFailed, res.Status)
	require.JSONEq(t, `{"code":"E_CODEC","message":"bad codec"}`, string(res.Error))
	require.Equal(t, []string{"record: stored", "alert: skipped (no URL set)"}, res.Steps)
	env.AssertExpectations(t)
	env.AssertNotCalled(t, "DownloadMedia", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "Notify", mock.Anything, mock.Anything)
}

func TestUnknownStatusFailsWithoutRetry(t *testing.T) {
	env := newEnv(t)
	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j3","status":"PROCESSING"}`))
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v, want an ApplicationError", err)
	require.Equal(t, ErrTypeUnknownStatus, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Contains(t, appErr.Error(), `"PROCESSING"`)
}

func TestRecordRetriedUntilItSucceeds(t *testing.T) {
	env := newEnv(t)
	calls := 0
	env.OnActivity(a.DownloadMedia, mock.Anything, mock.Anything).Return(activities.Media{Skipped: true, Note: "MEDIA_DIR not set"}, nil)
	env.OnActivity(a.RecordJob, mock.Anything, mock.Anything).Return(func(context.Context, activities.RecordInput) (activities.Recorded, error) {
		calls++
		if calls <= 2 {
			return activities.Recorded{}, errors.New("database is locked")
		}
		return activities.Recorded{}, nil
	})
	env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(activities.Delivery{Skipped: true}, nil)

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j4","status":"success"}`))
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 3, calls)
	var res mediaflow.MediaCompletedResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "download: skipped (MEDIA_DIR not set)", res.Steps[0])
}

func TestNonRetryableActivityErrorFailsTheWorkflow(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.DownloadMedia, mock.Anything, mock.Anything).Return(activities.Media{},
		temporal.NewNonRetryableApplicationError("downloading media: HTTP 404", activities.ErrTypeHTTPStatus, nil)).Once()

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j5","status":"completed","media_url":"https://m/gone.mp4"}`))
	require.ErrorContains(t, env.GetWorkflowError(), "HTTP 404")
	env.AssertExpectations(t)
	env.AssertNotCalled(t, "RecordJob", mock.Anything, mock.Anything)
}

func TestStatusQueryWhileRunning(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.DownloadMedia, mock.Anything, mock.Anything).Return(savedMedia, nil)
	env.OnActivity(a.RecordJob, mock.Anything, mock.Anything).After(time.Minute).Return(activities.Recorded{}, nil)
	env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(activities.Delivery{Status: 200}, nil)

	// Half a minute in, the download is done and the record still running.
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryStatus)
		require.NoError(t, err)
		var res mediaflow.MediaCompletedResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, mediaflow.JobCompleted, res.Status)
		require.Len(t, res.Steps, 1)
	}, 30*time.Second)
	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j6","status":"completed"}`))
	require.NoError(t, env.GetWorkflowError())
}
