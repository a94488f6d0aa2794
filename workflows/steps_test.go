package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

// recordStep is a user's step that records what it saw.
type recordStep struct{ got []StepInput }

func (r *recordStep) run(_ context.Context, in StepInput) (mediaflow.StepResult, error) {
	r.got = append(r.got, in)
	return mediaflow.StepResult{Detail: "seen " + in.Event.EventID}, nil
}

// mockBuiltins answers every built-in step of a completed job with media,
// or of a failed job.
func mockBuiltins(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil)
	env.OnActivity(a.DownloadMedia, mock.Anything, mock.Anything).Return(savedMedia, nil)
	env.OnActivity(a.RecordMedia, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil)
	env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{Watch: true}, nil)
	env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(activities.Delivery{Status: 200}, nil)
	env.OnActivity(a.Alert, mock.Anything, mock.Anything).Return(activities.Delivery{Status: 200}, nil)
}

// TestUserStepsRunWhereTheySay: each user's step runs after the built-in
// step it names, for the statuses it names, in the order listed, with the
// event and the saved media; its result is in the workflow's result and
// summary, and a step not configured is listed as skipped.
func TestUserStepsRunWhereTheySay(t *testing.T) {
	archive, index, audit := &recordStep{}, &recordStep{}, &recordStep{}
	steps := []Step{
		{Name: "audit", After: AfterDelivery, Run: audit.run},
		{Name: "archive", After: AfterDownload, On: []mediaflow.JobStatus{mediaflow.JobCompleted}, Run: archive.run},
		{Name: "index", After: AfterRecord, On: []mediaflow.JobStatus{mediaflow.JobFailed}, Run: index.run},
		{Name: "warehouse", After: AfterWatch, Off: "WAREHOUSE_URL not set"},
	}
	t.Run("completed", func(t *testing.T) {
		env := newEnv(t, allSteps, steps...)
		mockBuiltins(env)
		env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j1","status":"completed","media_url":"https://m/a.mp4"}`))
		res := result(t, env)
		var names []string
		for _, s := range res.Steps {
			names = append(names, s.Step)
		}
		require.Equal(t, []string{"record", "download", "archive", "watch", "warehouse", "notify", "audit"}, names)
		require.Equal(t, step("archive", mediaflow.StepDone, "seen msg_test"), res.Steps[2])
		require.Equal(t, step("warehouse", mediaflow.StepSkipped, "WAREHOUSE_URL not set"), res.Steps[4])
		require.Len(t, archive.got, 1)
		require.Equal(t, &savedMedia, archive.got[0].Media, "archive sees the saved media")
		require.Equal(t, "j1", archive.got[0].Event.Job.JobID)
		require.Empty(t, index.got, "index runs for failed jobs only")
		require.Len(t, audit.got, 1)
		require.Contains(t, res.Summary, "archive done (seen msg_test)")
	})
	t.Run("failed", func(t *testing.T) {
		archive.got, index.got, audit.got = nil, nil, nil
		env := newEnv(t, allSteps, steps...)
		mockBuiltins(env)
		env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j2","status":"failed"}`))
		var names []string
		for _, s := range result(t, env).Steps {
			names = append(names, s.Step)
		}
		require.Equal(t, []string{"record", "index", "watch", "warehouse", "alert", "audit"}, names)
		require.Empty(t, archive.got)
		require.Nil(t, index.got[0].Media)
	})
}

// TestRegisterRefusesMalformedSteps names what is wrong with a step.
func TestRegisterRefusesMalformedSteps(t *testing.T) {
	run := (&recordStep{}).run
	for _, tc := range []struct {
		step Step
		want string
	}{
		{Step{After: AfterRecord, Run: run}, "no Name"},
		{Step{Name: "Notify", After: AfterRecord, Run: run}, "taken"},
		// A built-in step's name in the result: a step "notify" returning
		// "delivered" read "notified (HTTP 200)" beside, or instead of,
		// the real notification's line, with NOTIFY_URL unset.
		{Step{Name: mediaflow.StepNotify, After: AfterDelivery, Run: run}, "taken"},
		{Step{Name: mediaflow.StepDownload, After: AfterDownload, Run: run}, "taken"},
		{Step{Name: mediaflow.StepRecordMedia, After: AfterDownload, Off: "off"}, "taken"},
		{Step{Name: "x", After: AfterRecord}, "no Run"},
		{Step{Name: "x", After: "end", Run: run}, `After "end"`},
	} {
		var s testsuite.WorkflowTestSuite
		err := Register(s.NewTestWorkflowEnvironment(), Workflow{Options: shipped(t), Steps: []Step{tc.step}}, &activities.Activities{})
		require.ErrorContains(t, err, tc.want)
	}
	var s testsuite.WorkflowTestSuite
	twice := []Step{{Name: "x", After: AfterRecord, Run: run}, {Name: "x", After: AfterWatch, Run: run}}
	require.ErrorContains(t, Register(s.NewTestWorkflowEnvironment(), Workflow{Options: shipped(t), Steps: twice}, &activities.Activities{}), "taken")
}

