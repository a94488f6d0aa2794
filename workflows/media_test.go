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
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/config"
)

// shipped returns the options a worker runs with by default: those of
// package config's defaults.
func shipped(t testing.TB) Options {
	t.Helper()
	cfg, err := config.LoadWorker(config.Environ{})
	require.NoError(t, err)
	return NewOptions(cfg.TaskQueue, Windows{Database: cfg.DatabaseRetryWindow, Download: cfg.DownloadRetryWindow,
		Delivery: cfg.DeliveryRetryWindow})
}

// step is a StepResult.
func step(name string, outcome mediaflow.StepOutcome, detail string) mediaflow.StepResult {
	return mediaflow.StepResult{Step: name, Outcome: outcome, Detail: detail}
}

func input(t *testing.T, data string) mediaflow.MediaCompletedInput {
	t.Helper()
	var job mediaflow.Job
	require.NoError(t, json.Unmarshal([]byte(data), &job))
	return mediaflow.MediaCompletedInput{
		EventID:        "msg_test",
		EventType:      "media.completed",
		EventTimestamp: "2026-11-20T14:03:27Z",
		ReceivedAt:     time.Date(2026, 11, 20, 14, 3, 28, 0, time.UTC),
		Status:         mediaflow.ClassifyStatus(job.Status),
		Job:            job,
	}
}

// allSteps is a worker with MEDIA_DIR, NOTIFY_URL and ALERT_URL set, and
// NOTIFY_MAX_PER_SECOND off.
var allSteps = Optional{Download: true, Notify: true, Alert: true}

func newEnv(t *testing.T, optional Optional, steps ...Step) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := s.NewTestWorkflowEnvironment()
	require.NoError(t, Register(env, Workflow{Options: shipped(t), Optional: optional, Steps: steps}, &activities.Activities{}))
	return env
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) mediaflow.MediaCompletedResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res mediaflow.MediaCompletedResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

var savedMedia = activities.Media{URL: "https://m/a.mp4", Path: "/media/j1/a.mp4", Size: 3, SHA256: "abc"}

func TestSuccessPath(t *testing.T) {
	env := newEnv(t, allSteps)
	in := input(t, `{"job_id":"j1","status":"COMPLETED","media_url":"https://m/a.mp4","results":{"frames":60},"custom_payload":{"k":1},"extra":true}`)
	env.OnActivity(a.RecordEvent, mock.Anything, mock.MatchedBy(func(got mediaflow.MediaCompletedInput) bool {
		// Unknown fields survive the trip through Temporal's converter.
		return got.Job.JobID == "j1" && string(got.Job.Raw) == string(in.Job.Raw)
	})).Return(activities.Recorded{}, nil).Once()
	env.OnActivity(a.DownloadMedia, mock.Anything, activities.DownloadInput{EventID: "msg_test", JobID: "j1", URL: "https://m/a.mp4"}).
		Return(savedMedia, nil).Once()
	env.OnActivity(a.RecordMedia, mock.Anything, activities.MediaRecord{EventID: "msg_test", JobID: "j1", Media: savedMedia}).
		Return(activities.Recorded{}, nil).Once()
	env.OnActivity(a.TellWatch, mock.Anything, mock.MatchedBy(func(o mediaflow.JobOutcome) bool {
		return o.JobID == "j1" && o.EventID == "msg_test" && o.Status == mediaflow.JobCompleted && o.MediaPath == savedMedia.Path
	})).Return(activities.Told{}, nil).Once()
	env.OnActivity(a.Notify, mock.Anything, mock.MatchedBy(func(n activities.Notice) bool {
		return n.Type == "mediaflow.job.completed" && n.EventID == "msg_test" && n.Media != nil && n.IfCurrent &&
			n.EventTimestamp == "2026-11-20T14:03:27Z" && string(n.CustomPayload) == `{"k":1}`
	})).Return(activities.Delivery{Status: 204}, nil).Once()

	env.ExecuteWorkflow(mediaflow.WorkflowType, in)
	res := result(t, env)
	require.Equal(t, mediaflow.JobCompleted, res.Status)
	require.False(t, res.Stale)
	require.Equal(t, []mediaflow.StepResult{
		step("record", "stored", ""),
		{Step: "download", Outcome: "saved", Detail: "/media/j1/a.mp4, 3 bytes, sha256 abc", Bytes: 3},
		step("notify", "delivered", "HTTP 204"),
	}, res.Steps)
	require.Equal(t, "job j1 completed: recorded, saved 3 B, notified (HTTP 204)", res.Summary)
	env.AssertExpectations(t)
}

