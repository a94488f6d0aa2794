// Package workflows holds mediaflow's deterministic workflow code. It only
// decides; every side effect is an activity (package activities).
package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/animus"
)

// ErrTypeUnknownStatus is the application error type of a workflow that
// fails because the job's status is neither a success nor a failure.
const ErrTypeUnknownStatus = "UnknownJobStatus"

// QueryStatus is the name of the query that returns the workflow's
// progress (a mediaflow.MediaCompletedResult so far) while it runs.
const QueryStatus = "status"

// recordOptions: a database write is short; a database that is down is
// retried for about 20 minutes before the workflow gives up, visibly.
var recordOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        25,
		NonRetryableErrorTypes: []string{activities.ErrTypeInvalidData},
	},
}

// MediaCompleted handles one media.completed event, registered as
// mediaflow.WorkflowType. It completes normally on both paths (a failed
// Animus job is a job handled); it fails only with an UnknownJobStatus
// error for a status it cannot classify, or when an activity runs out of
// retries.
func MediaCompleted(ctx workflow.Context, in mediaflow.MediaCompletedInput) (mediaflow.MediaCompletedResult, error) {
	logger := workflow.GetLogger(ctx)
	res := mediaflow.MediaCompletedResult{
		EventID: in.EventID,
		JobID:   in.Job.JobID,
		Status:  animus.StatusLabel(in.Job.Status),
		Steps:   []string{},
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (mediaflow.MediaCompletedResult, error) {
		return res, nil
	}); err != nil {
		return res, err
	}

	switch animus.Classify(in.Job.Status) {
	case animus.Succeeded:
		res.Path = mediaflow.PathSuccess
	case animus.Failed:
		res.Path = mediaflow.PathFailure
		res.Error = in.Job.Error
	default:
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("job %s: status %q is neither a success (completed, succeeded, success) nor a failure (failed, failure, error)",
				in.Job.JobID, in.Job.Status),
			ErrTypeUnknownStatus, nil)
	}
	logger.Info("Handling job", "JobID", in.Job.JobID, "Path", res.Path)

	var a *activities.Activities
	actx := workflow.WithActivityOptions(ctx, recordOptions)
	if err := workflow.ExecuteActivity(actx, a.RecordJob, in).Get(ctx, nil); err != nil {
		return res, fmt.Errorf("recording job %s: %w", in.Job.JobID, err)
	}
	res.Steps = append(res.Steps, "record: stored")
	return res, nil
}
