package workflows

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/telemetry"
)

// newWatchEnv returns a test environment (time skipping) whose workflow
// metrics go into reg, as the worker's do.
func newWatchEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	mh, err := telemetry.TemporalMetrics(reg, nil)
	require.NoError(t, err)
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	s.SetMetricsHandler(mh)
	env := s.NewTestWorkflowEnvironment()
	require.NoError(t, Register(env, Workflow{Options: shipped(t), Optional: allSteps}, &activities.Activities{}))
	return env, reg
}

func watchResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) mediaflow.WatchResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res mediaflow.WatchResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func overdue(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	n, err := testutil.GatherAndCount(reg, "mediaflow_job_watch_overdue_total")
	require.NoError(t, err)
	if n == 0 {
		return 0
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() == "mediaflow_job_watch_overdue_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

var (
	completedAt10 = mediaflow.JobOutcome{JobID: "j1", EventID: "msg_10", Status: mediaflow.JobCompleted,
		EventTimestamp: "2026-11-20T10:00:00Z", MediaPath: "/media/j1/a.mp4"}
	failedAt1005 = mediaflow.JobOutcome{JobID: "j1", EventID: "msg_1005", Status: mediaflow.JobFailed,
		EventTimestamp: "2026-11-20T10:05:00Z", Error: []byte(`"decoder crashed"`)}
)

func TestWatchEventBeforeWatch(t *testing.T) {
	env, _ := newWatchEnv(t)
	env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(&completedAt10, nil).Once()
	env.ExecuteWorkflow(mediaflow.WatchWorkflowType, mediaflow.WatchInput{JobID: "j1"})
	res := watchResult(t, env)
	require.Equal(t, mediaflow.WatchDone, res.State)
	require.Equal(t, &completedAt10, res.Outcome)
	env.AssertNotCalled(t, "Alert", mock.Anything, mock.Anything)
}

func TestWatchThenEvent(t *testing.T) {
	env, _ := newWatchEnv(t)
	env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(nil, nil).Once()
	env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(&completedAt10, nil).Once()
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(mediaflow.QueryStatus)
		require.NoError(t, err)
		var res mediaflow.WatchResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, mediaflow.WatchWaiting, res.State)
		env.SignalWorkflow(mediaflow.SignalJobOutcome, completedAt10)
	}, 30*time.Minute)
	env.ExecuteWorkflow(mediaflow.WatchWorkflowType, mediaflow.WatchInput{JobID: "j1"})
	res := watchResult(t, env)
	require.Equal(t, mediaflow.WatchDone, res.State)
	require.Equal(t, &completedAt10, res.Outcome)
	require.False(t, res.Alerted)
	env.AssertNotCalled(t, "Alert", mock.Anything, mock.Anything)
}

func TestWatchDeadlineAlertsOnceThenExpires(t *testing.T) {
	env, reg := newWatchEnv(t)
	env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(nil, nil).Once()
	env.OnActivity(a.Alert, mock.Anything, mock.MatchedBy(func(n activities.Notice) bool {
		return n.Type == "mediaflow.job.overdue" && n.EventID == "animus-job-j1/overdue" && n.JobID == "j1" &&
			n.Text == "no media.completed for job j1 within 2h0m0s: check the endpoint's subscription and Svix's delivery log"
	})).Return(activities.Delivery{Status: 200}, nil).Once()
	var stateAt3h mediaflow.WatchResult
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(mediaflow.QueryStatus)
		require.NoError(t, err)
		require.NoError(t, v.Get(&stateAt3h))
	}, 3*time.Hour)
	env.ExecuteWorkflow(mediaflow.WatchWorkflowType, mediaflow.WatchInput{JobID: "j1"})
	res := watchResult(t, env)
	require.Equal(t, mediaflow.WatchOverdue, stateAt3h.State, "overdue after the deadline, still open")
	require.Equal(t, mediaflow.WatchExpired, res.State)
	require.Nil(t, res.Outcome)
	require.True(t, res.Alerted)
	require.Equal(t, 1.0, overdue(t, reg))
	env.AssertExpectations(t)
}

