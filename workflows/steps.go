package workflows

import (
	"context"
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

// After names the built-in step of MediaCompletedWorkflow that a user's
// step follows.
type After string

// The places a user's step can take: after the job's row is written,
// after the media is saved and recorded (completed jobs with media), after
// the job's watch is told (the outcome is final then), or last, after the
// notification or alert.
const (
	AfterRecord   After = "record"
	AfterDownload After = "download"
	AfterWatch    After = "watch"
	AfterDelivery After = "delivery"
)

// StepInput is what a user's step receives: the event, and what the
// download saved.
type StepInput struct {
	// Event is the workflow's input: the event ID, the job (unknown
	// fields kept) and its classified status (Event.JobStatus()).
	Event mediaflow.MediaCompletedInput `json:"event"`
	// Media is the media the download saved (MEDIA_DIR), or nil when
	// nothing was downloaded (no MEDIA_DIR, no media_url, a failed job, a
	// step placed before the download).
	Media *activities.Media `json:"media,omitempty"`
}

// StepFunc is a user's step's activity. It returns what it did (Outcome
// and Detail; the workflow sets Step to the step's name, and Outcome to
// mediaflow.StepDone when empty). Like every activity it runs at least
// once, so it must be idempotent (the event ID is a ready idempotency
// key). A temporal.NewNonRetryableApplicationError fails the workflow at
// once; any other error is retried within the step's options.
type StepFunc func(ctx context.Context, in StepInput) (mediaflow.StepResult, error)

// Step is a step a user adds to MediaCompletedWorkflow: an activity and when
// it runs. Steps are listed in package steps; the worker registers each
// activity under the step's Name, and the workflow runs it after the
// built-in step After, for the jobs whose status is in On, in the order the
// steps are listed. Each run is an activity in the workflow's history
// (summary "<name> for job …"), a StepResult in its result, and a phrase in
// its summary.
type Step struct {
	// Name names the step in the result and the UI, and is its activity's
	// type: lowercase words ("archive"), unlike the built-in activities,
	// and not a built-in step's (mediaflow.StepRecord, …).
	Name string
	// After is the built-in step it follows.
	After After
	// On lists the job statuses it runs for (mediaflow.JobCompleted,
	// mediaflow.JobFailed); empty: both.
	On []mediaflow.JobStatus
	// Options are its activity options; each zero timeout, and a nil retry
	// policy, is taken from Options.Step (10 minutes an attempt, retried,
	// backing off up to 10 minutes apart, for the delivery window).
	Options workflow.ActivityOptions
	// Run is the activity; nil when Off says why the step is not
	// configured on this worker (the result then lists it as skipped).
	Run StepFunc
	// Off is why the step is not configured, e.g. "ARCHIVE_URL not set".
	Off string
}

// Plan is what one workflow does beyond recording and telling the watch:
// decided once, when it starts, from the worker's configuration, and
// recorded in its history (workflow.SideEffect), so that a replay on a
// worker configured otherwise, with other steps or none, does the same.
type Plan struct {
	Optional
	// Steps are the users' steps, in order.
	Steps []PlannedStep `json:"steps,omitempty"`
}

// PlannedStep is a user's step as a Plan records it.
type PlannedStep struct {
	Name  string                `json:"name"`
	After After                 `json:"after"`
	On    []mediaflow.JobStatus `json:"on,omitempty"`
	Off   string                `json:"off,omitempty"`
}

// plan is the Plan of a workflow starting on this worker.
func (wf Workflow) plan() Plan {
	p := Plan{Optional: wf.Optional}
	for _, s := range wf.Steps {
		p.Steps = append(p.Steps, PlannedStep{Name: s.Name, After: s.After, On: s.On, Off: s.Off})
	}
	return p
}

// runsFor reports whether the step runs for a job of status.
func (s PlannedStep) runsFor(status mediaflow.JobStatus) bool {
	return len(s.On) == 0 || slices.Contains(s.On, status)
}

// stepOptions returns the activity options of the user's step name: its
// own, each timeout and the retry policy it leaves zero taken from
// Options.Step (so every step is bounded by a window); Options.Step alone
// when this worker does not know the step (a history recorded by another
// build).
func (wf Workflow) stepOptions(name string) workflow.ActivityOptions {
	opts := wf.Options.Step
	i := slices.IndexFunc(wf.Steps, func(s Step) bool { return s.Name == name })
	if i < 0 {
		return opts
	}
	own := wf.Steps[i].Options
	if own.StartToCloseTimeout == 0 {
		own.StartToCloseTimeout = opts.StartToCloseTimeout
	}
	if own.ScheduleToCloseTimeout == 0 {
		own.ScheduleToCloseTimeout = opts.ScheduleToCloseTimeout
	}
	if own.RetryPolicy == nil {
		own.RetryPolicy = opts.RetryPolicy
	}
	return own
}

// checkSteps fails when a step cannot be registered: no name, a name
// taken twice or in builtin (a built-in activity's or step's), no Run and no Off, or an After
// that is not one of the built-in places.
func checkSteps(steps []Step, builtin []string) error {
	seen := map[string]bool{}
	for _, s := range steps {
		switch {
		case s.Name == "":
			return fmt.Errorf("workflows: a step has no Name")
		case seen[s.Name] || slices.Contains(builtin, s.Name):
			return fmt.Errorf("workflows: step %q: the name is taken", s.Name)
		case s.Run == nil && s.Off == "":
			return fmt.Errorf("workflows: step %q: no Run, and no Off saying why", s.Name)
		case !slices.Contains([]After{AfterRecord, AfterDownload, AfterWatch, AfterDelivery}, s.After):
			return fmt.Errorf("workflows: step %q: After %q is not record, download, watch or delivery", s.Name, s.After)
		}
		seen[s.Name] = true
	}
	return nil
}
