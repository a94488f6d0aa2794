package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

// Options are the activity options of the workflows: timeouts and retry
// policies, one set per kind of step. Every retrying step is bounded by a
// window (its ScheduleToClose timeout), the worker's setting; within it,
// attempts back off up to a cap and never run out.
type Options struct {
	// Local is used by the short database and Temporal steps, run as local
	// activities within a workflow task: RecordEvent, RecordMedia,
	// TellWatch and LookupJob.
	Local workflow.LocalActivityOptions
	// Record is used by RecordJob, the record step of workflows started
	// before it became a local activity.
	Record   workflow.ActivityOptions
	Download workflow.ActivityOptions
	// NotifyFirst is used by the first attempt of Notify or Alert as a
	// local activity, when deliveries are not rate limited: one attempt,
	// bounded well within a workflow task.
	NotifyFirst workflow.LocalActivityOptions
	// Deliver is used by Notify and Alert as activities on the delivery
	// task queue (mediaflow.DeliveryTaskQueue), rate limited and pausable
	// there.
	Deliver workflow.ActivityOptions
	// Step is the default of a user's step (Step.Options) where it sets
	// no timeout.
	Step workflow.ActivityOptions
}

// Windows are how long each kind of step retries before the workflow gives
// up (each its ScheduleToClose timeout): the worker's settings
// DATABASE_RETRY_WINDOW, DOWNLOAD_RETRY_WINDOW and DELIVERY_RETRY_WINDOW,
// whose defaults are in package config.
type Windows struct {
	// Database bounds the local steps that write or read the job
	// database, and telling a watch.
	Database time.Duration
	// Download bounds a download, all its attempts together.
	Download time.Duration
	// Delivery bounds a notification or an alert: a receiver that is down
	// for less gets every notice once it is back.
	Delivery time.Duration
}

// notifyFirstTimeout bounds the first, local, attempt of Notify or Alert:
// half of the default workflow task timeout (10 s), so that the task
// completes in time with the steps before it.
const notifyFirstTimeout = 5 * time.Second

// NewOptions returns the options the worker on taskQueue runs with, each
// retrying step bounded by its window in w.
func NewOptions(taskQueue string, w Windows) Options {
	// A database write is short; a database that is down is retried, at
	// most a minute apart, for the whole window.
	database := &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrTypeInvalidData},
	}
	return Options{
		Local: workflow.LocalActivityOptions{
			ScheduleToCloseTimeout: w.Database,
			StartToCloseTimeout:    30 * time.Second,
			RetryPolicy:            database,
		},
		Record: workflow.ActivityOptions{
			ScheduleToCloseTimeout: w.Database,
			StartToCloseTimeout:    30 * time.Second,
			RetryPolicy:            database,
		},
		// A download may be long (up to 5 GiB) but must show progress: no
		// heartbeat for 30 s means a stalled transfer, retried.
		Download: workflow.ActivityOptions{
			ScheduleToCloseTimeout: w.Download,
			StartToCloseTimeout:    min(6*time.Hour, w.Download),
			HeartbeatTimeout:       30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:    5 * time.Second,
				BackoffCoefficient: 2,
				MaximumInterval:    5 * time.Minute,
				NonRetryableErrorTypes: []string{activities.ErrTypeInvalidURL, activities.ErrTypeHTTPStatus,
					activities.ErrTypeMediaTooLarge, activities.ErrTypeForbiddenAddress, activities.ErrTypeInvalidPath,
					activities.ErrTypeInvalidResponse},
			},
		},
		// One attempt within the workflow task (whose timeout is 10 s);
		// a slower receiver is left to the activity's attempts.
		NotifyFirst: workflow.LocalActivityOptions{
			ScheduleToCloseTimeout: notifyFirstTimeout,
			StartToCloseTimeout:    notifyFirstTimeout,
			RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
		},
		Deliver: workflow.ActivityOptions{
			TaskQueue:              mediaflow.DeliveryTaskQueue(taskQueue),
			ScheduleToCloseTimeout: w.Delivery,
			StartToCloseTimeout:    activities.NotifyTimeout + 5*time.Second,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:        2 * time.Second,
				BackoffCoefficient:     2,
				MaximumInterval:        10 * time.Minute,
				NonRetryableErrorTypes: []string{activities.ErrTypeInvalidURL, activities.ErrTypeHTTPStatus},
			},
		},
		Step: workflow.ActivityOptions{
			ScheduleToCloseTimeout: w.Delivery,
			StartToCloseTimeout:    10 * time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:    2 * time.Second,
				BackoffCoefficient: 2,
				MaximumInterval:    10 * time.Minute,
			},
		},
	}
}

// Optional says which optional built-in steps the worker is configured
// for: Download when MEDIA_DIR is set, Notify when NOTIFY_URL is, Alert
// when ALERT_URL is; RateLimited when NOTIFY_MAX_PER_SECOND is on, so that
// every delivery attempt, the first included, is an activity task on the
// rate-limited delivery task queue.
type Optional struct {
	Download    bool `json:"download,omitempty"`
	Notify      bool `json:"notify,omitempty"`
	Alert       bool `json:"alert,omitempty"`
	RateLimited bool `json:"rate_limited,omitempty"`
}

// Workflow holds the workflows with their options, the worker's optional
// steps and the steps users added; Register registers them.
type Workflow struct {
	Options  Options
	Optional Optional
	// Steps are the steps users added (package steps), in the order they
	// were registered.
	Steps []Step
}