func TestWatchLateEventWithinGrace(t *testing.T) {
	env, reg := newWatchEnv(t)
	env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(nil, nil).Once()
	env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(&failedAt1005, nil).Once()
	env.OnActivity(a.Alert, mock.Anything, mock.Anything).Return(activities.Delivery{Status: 200}, nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(mediaflow.SignalJobOutcome, failedAt1005) }, 5*time.Hour)
	env.ExecuteWorkflow(mediaflow.WatchWorkflowType, mediaflow.WatchInput{JobID: "j1", Deadline: "1h", Grace: "10h"})
	res := watchResult(t, env)
	require.Equal(t, mediaflow.WatchDone, res.State)
	require.Equal(t, &failedAt1005, res.Outcome)
	require.True(t, res.Alerted)
	require.Equal(t, 1.0, overdue(t, reg))
}

// TestWatchNewestOfTwoEvents: two events for one job, the newest wins, as
// in the job's row: signalled in either order, or the older signalled
// while the newer was already recorded.
func TestWatchNewestOfTwoEvents(t *testing.T) {
	for _, order := range [][]mediaflow.JobOutcome{{completedAt10, failedAt1005}, {failedAt1005, completedAt10}} {
		env, _ := newWatchEnv(t)
		env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(nil, nil).Once()
		// By the time the watch reads it, the row holds the newer event.
		env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(&failedAt1005, nil).Once()
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(mediaflow.SignalJobOutcome, order[0])
			env.SignalWorkflow(mediaflow.SignalJobOutcome, order[1])
		}, time.Minute)
		env.ExecuteWorkflow(mediaflow.WatchWorkflowType, mediaflow.WatchInput{JobID: "j1"})
		require.Equal(t, &failedAt1005, watchResult(t, env).Outcome)
	}

	env, _ := newWatchEnv(t)
	env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(nil, nil).Once()
	env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(&failedAt1005, nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(mediaflow.SignalJobOutcome, completedAt10) }, time.Minute)
	env.ExecuteWorkflow(mediaflow.WatchWorkflowType, mediaflow.WatchInput{JobID: "j1"})
	require.Equal(t, &failedAt1005, watchResult(t, env).Outcome)
}

// TestWatchInvalidInput: a watch fails at once, InvalidWatch, for no job
// ID or one that no event the server accepts can carry (blank, over 255
// bytes, not printable ASCII), and for a bad deadline or grace; it does
// not wait, alert and expire.
func TestWatchInvalidInput(t *testing.T) {
	for _, in := range []mediaflow.WatchInput{{}, {JobID: "  "}, {JobID: strings.Repeat("j", 256)}, {JobID: "job\n1"}, {JobID: "jöb"},
		{JobID: "j1", Deadline: "soon"}, {JobID: "j1", Grace: "-1h"}} {
		env, _ := newWatchEnv(t)
		env.ExecuteWorkflow(mediaflow.WatchWorkflowType, in)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(env.GetWorkflowError(), &appErr), "%+v", in)
		require.Equal(t, ErrTypeInvalidWatch, appErr.Type())
		require.True(t, appErr.NonRetryable())
	}
}

// TestWatchCanceled: a watch canceled by its parent (or an operator) ends
// canceled, whether it waits for its deadline or in its grace period: it
// neither alerts, nor counts as overdue, nor says "expired".
func TestWatchCanceled(t *testing.T) {
	for _, at := range []time.Duration{30 * time.Minute, 5 * time.Hour} {
		env, reg := newWatchEnv(t)
		env.OnActivity(a.LookupJob, mock.Anything, "j1").Return(nil, nil).Once()
		env.OnActivity(a.Alert, mock.Anything, mock.Anything).Return(activities.Delivery{Status: 200}, nil).Maybe()
		env.RegisterDelayedCallback(env.CancelWorkflow, at)
		env.ExecuteWorkflow(mediaflow.WatchWorkflowType, mediaflow.WatchInput{JobID: "j1"})
		require.True(t, env.IsWorkflowCompleted())
		var canceled *temporal.CanceledError
		require.True(t, errors.As(env.GetWorkflowError(), &canceled), "canceled at %s: %v", at, env.GetWorkflowError())
		wantOverdue := 0.0
		if at > 2*time.Hour {
			wantOverdue = 1 // it was overdue before the cancel
		}
		require.Equal(t, wantOverdue, overdue(t, reg), "canceled at %s", at)
	}
}
