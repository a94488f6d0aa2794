package mediaflow

import (
	"encoding/json"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// A job watch is a workflow per expected Animus job: started by the code
// that submits the job to Animus, it completes with the job's outcome when
// the job's media.completed event arrives, and alerts when none arrives
// before its deadline. Package animusjob wraps it for Go workflows.
const (
	// WatchWorkflowType is the registered name of the job watch workflow.
	WatchWorkflowType = "AnimusJobWatch"
	// SignalJobOutcome is the signal MediaCompletedWorkflow sends a job's
	// watch, with a JobOutcome. It never creates a watch.
	SignalJobOutcome = "job-outcome"
	// QueryStatus is the query both workflows answer while they run:
	// MediaCompletedResult so far, or WatchResult.
	QueryStatus = "status"
	// DefaultWatchDeadline is how long a watch waits for the event before
	// it alerts; DefaultWatchGrace how long it then stays open for a late
	// event (Svix retries an event for about 28 hours).
	DefaultWatchDeadline = 2 * time.Hour
	DefaultWatchGrace    = 24 * time.Hour
)

// SearchAttrWatchState holds a watch's WatchState (Keyword), so that the
// Temporal UI finds, say, AnimusWatchState="overdue". Watches also set
// SearchAttrJobID.
var SearchAttrWatchState = temporal.NewSearchAttributeKeyKeyword("AnimusWatchState")

// SearchAttributes lists every search attribute mediaflow's workflows set,
// all Keyword: each namespace registers them once (make dev, the cluster's
// setup), or starts and watches fail.
func SearchAttributes() []temporal.SearchAttributeKeyKeyword {
	return []temporal.SearchAttributeKeyKeyword{SearchAttrJobID, SearchAttrJobStatus, SearchAttrWatchState}
}

// WatchSummary is a watch's summary in the Temporal UI.
func WatchSummary(jobID string) string { return "Watch for Animus job " + jobID }

// WatchID returns the workflow ID of jobID's watch: "animus-job-<job ID>".
func WatchID(jobID string) string { return "animus-job-" + jobID }

// MaxIDLength bounds an event ID, a job ID and a job status, in bytes:
// the event ID is a workflow ID, the job ID and the status are Keyword
// search attributes, and Temporal's SQL stores (PostgreSQL, MySQL,
// SQLite) hold each in 255 characters.
const MaxIDLength = 255

// CheckID fails for an ID that Temporal cannot take as a workflow ID or a
// Keyword value: longer than MaxIDLength, or with a byte that is not
// printable ASCII (0x20 to 0x7E), which the Temporal client refuses in
// the gRPC header that carries a workflow ID (temporal-resource-id).
func CheckID(id string) error {
	if len(id) > MaxIDLength {
		return fmt.Errorf("longer than %d bytes", MaxIDLength)
	}
	for i := range len(id) {
		if c := id[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("byte %d is 0x%02x: only printable ASCII can name a Temporal workflow", i, c)
		}
	}
	return nil
}

// WatchState is where a watch stands.
type WatchState string

// The states of a watch.
const (
	// WatchWaiting: no event yet, deadline not passed.
	WatchWaiting WatchState = "waiting"
	// WatchOverdue: the deadline passed without an event; alerted, still
	// open for the grace period.
	WatchOverdue WatchState = "overdue"
	// WatchDone: the job's event arrived; the result holds its outcome.
	WatchDone WatchState = "done"
	// WatchExpired: no event within the deadline and the grace period.
	WatchExpired WatchState = "expired"
)

// WatchInput is the watch workflow's argument.
type WatchInput struct {
	// JobID is the Animus job ID (data.job_id of its events).
	JobID string `json:"job_id"`
	// Deadline is how long to wait for the event before alerting, as a Go
	// duration ("2h", "90m"); empty means DefaultWatchDeadline.
	Deadline string `json:"deadline,omitempty"`
	// Grace is how long to stay open after the deadline for a late event,
	// as a Go duration; empty means DefaultWatchGrace.
	Grace string `json:"grace,omitempty"`
}

// JobOutcome is what an Animus job came to, as its newest media.completed
// event says: sent by MediaCompletedWorkflow to the job's watch, and read
// from the job's row when the event came before the watch.
type JobOutcome struct {
	JobID   string `json:"job_id"`
	EventID string `json:"event_id"`
	// Status is JobCompleted or JobFailed.
	Status JobStatus `json:"status"`
	// EventTimestamp is the event's envelope timestamp (RFC 3339) as sent;
	// of two outcomes for one job, the later timestamp wins.
	EventTimestamp string `json:"event_timestamp,omitempty"`
	// MediaPath is where the media was saved (MEDIA_DIR), if it was.
	MediaPath string `json:"media_path,omitempty"`
	// Error is the job's error as Animus sent it (failed jobs).
	Error json.RawMessage `json:"error,omitempty"`
}

// Newer reports whether o is a newer outcome for its job than old (nil:
// none yet): a later envelope timestamp, or the same one. Timestamps are
// compared as instants when both parse as RFC 3339, else as strings.
func (o JobOutcome) Newer(old *JobOutcome) bool {
	if old == nil {
		return true
	}
	a, errA := time.Parse(time.RFC3339Nano, o.EventTimestamp)
	b, errB := time.Parse(time.RFC3339Nano, old.EventTimestamp)
	if errA == nil && errB == nil {
		return !a.Before(b)
	}
	return o.EventTimestamp >= old.EventTimestamp
}

// WatchResult is the watch workflow's result, and its status query's answer.
type WatchResult struct {
	JobID string     `json:"job_id"`
	State WatchState `json:"state"`
	// Outcome is set once the job's event arrived (State WatchDone).
	Outcome *JobOutcome `json:"outcome,omitempty"`
	// Alerted is true when the deadline passed and the alert was sent.
	Alerted bool `json:"alerted,omitempty"`
}

// Summary is the watch in one line for a person (its current details in
// the Temporal UI): "job j1: waiting for its event", "job j1: done,
// completed (event msg_1, media saved)", "job j1: overdue, alerted".
func (r WatchResult) Summary() string {
	switch {
	case r.State == WatchDone && r.Outcome != nil:
		media := ""
		if r.Outcome.MediaPath != "" {
			media = ", media saved"
		}
		return fmt.Sprintf("job %s: done, %s (event %s%s)", r.JobID, r.Outcome.Status, r.Outcome.EventID, media)
	case r.State == WatchOverdue && r.Alerted:
		return fmt.Sprintf("job %s: overdue, alerted; still waiting for its event", r.JobID)
	case r.State == WatchOverdue:
		return fmt.Sprintf("job %s: overdue; still waiting for its event", r.JobID)
	case r.State == WatchExpired:
		return fmt.Sprintf("job %s: expired, no event came", r.JobID)
	}
	return fmt.Sprintf("job %s: waiting for its event", r.JobID)
}

// WatchStartOptions returns the options to start jobID's watch from any
// Temporal client (client.ExecuteWorkflow with WatchWorkflowType and a
// WatchInput): workflow ID WatchID(jobID), mediaflow's task queue, and
// "start or join": while a watch for the job runs, starting it again
// returns the running one. The watch sets its own search attributes.
func WatchStartOptions(taskQueue, jobID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       WatchID(jobID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            WatchSummary(jobID),
	}
}
