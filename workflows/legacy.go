package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

// mediaCompletedV0 is MediaCompleted as it was before versionLocalSteps:
// DownloadMedia, RecordJob, then Notify or Alert, each an activity task,
// every step scheduled whatever the worker's configuration. Histories
// recorded then replay through it; once none is open (the namespace's
// retention after the change), it and RecordJob can go.
func (wf Workflow) mediaCompletedV0(ctx workflow.Context, in mediaflow.MediaCompletedInput, res *mediaflow.MediaCompletedResult) error {
	var media activities.Media
	if res.Status == mediaflow.JobCompleted {
		dctx := workflow.WithActivityOptions(ctx, wf.Options.Download)
		err := workflow.ExecuteActivity(dctx, a.DownloadMedia, activities.DownloadInput{
			EventID: in.EventID, JobID: in.Job.JobID, URL: in.Job.MediaURL,
		}).Get(ctx, &media)
		if err != nil {
			return fmt.Errorf("downloading media of job %s: %w", in.Job.JobID, err)
		}
		res.Steps = append(res.Steps, mediaResult(media))
	}

	var recorded activities.Recorded
	rctx := workflow.WithActivityOptions(ctx, wf.Options.Record)
	if err := workflow.ExecuteActivity(rctx, a.RecordJob, activities.RecordInput{Event: in, Media: media}).Get(ctx, &recorded); err != nil {
		return fmt.Errorf("recording job %s: %w", in.Job.JobID, err)
	}
	if recorded.Stale {
		res.Steps = append(res.Steps, mediaflow.StepResult{Step: mediaflow.StepRecord, Outcome: mediaflow.StepStale,
			Detail: "the row holds a newer event for this job: not stored"})
	} else {
		res.Steps = append(res.Steps, mediaflow.StepResult{Step: mediaflow.StepRecord, Outcome: mediaflow.StepStored})
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
	step, send := mediaflow.StepNotify, a.Notify
	if res.Status == mediaflow.JobFailed {
		step, send = mediaflow.StepAlert, a.Alert
		notice.Text = fmt.Sprintf("Animus job %s failed: %s", in.Job.JobID, errorText(in.Job.Error))
	} else {
		notice.Text = fmt.Sprintf("Animus job %s completed", in.Job.JobID)
		if !media.Skipped {
			notice.Media = &media
		}
	}
	var delivery activities.Delivery
	nctx := workflow.WithActivityOptions(ctx, wf.Options.Deliver)
	if err := workflow.ExecuteActivity(nctx, send, notice).Get(ctx, &delivery); err != nil {
		return fmt.Errorf("%s for job %s: %w", step, in.Job.JobID, err)
	}
	if delivery.Skipped {
		res.Steps = append(res.Steps, mediaflow.StepResult{Step: step, Outcome: mediaflow.StepSkipped, Detail: "no URL set"})
	} else {
		res.Steps = append(res.Steps, mediaflow.StepResult{Step: step, Outcome: mediaflow.StepDelivered, Detail: fmt.Sprintf("HTTP %d", delivery.Status)})
	}
	return nil
}
