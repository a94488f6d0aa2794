// Package workflows holds mediaflow's deterministic workflow code:
// MediaCompletedWorkflow, one per event, and AnimusJobWatch, one per
// watched job. It only decides; every side effect is an activity (package
// activities, and the steps users add: Step).
package workflows

import (
	"context"
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
// of Notify or Alert a local activity too, unless deliveries are rate
// limited (Plan.RateLimited). Histories recorded before version 1 replay
// mediaCompletedV0.
const versionLocalSteps = "local-steps"

// versionLocalNotify is versionLocalSteps' version 2.
const versionLocalNotify workflow.Version = 2

// a is the activities' receiver: workflows name activities through it.
var a *activities.Activities

// MediaCompleted handles one media.completed event, registered as
// mediaflow.WorkflowType. Its steps, in order, each with the users' steps
// placed after it (Step.After):
//
//   - record: RecordEvent (local activity) writes the job's row. An event
//     older than the row's is stale: it ends here, and causes no download,
//     notification or alert.
//   - download: completed jobs, when MEDIA_DIR is set and the event has a
//     media_url: DownloadMedia, then RecordMedia (local activity), which
//     finds the event stale if a newer one took the row meanwhile.
//   - watch: TellWatch (local activity) marks the outcome final in the
//     job's row and tells the job's watch, if it has one.
//   - delivery: Notify (completed) or Alert (failed), when its URL is set;
//     skipped if a newer event took the row by then, or if the job's
//     outcome was delivered before (the job database remembers it). An
//     activity on the delivery task queue, rate limited there; or, when
//     deliveries are not rate limited, a first attempt as a local activity
//     and the retries as that activity.
//
// It completes normally on both paths (a failed Animus job is a job
// handled); it fails only with an UnknownJobStatus error for a status it
// cannot classify, or when a step fails for good (out of its window, or a
// non-retryable error). Its current details in the Temporal UI say what it
// is doing, then what it did (MediaCompletedResult.Summary).
func (wf Workflow) MediaCompleted(ctx workflow.Context, in mediaflow.MediaCompletedInput) (mediaflow.MediaCompletedResult, error) {
	r := &run{wf: wf, in: in, res: mediaflow.MediaCompletedResult{
		EventID: in.EventID,
		JobID:   in.Job.JobID,
		Status:  in.JobStatus(),
		Steps:   []mediaflow.StepResult{},
	}}
	if err := workflow.SetQueryHandler(ctx, mediaflow.QueryStatus, func() (mediaflow.MediaCompletedResult, error) {
		return r.res, nil
	}); err != nil {
		return r.res, err
	}
	if err := r.classify(); err != nil {
		return r.res, err
	}
	workflow.GetLogger(ctx).Info("Handling job", "JobID", in.Job.JobID, "Status", r.res.Status)

	r.version = workflow.GetVersion(ctx, versionLocalSteps, workflow.DefaultVersion, versionLocalNotify)
	if r.version == workflow.DefaultVersion {
		err := wf.mediaCompletedV0(ctx, in, &r.res)
		return r.res, err
	}
	// Decided once and recorded: a replay on a worker configured
	// otherwise takes the same steps.
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return wf.plan() }).Get(&r.plan); err != nil {
		return r.res, err
	}
	for _, step := range r.steps() {
		if err := step(ctx); err != nil {
			workflow.SetCurrentDetails(ctx, fmt.Sprintf("failed: %v", err))
			return r.res, err
		}
		if r.res.Stale {
			break
		}
	}
	r.res.Summary = r.res.Line()
	workflow.SetCurrentDetails(ctx, r.res.Summary)
	return r.res, nil
}

// run is one MediaCompleted: its input, plan and result so far.
type run struct {
	wf      Workflow
	in      mediaflow.MediaCompletedInput
	version workflow.Version
	plan    Plan
	res     mediaflow.MediaCompletedResult
	// media is what the download saved, once it did.
	media *activities.Media
}

// classify accepts the two statuses a workflow handles.
func (r *run) classify() error {
	switch r.res.Status {
	case mediaflow.JobCompleted:
		return nil
	case mediaflow.JobFailed:
		r.res.Error = r.in.Job.Error
		return nil
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("job %s: status %q is neither a success (completed, succeeded, success) nor a failure (failed, failure, error)",
			r.in.Job.JobID, r.in.Job.Status),
		ErrTypeUnknownStatus, nil)
}

