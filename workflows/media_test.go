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
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/animus"
)

func input(t *testing.T, data string) mediaflow.MediaCompletedInput {
	t.Helper()
	job, err := animus.ParseJob(json.RawMessage(data))
	require.NoError(t, err)
	return mediaflow.MediaCompletedInput{
		EventID:    "msg_test",
		EventType:  animus.EventMediaCompleted,
		ReceivedAt: time.Date(2026, 11, 20, 14, 3, 28, 0, time.UTC),
		Job:        job,
	}
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(MediaCompleted, workflow.RegisterOptions{Name: mediaflow.WorkflowType})
	env.RegisterActivity(&activities.Activities{})
	return env
}

func TestSuccessPath(t *testing.T) {
	env := newEnv(t)
	var a *activities.Activities
	in := input(t, `{"job_id":"j1","status":"COMPLETED","results":{"frames":60},"extra":true}`)
	env.OnActivity(a.RecordJob, mock.Anything, mock.MatchedBy(func(got mediaflow.MediaCompletedInput) bool {
		// Unknown fields survive the trip through Temporal's converter.
		return got.Job.JobID == "j1" && string(got.Job.Raw) == string(in.Job.Raw)
	})).Return(nil).Once()

	env.ExecuteWorkflow(mediaflow.WorkflowType, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res mediaflow.MediaCompletedResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, mediaflow.PathSuccess, res.Path)
	require.Equal(t, "completed", res.Status)
	require.Equal(t, []string{"record: stored"}, res.Steps)
	env.AssertExpectations(t)
}

func TestFailurePathCompletesTheWorkflow(t *testing.T) {
	env := newEnv(t)
	var a *activities.Activities
	env.OnActivity(a.RecordJob, mock.Anything, mock.Anything).Return(nil).Once()

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j2","status":"failed","error":{"code":"E_CODEC","message":"bad codec"}}`))
	require.NoError(t, env.GetWorkflowError(), "a failed Animus job is a job handled, not a failed workflow")
	var res mediaflow.MediaCompletedResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, mediaflow.PathFailure, res.Path)
	require.Equal(t, "failed", res.Status)
	require.JSONEq(t, `{"code":"E_CODEC","message":"bad codec"}`, string(res.Error))
	env.AssertExpectations(t)
}

func TestUnknownStatusFailsWithoutRetry(t *testing.T) {
	env := newEnv(t)
	var a *activities.Activities
	env.OnActivity(a.RecordJob, mock.Anything, mock.Anything).Return(nil).Maybe()

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j3","status":"PROCESSING"}`))
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v, want an ApplicationError", err)
	require.Equal(t, ErrTypeUnknownStatus, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Contains(t, appErr.Error(), `"PROCESSING"`)
	env.AssertNotCalled(t, "RecordJob", mock.Anything, mock.Anything)
}

func TestRecordRetriedUntilItSucceeds(t *testing.T) {
	env := newEnv(t)
	var a *activities.Activities
	calls := 0
	env.OnActivity(a.RecordJob, mock.Anything, mock.Anything).Return(func(context.Context, mediaflow.MediaCompletedInput) error {
		calls++
		if calls <= 2 {
			return errors.New("database is locked")
		}
		return nil
	})

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j4","status":"success"}`))
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 3, calls)
}

func TestRecordOutOfRetriesFailsTheWorkflow(t *testing.T) {
	env := newEnv(t)
	var a *activities.Activities
	env.OnActivity(a.RecordJob, mock.Anything, mock.Anything).Return(
		temporal.NewNonRetryableApplicationError("no job data", activities.ErrTypeInvalidData, nil)).Once()

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j5","status":"completed"}`))
	require.Error(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}
