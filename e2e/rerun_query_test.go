package e2e

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/recovery"
)

// TestFailuresQueryCannotWidenTheSelection: --query narrows the
// selection, whatever it holds. A query that closes the parenthesis
// mediaflowctl puts around it (`…") OR ("…`) would otherwise OR its way
// past the task queue, --since and --job: here it selected an event of
// another deployment's task queue, which rerun would start on this one.
// Temporal refuses such a query, as when it is malformed.
func TestFailuresQueryCannotWidenTheSelection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	queue := "e2e-query-" + newEventID()
	cfg, err := config.LoadControl(config.Environ{"TEMPORAL_ADDRESS": temporalAddress, "TEMPORAL_NAMESPACE": namespace,
		"TEMPORAL_TASK_QUEUE": queue, "BLOB_URL": "file://" + t.TempDir(),
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml")})
	require.NoError(t, err)
	ctl, err := app.NewControl(ctx, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(ctl.Close)

	// An event of another task queue whose run was terminated: not ours.
	other := newEventID()
	in := mediaflow.MediaCompletedInput{EventID: other, EventType: "media.completed", ReceivedAt: time.Now().UTC(),
		Status: mediaflow.JobCompleted, Job: mediaflow.Job{JobID: "job-" + other, Status: "completed"}}
	run, err := ctl.Client.ExecuteWorkflow(ctx, mediaflow.StartOptions(queue+"-other", in), mediaflow.WorkflowType, in)
	require.NoError(t, err)
	require.NoError(t, ctl.Client.TerminateWorkflow(ctx, other, run.GetRunID(), "test"))
	require.Eventually(t, func() bool {
		resp, err := ctl.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, Query: `WorkflowId = "` + other + `" AND ExecutionStatus = "Terminated"`})
		require.NoError(t, err)
		return len(resp.GetExecutions()) == 1
	}, 30*time.Second, 200*time.Millisecond)

	got, err := ctl.Failures(ctx, recovery.Selection{Since: time.Hour, Query: `WorkflowId = "none") OR (WorkflowId = "` + other + `"`})
	var invalid *serviceerror.InvalidArgument
	require.ErrorAs(t, err, &invalid, "selected: %+v", got)
	require.Empty(t, got)

	got, err = ctl.Failures(ctx, recovery.Selection{Query: `WorkflowId = "none" OR WorkflowId = "` + other + `"`})
	require.NoError(t, err)
	require.Empty(t, got, "another task queue's event")
}