// steps lists the built-in steps in order, each followed by the users'
// steps planned after it for this job's status.
func (r *run) steps() []func(workflow.Context) error {
	var out []func(workflow.Context) error
	for _, b := range []struct {
		after After
		step  func(workflow.Context) error
	}{
		{AfterRecord, r.record},
		{AfterDownload, r.download},
		{AfterWatch, r.tellWatch},
		{AfterDelivery, r.deliver},
	} {
		out = append(out, b.step)
		for _, s := range r.plan.Steps {
			if s.After == b.after && s.runsFor(r.res.Status) {
				out = append(out, r.userStep(s))
			}
		}
	}
	return out
}

// add appends a step's result.
func (r *run) add(step string, outcome mediaflow.StepOutcome, detail string) {
	r.res.Steps = append(r.res.Steps, mediaflow.StepResult{Step: step, Outcome: outcome, Detail: detail})
}

// stale ends the run at step: the job's row holds the newer event newer.
func (r *run) stale(step, newer, consequence string) {
	r.res.Stale, r.res.NewerEventID = true, newer
	r.add(step, mediaflow.StepStale, fmt.Sprintf("the job's row holds newer event %s: %s", newer, consequence))
}

// doing says in the Temporal UI what the workflow waits for now.
func (r *run) doing(ctx workflow.Context, format string, args ...any) {
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("job %s %s: ", r.in.Job.JobID, r.res.Status)+fmt.Sprintf(format, args...))
}

// local returns ctx with the options of a local step and its summary.
func (r *run) local(ctx workflow.Context, summary string) workflow.Context {
	opts := r.wf.Options.Local
	opts.Summary = summary + " for job " + r.in.Job.JobID
	return workflow.WithLocalActivityOptions(ctx, opts)
}

func (r *run) record(ctx workflow.Context) error {
	r.doing(ctx, "recording the event in the job database")
	var rec activities.Recorded
	if err := workflow.ExecuteLocalActivity(r.local(ctx, "record the event"), a.RecordEvent, r.in).Get(ctx, &rec); err != nil {
		return fmt.Errorf("recording job %s: %w", r.in.Job.JobID, err)
	}
	if rec.Stale {
		r.stale(mediaflow.StepRecord, rec.NewerEventID, "no download, notification or alert")
		return nil
	}
	r.add(mediaflow.StepRecord, mediaflow.StepStored, "")
	return nil
}

// download saves a completed job's media and pairs it with the event in
// the job's row.
func (r *run) download(ctx workflow.Context) error {
	switch {
	case r.res.Status != mediaflow.JobCompleted:
		return nil
	case !r.plan.Download:
		r.add(mediaflow.StepDownload, mediaflow.StepSkipped, "MEDIA_DIR not set")
		return nil
	case r.in.Job.MediaURL == "":
		r.add(mediaflow.StepDownload, mediaflow.StepSkipped, "event has no media_url")
		return nil
	}
	r.doing(ctx, "downloading the media")
	opts := r.wf.Options.Download
	opts.Summary = "download the media of job " + r.in.Job.JobID
	var media activities.Media
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.DownloadMedia, activities.DownloadInput{
		EventID: r.in.EventID, JobID: r.in.Job.JobID, URL: r.in.Job.MediaURL,
	}).Get(ctx, &media)
	if err != nil {
		return fmt.Errorf("downloading media of job %s: %w", r.in.Job.JobID, err)
	}
	r.res.Steps = append(r.res.Steps, mediaResult(media))

	var rec activities.Recorded
	err = workflow.ExecuteLocalActivity(r.local(ctx, "record the media"), a.RecordMedia, activities.MediaRecord{
		EventID: r.in.EventID, JobID: r.in.Job.JobID, Media: media,
	}).Get(ctx, &rec)
	if err != nil {
		return fmt.Errorf("recording media of job %s: %w", r.in.Job.JobID, err)
	}
	if rec.Stale {
		r.stale(mediaflow.StepRecordMedia, rec.NewerEventID, "no notification")
		return nil
	}
	r.media = &media
	return nil
}

// tellWatch marks the job's outcome final and tells its watch.
func (r *run) tellWatch(ctx workflow.Context) error {
	outcome := mediaflow.JobOutcome{JobID: r.in.Job.JobID, EventID: r.in.EventID, Status: r.res.Status,
		EventTimestamp: r.in.EventTimestamp, Error: r.in.Job.Error}
	if r.media != nil {
		outcome.MediaPath = r.media.Path
	}
	var told activities.Told
	if err := workflow.ExecuteLocalActivity(r.local(ctx, "tell the job's watch"), a.TellWatch, outcome).Get(ctx, &told); err != nil {
		return fmt.Errorf("telling the watch of job %s: %w", r.in.Job.JobID, err)
	}
	if told.Watch {
		r.add(mediaflow.StepWatch, mediaflow.StepTold, mediaflow.WatchID(r.in.Job.JobID))
	}
	return nil
}

