package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

// ErrTypeInvalidWatch is the application error type of a watch started
// without a job ID, with one no Animus event can carry (blank, or not a
// mediaflow.CheckID), or with a deadline or grace that is not a positive
// Go duration.
const ErrTypeInvalidWatch = "InvalidWatch"

// versionWatchJobID is the change ID of the watch's job ID check.
const versionWatchJobID = "watch-job-id-checked"

// MetricWatchOverdue is the counter the watch increments when its deadline
// passes without an event, exported as mediaflow_job_watch_overdue_total.
const MetricWatchOverdue = "mediaflow_job_watch_overdue"

// JobWatch waits for one Animus job's outcome, registered as
// mediaflow.WatchWorkflowType with workflow ID mediaflow.WatchID(job ID):
//
//   - when the job's event was already recorded (it came before the
//     watch), it completes at once with the outcome the job's row holds;
//   - else it waits for MediaCompletedWorkflow's JobOutcome signal and
//     completes with the newest outcome by event timestamp among those
//     received and the job's row (which keeps the newest event: a newer
//     event may have been recorded since the signal was sent);
//   - when the deadline passes first, it alerts once (Alert activity), counts
//     MetricWatchOverdue, and stays open for the grace period, so that a late
//     event still completes it; after that it completes as expired.
//
// Its state is the AnimusWatchState search attribute and the "status"
// query. It fails only with an InvalidWatch error for a bad input, or
// when an activity fails for good; canceled, it ends canceled, without
// alerting, counting overdue or expiring.
func (wf Workflow) JobWatch(ctx workflow.Context, in mediaflow.WatchInput) (mediaflow.WatchResult, error) {
	res := mediaflow.WatchResult{JobID: in.JobID, State: mediaflow.WatchWaiting}
	deadline, err := duration("deadline", in.Deadline, mediaflow.DefaultWatchDeadline)
	if err != nil {
		return res, err
	}
	grace, err := duration("grace", in.Grace, mediaflow.DefaultWatchGrace)
	if err != nil {
		return res, err
	}
	if in.JobID == "" {
		return res, temporal.NewNonRetryableApplicationError("job_id is missing", ErrTypeInvalidWatch, nil)
	}
	// A job ID no event can carry (blank, too long, not printable ASCII:
	// the server refuses it) would only wait, alert and expire. Versioned:
	// a watch that started waiting before this check keeps waiting.
	if workflow.GetVersion(ctx, versionWatchJobID, workflow.DefaultVersion, 1) == 1 {
		err := mediaflow.CheckID(in.JobID)
		if err == nil && strings.TrimSpace(in.JobID) == "" {
			err = errors.New("blank")
		}
		if err != nil {
			return res, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("job_id %q: %v; no Animus event carries it", in.JobID, err), ErrTypeInvalidWatch, nil)
		}
	}
	if err := workflow.SetQueryHandler(ctx, mediaflow.QueryStatus, func() (mediaflow.WatchResult, error) {
		return res, nil
	}); err != nil {
		return res, err
	}
	setState := func(s mediaflow.WatchState) error {
		res.State = s
		workflow.SetCurrentDetails(ctx, res.Summary())
		return workflow.UpsertTypedSearchAttributes(ctx,
			mediaflow.SearchAttrJobID.ValueSet(in.JobID), mediaflow.SearchAttrWatchState.ValueSet(string(s)))
	}
	if err := setState(mediaflow.WatchWaiting); err != nil {
		return res, err
	}
	// Signals that arrive while the job's row is read wait in the channel.
	outcomes := workflow.GetSignalChannel(ctx, mediaflow.SignalJobOutcome)

	lopts := wf.Options.Local
	lopts.Summary = "look up job " + in.JobID
	lctx := workflow.WithLocalActivityOptions(ctx, lopts)
	lookup := func() (*mediaflow.JobOutcome, error) {
		var recorded *mediaflow.JobOutcome
		if err := workflow.ExecuteLocalActivity(lctx, a.LookupJob, in.JobID).Get(ctx, &recorded); err != nil {
			return nil, fmt.Errorf("looking up job %s: %w", in.JobID, err)
		}
		return recorded, nil
	}
	// done completes the watch with the newest of o, the outcomes waiting
	// in the channel and the job's row.
	done := func(o *mediaflow.JobOutcome) (mediaflow.WatchResult, error) {
		o = newest(ctx, outcomes, o)
		recorded, err := lookup()
		if err != nil {
			return res, err
		}
		if recorded != nil && recorded.Newer(o) {
			o = recorded
		}
		res.Outcome = o
		return res, setState(mediaflow.WatchDone)
	}
	recorded, err := lookup()
	if err != nil {
		return res, err
	}
	if recorded != nil {
		res.Outcome = newest(ctx, outcomes, recorded)
		return res, setState(mediaflow.WatchDone)
	}

	o, err := waitFor(ctx, outcomes, deadline)
	if err != nil {
		return res, err
	}
	if o != nil {
		return done(o)
	}
	if err := setState(mediaflow.WatchOverdue); err != nil {
		return res, err
	}
	workflow.GetMetricsHandler(ctx).Counter(MetricWatchOverdue).Inc(1)
	var delivery activities.Delivery
	aopts := wf.Options.Deliver
	aopts.Summary = "alert: no event for job " + in.JobID
	actx := workflow.WithActivityOptions(ctx, aopts)
	err = workflow.ExecuteActivity(actx, a.Alert, activities.Notice{
		Type: "mediaflow.job.overdue",
		// The Idempotency-Key: one alert per watch, however often it runs.
		EventID: mediaflow.WatchID(in.JobID) + "/overdue",
		JobID:   in.JobID,
		Text: fmt.Sprintf("no media.completed for job %s within %s: check the endpoint's subscription and Svix's delivery log",
			in.JobID, deadline),
	}).Get(ctx, &delivery)
	if err != nil {
		return res, fmt.Errorf("alerting on job %s: %w", in.JobID, err)
	}
	res.Alerted = !delivery.Skipped
	workflow.SetCurrentDetails(ctx, res.Summary())

	o, err = waitFor(ctx, outcomes, grace)
	if err != nil {
		return res, err
	}
	if o != nil {
		return done(o)
	}
	return res, setState(mediaflow.WatchExpired)
}

// waitFor returns the first outcome received within d, or nil; or
// ctx's error when the watch is canceled first (its parent canceled it, or
// an operator): a canceled watch is neither overdue nor expired.
func waitFor(ctx workflow.Context, outcomes workflow.ReceiveChannel, d time.Duration) (*mediaflow.JobOutcome, error) {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	var got *mediaflow.JobOutcome
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(outcomes, func(c workflow.ReceiveChannel, _ bool) {
		var o mediaflow.JobOutcome
		c.Receive(ctx, &o)
		got = &o
	})
	sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) {})
	sel.Select(ctx)
	if got == nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return got, nil
}

// newest returns the newest of o and the outcomes already waiting in the
// channel: two events for one job, the newest wins, as in the job's row.
func newest(ctx workflow.Context, outcomes workflow.ReceiveChannel, o *mediaflow.JobOutcome) *mediaflow.JobOutcome {
	for {
		var next mediaflow.JobOutcome
		if !outcomes.ReceiveAsync(&next) {
			return o
		}
		if next.Newer(o) {
			o = &next
		}
	}
}

// duration parses a watch's Go duration setting; empty is def.
func duration(name, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s %q is not a positive Go duration (e.g. 2h, 90m)", name, s), ErrTypeInvalidWatch, nil)
	}
	return d, nil
}
