// Package workflows holds mediaflow's deterministic workflow code. It only
// decides; every side effect is an activity (package activities).
package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

// ErrTypeUnknownStatus is the application error type of a workflow that
// fails because the job's status is neither a success nor a failure.
const ErrTypeUnknownStatus = "UnknownJobStatus"

// QueryStatus is the name of the query that returns the workflow's
// progress (a mediaflow.MediaCompletedResult so far) while it runs.
const QueryStatus = "status"

// Options are the activity options of MediaCompletedWorkflow: timeouts and
// retry policies, one set per kind of step.
type Options struct {
	Download workflow.ActivityOptions
	Record   workflow.ActivityOptions
	// Notify is used by both Notify and Alert.
	Notify workflow.ActivityOptions
}

// DefaultOptions returns the options the worker runs with.
func DefaultOptions() Options {
	return Options{
		// A download may be long (up to 5 GiB) but must show progress: no
		// heartbeat for 30 s means a stalled transfer, retried.
		Download: workflow.ActivityOptions{
			StartToCloseTimeout: 6 * time.Hour,
			HeartbeatTimeout:    30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:    5 * time.Second,
				BackoffCoefficient: 2,
				MaximumInterval:    5 * time.Minute,
				MaximumAttempts:    10,
				NonRetryableErrorTypes: []string{activities.ErrTypeInvalidURL, activities.ErrTypeHTTPStatus,
					activities.ErrTypeMediaTooLarge, activities.ErrTypeForbiddenAddress, activities.ErrTypeInvalidPath},
			},
		},
		// A database write is short; a database that is down is retried
		// for about 20 minutes before the workflow gives up, visibly.
		Record: workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:        time.Second,
				BackoffCoefficient:     2,
				MaximumInterval:        time.Minute,
				MaximumAttempts:        25,
				NonRetryableErrorTypes: []string{activities.ErrTypeInvalidData},
			},
		},
		// A receiver that is down is retried for about 2 hours.
		Notify: workflow.ActivityOptions{
			StartToCloseTimeout: activities.NotifyTimeout + 5*time.Second,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:        2 * time.Second,
				BackoffCoefficient:     2,
				MaximumInterval:        10 * time.Minute,
				MaximumAttempts:        20,
				NonRetryableErrorTypes: []string{activities.ErrTypeInvalidURL, activities.ErrTypeHTTPStatus},
			},
		},
	}
}

// Workflow holds MediaCompletedWorkflow with its options; Register
// registers Workflow{DefaultOptions()}.MediaCompleted.
type Workflow struct {
	Options Options
}

// MediaCompleted handles one media.completed event, registered as
// mediaflow.WorkflowType. Success path: DownloadMedia, RecordJob, Notify.
// Failure path: RecordJob, Alert. It completes normally on both paths (a
// failed Animus job is a job handled); it fails only with an
// UnknownJobStatus error for a status it cannot classify, or when an
// activity fails for good (out of retries, or a non-retryable error).
func (wf Workflow) MediaCompleted(ctx workflow.Context, in mediaflow.MediaCompletedInput) (mediaflow.MediaCompletedResult, error) {
	res := mediaflow.MediaCompletedResult{
		EventID: in.EventID,
		JobID:   in.Job.JobID,
		Status:  in.JobStatus(),
		Steps:   []string{},
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (mediaflow.MediaCompletedResult, error) {
		return res, nil
	}); err != nil {
		return res, err
	}

	switch res.Status {
	case mediaflow.JobCompleted:
	case mediaflow.JobFailed:
		res.Error = in.Job.Error
	default:
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("job %s: status %q is neither a success (completed, succeeded, success) nor a failure (failed, failure, error)",
				in.Job.JobID, in.Job.Status),
			ErrTypeUnknownStatus, nil)
	}
	workflow.GetLogger(ctx).Info("Handling job", "JobID", in.Job.JobID, "Status", res.Status)

	var a *activities.Activities
	var media activities.Media
	if res.Status == mediaflow.JobCompleted {
		dctx := workflow.WithActivityOptions(ctx, wf.Options.Download)
		err := workflow.ExecuteActivity(dctx, a.DownloadMedia, activities.DownloadInput{
			EventID: in.EventID, JobID: in.Job.JobID, URL: in.Job.MediaURL,
		}).Get(ctx, &media)
		if err != nil {
			return res, fmt.Errorf("downloading media of job %s: %w", in.Job.JobID, err)
		}
		res.Steps = append(res.Steps, "download: "+describeMedia(media))
	}

	var recorded activities.Recorded
	rctx := workflow.WithActivityOptions(ctx, wf.Options.Record)
	if err := workflow.ExecuteActivity(rctx, a.RecordJob, activities.RecordInput{Event: in, Media: media}).Get(ctx, &recorded); err != nil {
		return res, fmt.Errorf("recording job %s: %w", in.Job.JobID, err)
	}
	if recorded.Stale {
		res.Steps = append(res.Steps, "record: not stored (the row holds a newer event for this job)")
	} else {
		res.Steps = append(res.Steps, "record: stored")
	}

	notice := activities.Notice{
		Type:          "mediaflow.job." + string(res.Status),
		EventID:       in.EventID,
		JobID:         in.Job.JobID,
		Status:        res.Status,
		Error:         in.Job.Error,
		MediaURL:      in.Job.MediaURL,
		CustomPayload: in.Job.CustomPayload,
	}
	step, send := "notify", a.Notify
	if res.Status == mediaflow.JobFailed {
		step, send = "alert", a.Alert
		notice.Text = fmt.Sprintf("Animus job %s failed: %s", in.Job.JobID, errorText(in.Job.Error))
	} else {
		notice.Text = fmt.Sprintf("Animus job %s completed", in.Job.JobID)
		if !media.Skipped {
			notice.Media = &media
		}
	}
	var delivery activities.Delivery
	nctx := workflow.WithActivityOptions(ctx, wf.Options.Notify)
	if err := workflow.ExecuteActivity(nctx, send, notice).Get(ctx, &delivery); err != nil {
		return res, fmt.Errorf("%s for job %s: %w", step, in.Job.JobID, err)
	}
	if delivery.Skipped {
		res.Steps = append(res.Steps, step+": skipped (no URL set)")
	} else {
		res.Steps = append(res.Steps, fmt.Sprintf("%s: delivered (HTTP %d)", step, delivery.Status))
	}
	return res, nil
}

func describeMedia(m activities.Media) string {
	switch {
	case m.Skipped:
		return "skipped (" + m.Note + ")"
	case m.Existing:
		return fmt.Sprintf("already saved at %s (%d bytes, sha256 %s)", m.Path, m.Size, m.SHA256)
	}
	return fmt.Sprintf("saved %s (%d bytes, sha256 %s)", m.Path, m.Size, m.SHA256)
}

// errorText renders a job's error (a JSON string or object) for a person.
func errorText(raw []byte) string {
	if len(raw) == 0 {
		return "no error given"
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}
