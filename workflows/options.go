package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow/activities"
)

// Options are the activity options of the workflows: timeouts and retry
// policies, one set per kind of step.
type Options struct {
	Download workflow.ActivityOptions
	// Local is used by the short database and Temporal steps, run as local
	// activities within a workflow task: RecordEvent, RecordMedia,
	// TellWatch and LookupJob.
	Local workflow.LocalActivityOptions
	// Record is used by RecordJob, the record step of workflows started
	// before it became a local activity.
	Record workflow.ActivityOptions
	// NotifyFirst is used by the first attempt of Notify or Alert, a local
	// activity: one attempt, bounded well within a workflow task.
	NotifyFirst workflow.LocalActivityOptions
	// Notify is used by both Notify and Alert when their first attempt
	// failed and may be retried.
	Notify workflow.ActivityOptions
}

// notifyFirstTimeout bounds the first, local, attempt of Notify or Alert:
// half of the default workflow task timeout (10 s), so that the task
// completes in time with the steps before it.
const notifyFirstTimeout = 5 * time.Second

// DefaultOptions returns the options the worker runs with.
func DefaultOptions() Options {
	// A database write is short; a database that is down is retried for
	// about 20 minutes before the workflow gives up, visibly.
	recordRetry := &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        25,
		NonRetryableErrorTypes: []string{activities.ErrTypeInvalidData},
	}
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
					activities.ErrTypeMediaTooLarge, activities.ErrTypeForbiddenAddress, activities.ErrTypeInvalidPath,
					activities.ErrTypeInvalidResponse},
			},
		},
		Local:  workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: recordRetry},
		Record: workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: recordRetry},
		// One attempt within the workflow task (whose timeout is 10 s);
		// a slower receiver is left to the activity's attempts.
		NotifyFirst: workflow.LocalActivityOptions{
			StartToCloseTimeout: notifyFirstTimeout,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
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

// Steps says which optional steps the worker is configured for: Download
// when MEDIA_DIR is set, Notify when NOTIFY_URL is, Alert when ALERT_URL
// is. A workflow reads it once, through workflow.SideEffect, so its history
// records the decision and replays it on any worker.
type Steps struct {
	Download bool `json:"download,omitempty"`
	Notify   bool `json:"notify,omitempty"`
	Alert    bool `json:"alert,omitempty"`
}

// Workflow holds the workflows with their options and the worker's
// optional steps; Register registers its methods.
type Workflow struct {
	Options Options
	Steps   Steps
}