// TestStepsNotConfiguredAreNotScheduled: a worker without MEDIA_DIR,
// NOTIFY_URL or ALERT_URL records the job and tells its watch, nothing
// more; the result says what was skipped.
func TestStepsNotConfiguredAreNotScheduled(t *testing.T) {
	for _, tc := range []struct {
		data  string
		steps []mediaflow.StepResult
	}{
		{`{"job_id":"j1","status":"completed","media_url":"https://m/a.mp4"}`,
			[]mediaflow.StepResult{step("record", "stored", ""), step("download", "skipped", "MEDIA_DIR not set"), step("notify", "skipped", "no URL set")}},
		{`{"job_id":"j2","status":"failed","error":"bad codec"}`,
			[]mediaflow.StepResult{step("record", "stored", ""), step("alert", "skipped", "no URL set")}},
	} {
		env := newEnv(t, Optional{})
		env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil).Once()
		env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil).Once()
		env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, tc.data))
		require.Equal(t, tc.steps, result(t, env).Steps)
		env.AssertExpectations(t)
		for _, name := range []string{"DownloadMedia", "RecordMedia", "Notify", "Alert"} {
			env.AssertNotCalled(t, name, mock.Anything, mock.Anything)
		}
	}
}

func TestFailurePathCompletesTheWorkflow(t *testing.T) {
	env := newEnv(t, allSteps)
	env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil).Once()
	env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{Watch: true}, nil).Once()
	env.OnActivity(a.Alert, mock.Anything, mock.MatchedBy(func(n activities.Notice) bool {
		return n.Type == "mediaflow.job.failed" && n.Text == `Animus job j2 failed: {"code":"E_CODEC","message":"bad codec"}`
	})).Return(activities.Delivery{Status: 200}, nil).Once()

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j2","status":"failed","media_url":"https://m/a.mp4","error":{"code":"E_CODEC","message":"bad codec"}}`))
	res := result(t, env)
	require.Equal(t, mediaflow.JobFailed, res.Status)
	require.JSONEq(t, `{"code":"E_CODEC","message":"bad codec"}`, string(res.Error))
	require.Equal(t, []mediaflow.StepResult{step("record", "stored", ""), step("watch", "told", "animus-job-j2"),
		step("alert", "delivered", "HTTP 200")}, res.Steps)
	env.AssertExpectations(t)
	env.AssertNotCalled(t, "DownloadMedia", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "Notify", mock.Anything, mock.Anything)
}

