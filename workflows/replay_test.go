package workflows

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
)

// histories returns the recorded histories in testdata: one per path,
// exported from a dev server with `temporal workflow show -o json` (see
// README, "Add an activity").
func histories(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func replay(t *testing.T, file string, fn any) error {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: mediaflow.WorkflowType})
	return r.ReplayWorkflowHistoryFromJSONFile(nil, file)
}

// TestReplay fails when a change to MediaCompleted would break workflows
// already running (a non-deterministic change).
func TestReplay(t *testing.T) {
	for _, file := range histories(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			require.NoError(t, replay(t, file, Workflow{Options: DefaultOptions()}.MediaCompleted))
		})
	}
}

// withNewStep is MediaCompleted followed by one more activity, as the
// README's "Add an activity" adds one: with guarded, behind
// workflow.GetVersion, as the README says to.
func withNewStep(guarded bool) func(workflow.Context, mediaflow.MediaCompletedInput) (mediaflow.MediaCompletedResult, error) {
	return func(ctx workflow.Context, in mediaflow.MediaCompletedInput) (mediaflow.MediaCompletedResult, error) {
		res, err := Workflow{Options: DefaultOptions()}.MediaCompleted(ctx, in)
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

// TestAddingAnActivity backs the README's walk-through: a new step
// without GetVersion breaks the recorded histories; with it they replay.
func TestAddingAnActivity(t *testing.T) {
	for _, file := range histories(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			require.Error(t, replay(t, file, withNewStep(false)), "an unguarded new step must fail replay")
			require.NoError(t, replay(t, file, withNewStep(true)))
		})
	}
}
