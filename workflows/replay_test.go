package workflows

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
)

// histories returns the recorded histories in testdata matching pattern:
// v0-* from before versionLocalSteps, v1-* and v2-* from its versions 1
// and 2, v2-plan-* from version 2 with the plan's users' steps and the
// delivery task queue (recorded by the e2e test TestRecordHistories, or
// with `temporal workflow show -o json`; see docs/extending.md).
func histories(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// replay replays file with media as MediaCompletedWorkflow and the current
// JobWatch.
func replay(t *testing.T, file string, media any) error {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(media, workflow.RegisterOptions{Name: mediaflow.WorkflowType})
	r.RegisterWorkflowWithOptions(Workflow{Options: shipped(t)}.JobWatch, workflow.RegisterOptions{Name: mediaflow.WatchWorkflowType})
	return r.ReplayWorkflowHistoryFromJSONFile(nil, file)
}

// TestReplay fails when a change to the workflows would break workflows
// already running (a non-deterministic change). The worker's configured
// steps do not matter: the histories recorded them.
func TestReplay(t *testing.T) {
	for _, file := range histories(t, "*.json") {
		t.Run(filepath.Base(file), func(t *testing.T) {
			require.NoError(t, replay(t, file, Workflow{Options: shipped(t)}.MediaCompleted))
		})
	}
}

// TestReplayWhateverTheSteps: the steps users add do not change what a
// recorded workflow does: each history replays on a worker with other
// steps than it ran with (histories of v2-plan ran build v2's stamp step,
// the others none), because its plan is in its history.
func TestReplayWhateverTheSteps(t *testing.T) {
	run := func(context.Context, StepInput) (mediaflow.StepResult, error) { return mediaflow.StepResult{}, nil }
	other := Workflow{Options: shipped(t), Steps: []Step{
		{Name: "archive", After: AfterDownload, Run: run},
		{Name: "index", After: AfterRecord, Run: run},
		{Name: "audit", After: AfterDelivery, Off: "AUDIT_URL not set"},
	}}
	for _, file := range histories(t, "*.json") {
		t.Run(filepath.Base(file), func(t *testing.T) {
			require.NoError(t, replay(t, file, other.MediaCompleted))
		})
	}
}

// withNewStep is MediaCompleted followed by one more activity, as the
// README's "Add an activity" adds one: with guarded, behind
// workflow.GetVersion, as the README says to.
func withNewStep(t *testing.T, guarded bool) func(workflow.Context, mediaflow.MediaCompletedInput) (mediaflow.MediaCompletedResult, error) {
	opts := shipped(t)
	return func(ctx workflow.Context, in mediaflow.MediaCompletedInput) (mediaflow.MediaCompletedResult, error) {
		res, err := Workflow{Options: opts}.MediaCompleted(ctx, in)
		if err != nil {
			return res, err
		}
		if guarded && workflow.GetVersion(ctx, "archive-job", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return res, nil // a workflow that started before the change
		}
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		err = workflow.ExecuteActivity(actx, "ArchiveJob", in).Get(ctx, nil)
		return res, err
	}
}

// TestAddingAnActivity backs docs/extending.md: a new activity called from
// the workflow's own code without GetVersion breaks the recorded
// histories; with it they replay.
func TestAddingAnActivity(t *testing.T) {
	for _, file := range append(histories(t, "v0-*.json"), histories(t, "v[12]-success.json")...) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			require.Error(t, replay(t, file, withNewStep(t, false)), "an unguarded new step must fail replay")
			require.NoError(t, replay(t, file, withNewStep(t, true)))
		})
	}
}