// TestRateLimitedDeliveriesAreActivityTasks: with NOTIFY_MAX_PER_SECOND
// on, every delivery attempt, the first included, is an activity task on
// the delivery task queue, where Temporal bounds their rate; none is a
// local activity.
func TestRateLimitedDeliveriesAreActivityTasks(t *testing.T) {
	env := newEnv(t, Optional{Notify: true, RateLimited: true})
	k := countKinds(env)
	var queue string
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		k.task[info.ActivityType.Name]++
		queue = info.TaskQueue
	})
	env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil)
	env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil)
	calls := 0
	env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(func(context.Context, activities.Notice) (activities.Delivery, error) {
		if calls++; calls == 1 {
			return activities.Delivery{}, errors.New("connection refused")
		}
		return activities.Delivery{Status: 200}, nil
	})
	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j1","status":"completed"}`))
	res := result(t, env)
	require.Equal(t, step("notify", "delivered", "HTTP 200"), res.Steps[len(res.Steps)-1])
	require.Zero(t, k.local["Notify"], "local attempts")
	require.Equal(t, 2, k.task["Notify"], "activity task attempts")
	require.Equal(t, mediaflow.DeliveryTaskQueue(mediaflow.DefaultTaskQueue), queue)
}

// TestOutcomeDeliveredBeforeIsNotSentAgain: the job database's memory of
// a delivery (another event ID, or this event before Temporal's retention
// removed its run) shows in the result.
func TestOutcomeDeliveredBeforeIsNotSentAgain(t *testing.T) {
	env := newEnv(t, allSteps)
	env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil)
	env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil)
	env.OnActivity(a.Alert, mock.Anything, mock.Anything).Return(activities.Delivery{DeliveredBy: "msg_first"}, nil)
	env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j2","status":"failed"}`))
	res := result(t, env)
	require.Equal(t, step("alert", mediaflow.StepAlreadyDelivered, "with event msg_first"), res.Steps[len(res.Steps)-1])
}

// TestDatabaseOutageWithinTheWindow: the shipped options retry a local
// step for the whole database window, not only its StartToClose: a
// database down for two minutes (and then for 19) delays the event, one
// down for longer than the window fails it, naming the step.
func TestDatabaseOutageWithinTheWindow(t *testing.T) {
	window := shipped(t).Local.ScheduleToCloseTimeout
	require.Equal(t, 20*time.Minute, window, "the default docs/configuration.md states")
	for _, tc := range []struct {
		down time.Duration
		ok   bool
	}{
		{2 * time.Minute, true},
		{19 * time.Minute, true},
		{window + time.Minute, false},
	} {
		t.Run(tc.down.String(), func(t *testing.T) {
			env := newEnv(t, Optional{})
			var first time.Time
			env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(func(context.Context, mediaflow.MediaCompletedInput) (activities.Recorded, error) {
				if first.IsZero() {
					first = env.Now()
				}
				if env.Now().Sub(first) < tc.down {
					return activities.Recorded{}, errors.New("database is locked")
				}
				return activities.Recorded{}, nil
			})
			env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil)
			env.ExecuteWorkflow(mediaflow.WorkflowType, input(t, `{"job_id":"j1","status":"completed"}`))
			require.True(t, env.IsWorkflowCompleted())
			if tc.ok {
				require.NoError(t, env.GetWorkflowError())
				return
			}
			require.ErrorContains(t, env.GetWorkflowError(), "recording job j1")
		})
	}
}

// TestStepOptionsAreBounded: a step's own options are kept, and what it
// leaves zero comes from the shipped defaults, so no step retries without
// a window.
func TestStepOptionsAreBounded(t *testing.T) {
	defaults := shipped(t).Step
	wf := Workflow{Options: shipped(t), Steps: []Step{{Name: "own", Options: workflow.ActivityOptions{StartToCloseTimeout: time.Hour}}}}
	got := wf.stepOptions("own")
	require.Equal(t, time.Hour, got.StartToCloseTimeout)
	require.Equal(t, defaults.ScheduleToCloseTimeout, got.ScheduleToCloseTimeout)
	require.Positive(t, got.ScheduleToCloseTimeout)
	require.Equal(t, defaults.RetryPolicy, got.RetryPolicy)
	require.Equal(t, defaults, wf.stepOptions("unknown"), "a step of another build")
}
