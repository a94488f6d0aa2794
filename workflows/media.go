// Package workflows holds mediaflow's deterministic workflow code:
// MediaCompletedWorkflow, one per event, and AnimusJobWatch, one per
// watched job. It only decides; every side effect is an activity (package
// activities).
package workflows

import (
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

// ErrTypeUnknownStatus is the application error type of a workflow that
// fails because the job's status is neither a success nor a failure.
const ErrTypeUnknownStatus = "UnknownJobStatus"

// versionLocalSteps marks the changes to MediaCompleted that run its short
// steps within workflow tasks. Version 1 records first, as local
// activities, and schedules only the optional steps the worker is
// configured for; version 2 (versionLocalNotify) makes the first attempt
// of Notify or Alert a local activity too. Histories recorded before
// version 1 replay mediaCompletedV0.
const versionLocalSteps = "local-steps"

// versionLocalNotify is versionLocalSteps' version 2.
const versionLocalNotify workflow.Version = 2

// MediaCompleted handles one media.completed event, registered as
// mediaflow.WorkflowType. Its steps, in order:
//
//   - RecordEvent (local activity): the job's row. An event older than the
//     row's is stale: it ends here, and causes no download, notification
//     or alert.
//   - completed jobs: DownloadMedia (when MEDIA_DIR is set and the event has
//     a media_url), then RecordMedia (local activity), which finds the
//     event stale if a newer one took the row meanwhile.
//   - TellWatch (local activity): the job's watch, if it has one.
//   - Notify (completed) or Alert (failed), when its URL is set; skipped
//     if a newer event took the row by then. Its first attempt is a local
//     activity (Options.NotifyFirst); when that attempt fails and may be
//     retried, the activity task takes over with the full retry policy
//     (Options.Notify), after the receiver's Retry-After if it gave one.
//
// It completes normally on both paths (a failed Animus job is a job
// handled); it fails only with an UnknownJobStatus error for a status it
// cannot classify, or when an activity fails for good (out of retries, or
// a non-retryable error).
func (wf Workflow) MediaCompleted(ctx workflow.Context, in mediaflow.MediaCompletedInput) (mediaflow.MediaCompletedResult, error) {
	res := mediaflow.MediaCompletedResult{
		EventID: in.EventID,
		JobID:   in.Job.JobID,
		Status:  in.JobStatus(),
		Steps:   []string{},
	}
	if err := workflow.SetQueryHandler(ctx, mediaflow.QueryStatus, func() (mediaflow.MediaCompletedResult, error) {
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

	version := workflow.GetVersion(ctx, versionLocalSteps, workflow.DefaultVersion, versionLocalNotify)
	if version == workflow.DefaultVersion {
		err := wf.mediaCompletedV0(ctx, in, &res)
		return res, err
	}
	// The worker's configuration, recorded once: a replay on a worker
	// configured otherwise takes the same steps.
	var steps Steps
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return wf.Steps }).Get(&steps); err != nil {
		return res, err
	}
	var a *activities.Activities
	lctx := workflow.WithLocalActivityOptions(ctx, wf.Options.Local)

	var rec activities.Recorded
	if err := workflow.ExecuteLocalActivity(lctx, a.RecordEvent, in).Get(ctx, &rec); err != nil {
		return res, fmt.Errorf("recording job %s: %w", in.Job.JobID, err)
	}
	if rec.Stale {
		return stale(res, "record", rec.NewerEventID, "no download, notification or alert"), nil
	}
	res.Steps = append(res.Steps, "record: stored")

	outcome := mediaflow.JobOutcome{JobID: in.Job.JobID, EventID: in.EventID, Status: res.Status,
		EventTimestamp: in.EventTimestamp, Error: in.Job.Error}
	var media activities.Media
	if res.Status == mediaflow.JobCompleted {
		switch {
		case !steps.Download:
			res.Steps = append(res.Steps, "download: skipped (MEDIA_DIR not set)")
		case in.Job.MediaURL == "":
			res.Steps = append(res.Steps, "download: skipped (event has no media_url)")
		default:
			dctx := workflow.WithActivityOptions(ctx, wf.Options.Download)
			err := workflow.ExecuteActivity(dctx, a.DownloadMedia, activities.DownloadInput{
				EventID: in.EventID, JobID: in.Job.JobID, URL: in.Job.MediaURL,
			}).Get(ctx, &media)
			if err != nil {
				return res, fmt.Errorf("downloading media of job %s: %w", in.Job.JobID, err)
			}
			res.Steps = append(res.Steps, "download: "+describeMedia(media))
			err = workflow.ExecuteLocalActivity(lctx, a.RecordMedia, activities.MediaRecord{
				EventID: in.EventID, JobID: in.Job.JobID, Media: media,
			}).Get(ctx, &rec)
			if err != nil {
				return res, fmt.Errorf("recording media of job %s: %w", in.Job.JobID, err)
			}
			if rec.Stale {
				return stale(res, "record media", rec.NewerEventID, "no notification"), nil
			}
			outcome.MediaPath = media.Path
		}
	}

	var told activities.Told
	if err := workflow.ExecuteLocalActivity(lctx, a.TellWatch, outcome).Get(ctx, &told); err != nil {
		return res, fmt.Errorf("telling the watch of job %s: %w", in.Job.JobID, err)
	}
	if told.Watch {
		res.Steps = append(res.Steps, "watch: told "+mediaflow.WatchID(in.Job.JobID))
	}

	step, send, configured := "notify", a.Notify, steps.Notify
	if res.Status == mediaflow.JobFailed {
		step, send, configured = "alert", a.Alert, steps.Alert
	}
	if !configured {
		res.Steps = append(res.Steps, step+": skipped (no URL set)")
		return res, nil
	}
	n := notice(in, res.Status, media)
	delivery, err := wf.deliver(ctx, version, send, n)
	if err != nil {
		return res, fmt.Errorf("%s for job %s: %w", step, in.Job.JobID, err)
	}
	switch {
	case delivery.Stale:
		return stale(res, step, delivery.NewerEventID, "not sent"), nil
	case delivery.Skipped:
		res.Steps = append(res.Steps, step+": skipped (no URL set)")
	default:
		res.Steps = append(res.Steps, fmt.Sprintf("%s: delivered (HTTP %d)", step, delivery.Status))
	}
	return res, nil
}

// deliver runs send (Notify or Alert) with n. From versionLocalNotify on,
// the first attempt is a local activity: a receiver that answers, as
// nearly all do, costs no activity task and no further workflow task. An
// attempt that failed for good (an error type the retry policy does not
// retry) fails the step as the activity would; any other failure hands
// the step to the activity task and its retry policy, which can retry for
// hours, visibly, as no local activity should.
func (wf Workflow) deliver(ctx workflow.Context, version workflow.Version, send any, n activities.Notice) (activities.Delivery, error) {
	var delivery activities.Delivery
	if version >= versionLocalNotify {
		lctx := workflow.WithLocalActivityOptions(ctx, wf.Options.NotifyFirst)
		err := workflow.ExecuteLocalActivity(lctx, send, n).Get(ctx, &delivery)
		if err == nil {
			return delivery, nil
		}
		if temporal.IsCanceledError(err) {
			return delivery, err
		}
		// Only what the attempt itself says: the retry policy's error
		// types are worker settings, not in the history, and replay must
		// not depend on them (Notify and Alert mark their final errors
		// non-retryable).
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			return delivery, err
		}
		workflow.GetLogger(ctx).Warn("First delivery attempt failed; retrying as an activity", "EventID", n.EventID, "Error", err)
		if appErr != nil && appErr.NextRetryDelay() > 0 {
			// The receiver's Retry-After, as the activity's retry would
			// have honoured it.
			if err := workflow.Sleep(ctx, appErr.NextRetryDelay()); err != nil {
				return delivery, err
			}
		}
	}
	nctx := workflow.WithActivityOptions(ctx, wf.Options.Notify)
	err := workflow.ExecuteActivity(nctx, send, n).Get(ctx, &delivery)
	return delivery, err
}