// deliver sends the notification (completed) or the alert (failed).
func (r *run) deliver(ctx workflow.Context) error {
	step, send, configured := mediaflow.StepNotify, a.Notify, r.plan.Notify
	if r.res.Status == mediaflow.JobFailed {
		step, send, configured = mediaflow.StepAlert, a.Alert, r.plan.Alert
	}
	if !configured {
		r.add(step, mediaflow.StepSkipped, "no URL set")
		return nil
	}
	r.doing(ctx, "waiting for the %s receiver", step)
	d, err := r.wf.deliver(ctx, r.version, r.plan.RateLimited, send, notice(r.in, r.res.Status, r.media))
	if err != nil {
		return fmt.Errorf("%s for job %s: %w", step, r.in.Job.JobID, err)
	}
	switch {
	case d.Stale:
		r.stale(step, d.NewerEventID, "not sent")
	case d.Skipped:
		r.add(step, mediaflow.StepSkipped, "no URL set")
	case d.DeliveredBy != "":
		r.add(step, mediaflow.StepAlreadyDelivered, "with event "+d.DeliveredBy)
	default:
		r.add(step, mediaflow.StepDelivered, fmt.Sprintf("HTTP %d", d.Status))
	}
	return nil
}

// userStep returns the run of a user's step s.
func (r *run) userStep(s PlannedStep) func(workflow.Context) error {
	return func(ctx workflow.Context) error {
		if s.Off != "" {
			r.add(s.Name, mediaflow.StepSkipped, s.Off)
			return nil
		}
		r.doing(ctx, "running step %s", s.Name)
		opts := r.wf.stepOptions(s.Name)
		opts.Summary = s.Name + " for job " + r.in.Job.JobID
		var out mediaflow.StepResult
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), s.Name, StepInput{Event: r.in, Media: r.media}).Get(ctx, &out)
		if err != nil {
			return fmt.Errorf("%s for job %s: %w", s.Name, r.in.Job.JobID, err)
		}
		out.Step = s.Name
		if out.Outcome == "" {
			out.Outcome = mediaflow.StepDone
		}
		r.res.Steps = append(r.res.Steps, out)
		return nil
	}
}

// deliveryFunc is Notify or Alert.
type deliveryFunc func(ctx context.Context, n activities.Notice) (activities.Delivery, error)

// deliver runs send (Notify or Alert) with n. When deliveries are rate
// limited (and in histories of version 1) it is an activity task on the
// delivery task queue from the first attempt. Otherwise the first attempt
// is a local activity: a receiver that answers, as nearly all do, costs no
// activity task and no further workflow task. An attempt that failed for
// good (an error type the retry policy does not retry) fails the step as
// the activity would; any other failure hands the step to the activity
// task and its retry policy, which retries for the delivery window,
// visibly, as no local activity should.
func (wf Workflow) deliver(ctx workflow.Context, version workflow.Version, rateLimited bool, send deliveryFunc, n activities.Notice) (activities.Delivery, error) {
	var delivery activities.Delivery
	if version >= versionLocalNotify && !rateLimited {
		opts := wf.Options.NotifyFirst
		opts.Summary = "first delivery attempt for job " + n.JobID
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, opts), send, n).Get(ctx, &delivery)
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
	opts := wf.Options.Deliver
	opts.Summary = "deliver the notice of job " + n.JobID
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), send, n).Get(ctx, &delivery)
	return delivery, err
}

// notice is the summary Notify or Alert posts for the event, sent only
// while the job's row still holds the event, and once per job outcome.
func notice(in mediaflow.MediaCompletedInput, status mediaflow.JobStatus, media *activities.Media) activities.Notice {
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
		if media != nil && media.Path != "" {
			n.Media = media
		}
	}
	return n
}

// mediaResult is the download step's result for what DownloadMedia did.
func mediaResult(m activities.Media) mediaflow.StepResult {
	res := mediaflow.StepResult{Step: mediaflow.StepDownload, Outcome: mediaflow.StepSaved, Bytes: m.Size,
		Detail: fmt.Sprintf("%s, %d bytes, sha256 %s", m.Path, m.Size, m.SHA256)}
	switch {
	case m.Skipped:
		res.Outcome, res.Detail, res.Bytes = mediaflow.StepSkipped, m.Note, 0
	case m.Existing:
		res.Outcome = mediaflow.StepExisting
	}
	return res
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