// TestStaleEventCausesNoSideEffects: an event older than the one the
// job's row holds is recorded as stale at whichever step finds it, and
// nothing after that step runs; the result names the newer event.
func TestStaleEventCausesNoSideEffects(t *testing.T) {
	newer := activities.Recorded{Stale: true, NewerEventID: "msg_newer"}
	tests := []struct {
		name     string
		data     string
		mock     func(env *testsuite.TestWorkflowEnvironment)
		lastStep mediaflow.StepResult
		notRun   []string
	}{
		{"at record, completed job", `{"job_id":"j1","status":"completed","media_url":"https://m/a.mp4"}`,
			func(env *testsuite.TestWorkflowEnvironment) {
				env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(newer, nil).Once()
			}, step("record", "stale", "the job's row holds newer event msg_newer: no download, notification or alert"),
			[]string{"DownloadMedia", "RecordMedia", "TellWatch", "Notify"}},
		{"at record, failed job", `{"job_id":"j1","status":"failed"}`,
			func(env *testsuite.TestWorkflowEnvironment) {
				env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(newer, nil).Once()
			}, step("record", "stale", "the job's row holds newer event msg_newer: no download, notification or alert"),
			[]string{"TellWatch", "Alert"}},
		{"after the download", `{"job_id":"j1","status":"completed","media_url":"https://m/a.mp4"}`,
			func(env *testsuite.TestWorkflowEnvironment) {
				env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil).Once()
				env.OnActivity(a.DownloadMedia, mock.Anything, mock.Anything).Return(savedMedia, nil).Once()
				env.OnActivity(a.RecordMedia, mock.Anything, mock.Anything).Return(newer, nil).Once()
			}, step("record media", "stale", "the job's row holds newer event msg_newer: no notification"),
			[]string{"TellWatch", "Notify"}},
		{"right before the alert", `{"job_id":"j1","status":"failed"}`,
			func(env *testsuite.TestWorkflowEnvironment) {
				env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil).Once()
				env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil).Once()
				env.OnActivity(a.Alert, mock.Anything, mock.Anything).
					Return(activities.Delivery{Stale: true, NewerEventID: "msg_newer"}, nil).Once()
			}, step("alert", "stale", "the job's row holds newer event msg_newer: not sent"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, allSteps)
			tc.mock(env)
			env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, tc.data))
			res := result(t, env)
			require.True(t, res.Stale)
			require.Equal(t, "msg_newer", res.NewerEventID)
			require.Equal(t, tc.lastStep, res.Steps[len(res.Steps)-1])
			env.AssertExpectations(t)
			for _, name := range tc.notRun {
				env.AssertNotCalled(t, name, mock.Anything, mock.Anything)
			}
		})
	}
}

func TestUnknownStatusFailsWithoutRetry(t *testing.T) {
	env := newEnv(t, allSteps)
	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j3","status":"PROCESSING"}`))
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v, want an ApplicationError", err)
	require.Equal(t, ErrTypeUnknownStatus, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Contains(t, appErr.Error(), `"PROCESSING"`)
	env.AssertNotCalled(t, "RecordEvent", mock.Anything, mock.Anything)
}

func TestRecordRetriedUntilItSucceeds(t *testing.T) {
	env := newEnv(t, Optional{})
	calls := 0
	env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(func(context.Context, mediaflow.MediaCompletedInput) (activities.Recorded, error) {
		calls++
		if calls <= 2 {
			return activities.Recorded{}, errors.New("database is locked")
		}
		return activities.Recorded{}, nil
	})
	env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil)

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j4","status":"success"}`))
	res := result(t, env)
	require.Equal(t, 3, calls)
	require.Equal(t, step("record", "stored", ""), res.Steps[0])
}

func TestNonRetryableActivityErrorFailsTheWorkflow(t *testing.T) {
	env := newEnv(t, allSteps)
	env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil).Once()
	env.OnActivity(a.DownloadMedia, mock.Anything, mock.Anything).Return(activities.Media{},
		temporal.NewNonRetryableApplicationError("downloading media: HTTP 404", activities.ErrTypeHTTPStatus, nil)).Once()

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j5","status":"completed","media_url":"https://m/gone.mp4"}`))
	require.ErrorContains(t, env.GetWorkflowError(), "HTTP 404")
	env.AssertExpectations(t)
	env.AssertNotCalled(t, "Notify", mock.Anything, mock.Anything)
}

func TestStatusQueryWhileRunning(t *testing.T) {
	env := newEnv(t, allSteps)
	env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil)
	env.OnActivity(a.DownloadMedia, mock.Anything, mock.Anything).After(time.Minute).Return(savedMedia, nil)
	env.OnActivity(a.RecordMedia, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil)
	env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil)
	env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(activities.Delivery{Status: 200}, nil)

	// Half a minute in, the job is recorded and the download still running.
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(mediaflow.QueryStatus)
		require.NoError(t, err)
		var res mediaflow.MediaCompletedResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, mediaflow.JobCompleted, res.Status)
		require.Equal(t, []mediaflow.StepResult{step("record", "stored", "")}, res.Steps)
	}, 30*time.Second)
	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j6","status":"completed","media_url":"https://m/a.mp4"}`))
	require.NoError(t, env.GetWorkflowError())
}

// kinds counts the activities env runs, by name and kind.
type kinds struct{ local, task map[string]int }