// stale ends res at step: the job's row holds the newer event newer.
func stale(res mediaflow.MediaCompletedResult, step, newer, consequence string) mediaflow.MediaCompletedResult {
	res.Stale, res.NewerEventID = true, newer
	res.Steps = append(res.Steps, fmt.Sprintf("%s: stale (the job's row holds newer event %s): %s", step, newer, consequence))
	return res
}

// notice is the summary Notify or Alert posts for the event, sent only
// while the job's row still holds the event.
func notice(in mediaflow.MediaCompletedInput, status mediaflow.JobStatus, media activities.Media) activities.Notice {
	n := activities.Notice{
		Type:           "mediaflow.job." + string(status),
		EventID:        in.EventID,
		JobID:          in.Job.JobID,
		Status:         status,
		Error:          in.Job.Error,
		MediaURL:       in.Job.MediaURL,
		CustomPayload:  in.Job.CustomPayload,
		EventTimestamp: in.EventTimestamp,
		IfCurrent:      true,
	}
	if status == mediaflow.JobFailed {
		n.Text = fmt.Sprintf("Animus job %s failed: %s", in.Job.JobID, errorText(in.Job.Error))
	} else {
		n.Text = fmt.Sprintf("Animus job %s completed", in.Job.JobID)
		if media.Path != "" {
			n.Media = &media
		}
	}
	return n
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