func countKinds(env *testsuite.TestWorkflowEnvironment) *kinds {
	k := &kinds{local: map[string]int{}, task: map[string]int{}}
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		k.local[info.ActivityType.Name]++
	})
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		k.task[info.ActivityType.Name]++
	})
	return k
}

// TestNotifyFirstAttemptIsLocal: a receiver that answers gets the
// notification from a local activity; no activity task is scheduled for
// it (only the download is one).
func TestNotifyFirstAttemptIsLocal(t *testing.T) {
	for _, tc := range []struct {
		name, data, activity, step string
	}{
		{"notify", `{"job_id":"j1","status":"completed","media_url":"https://m/a.mp4"}`, "Notify", "notify"},
		{"alert", `{"job_id":"j2","status":"failed","error":"bad codec"}`, "Alert", "alert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, allSteps)
			k := countKinds(env)
			env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil).Once()
			env.OnActivity(a.DownloadMedia, mock.Anything, mock.Anything).Return(savedMedia, nil).Maybe()
			env.OnActivity(a.RecordMedia, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil).Maybe()
			env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil).Once()
			env.OnActivity(tc.activity, mock.Anything, mock.Anything).Return(activities.Delivery{Status: 204}, nil).Once()

			env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, tc.data))
			res := result(t, env)
			require.Equal(t, step(tc.step, "delivered", "HTTP 204"), res.Steps[len(res.Steps)-1])
			require.Equal(t, 1, k.local[tc.activity], "local attempts")
			require.Zero(t, k.task[tc.activity], "activity tasks")
			env.AssertExpectations(t)
		})
	}
}

// TestNotifyRetriedAsActivityAfterFirstAttemptFails: a receiver that is
// down when the local attempt runs gets the notification from the activity
// task, with its retry policy, after the Retry-After it answered.
func TestNotifyRetriedAsActivityAfterFirstAttemptFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		atLeast time.Duration
	}{
		{"connection refused", errors.New("posting: connection refused"), 0},
		{"503 with Retry-After", temporal.NewApplicationErrorWithOptions("notifying: HTTP 503", activities.ErrTypeRetryableHTTP,
			temporal.ApplicationErrorOptions{NextRetryDelay: 90 * time.Second}), 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, Optional{Notify: true})
			k := countKinds(env)
			env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil).Once()
			env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil).Once()
			var firstAt, secondAt time.Time
			env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(func(context.Context, activities.Notice) (activities.Delivery, error) {
				if firstAt.IsZero() {
					firstAt = env.Now()
					return activities.Delivery{}, tc.err
				}
				secondAt = env.Now()
				return activities.Delivery{Status: 200}, nil
			}).Twice()

			env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j1","status":"completed"}`))
			res := result(t, env)
			require.Equal(t, step("notify", "delivered", "HTTP 200"), res.Steps[len(res.Steps)-1])
			require.Equal(t, 1, k.local["Notify"], "local attempts")
			require.Equal(t, 1, k.task["Notify"], "activity tasks")
			require.GreaterOrEqual(t, secondAt.Sub(firstAt), tc.atLeast)
			env.AssertExpectations(t)
		})
	}
}

// TestNotifyFirstAttemptFailingForGoodFailsTheWorkflow: an answer that
// retrying cannot fix (a 4xx) fails the step at once, as the activity
// would have: no activity task repeats it.
func TestNotifyFirstAttemptFailingForGoodFailsTheWorkflow(t *testing.T) {
	env := newEnv(t, Optional{Alert: true})
	k := countKinds(env)
	env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil).Once()
	env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil).Once()
	env.OnActivity(a.Alert, mock.Anything, mock.Anything).Return(activities.Delivery{},
		temporal.NewNonRetryableApplicationError("alerting: HTTP 404", activities.ErrTypeHTTPStatus, nil)).Once()

	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j2","status":"failed"}`))
	require.True(t, env.IsWorkflowCompleted())
	require.ErrorContains(t, env.GetWorkflowError(), "HTTP 404")
	require.Equal(t, 1, k.local["Alert"])
	require.Zero(t, k.task["Alert"])
	env.AssertExpectations(t)
}
