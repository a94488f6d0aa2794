// Package mediaflow is the contract every other package of the module
// builds on: the workflow's name and task queue, the Animus job as the
// workflow sees it, the classification of its status, the workflow's input
// and result, the search attributes and the options of every start.
//
// It imports only the standard library and Temporal's types, and nothing
// of this module: every arrow points here. What it defines is recorded in
// workflow histories, so a change here can break the replay of running
// workflows; mediaflow_test.go and workflows/replay_test.go guard it.
package mediaflow

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

const (
	// WorkflowType is the registered name of the workflow started for each
	// media.completed event.
	WorkflowType = "MediaCompletedWorkflow"
	// DefaultTaskQueue is the task queue used when TEMPORAL_TASK_QUEUE is unset.
	DefaultTaskQueue = "animus-media"
)

// DeliveryTaskQueue is the task queue of the notifications and alerts of
// the workflows on taskQueue ("animus-media-deliveries"): every worker
// polls it beside taskQueue, for Notify and Alert only, so that Temporal
// bounds the rate of deliveries from all workers together
// (NOTIFY_MAX_PER_SECOND) and an operator can pause them.
func DeliveryTaskQueue(taskQueue string) string { return taskQueue + "-deliveries" }

// Search attribute keys set when the workflow starts. Both are Keyword
// attributes; every setup registers them (make dev, the Compose cluster).
var (
	// SearchAttrJobID holds the Animus job ID (data.job_id).
	SearchAttrJobID = temporal.NewSearchAttributeKeyKeyword("AnimusJobID")
	// SearchAttrJobStatus holds the job's JobStatus: "completed", "failed",
	// or the lowercased raw status when it cannot be classified.
	SearchAttrJobStatus = temporal.NewSearchAttributeKeyKeyword("AnimusJobStatus")
)

// JobStatus is an Animus job's status as mediaflow classifies it: the
// value of AnimusJobStatus, of the jobs table's status column, of
// mediaflow_jobs_total's status label and of notices' status field.
type JobStatus string

// The two statuses a workflow can handle. Any other JobStatus is the raw
// status lowercased: a job the workflow cannot classify.
const (
	JobCompleted JobStatus = "completed"
	JobFailed    JobStatus = "failed"
)

// ClassifyStatus maps a job's status as Animus sends it (the webhook spells
// "completed", the job status API "COMPLETED") to a JobStatus,
// case-insensitively and ignoring surrounding space:
// completed/succeeded/success → JobCompleted, failed/failure/error →
// JobFailed, anything else → the status lowercased (Known is false).
func ClassifyStatus(raw string) JobStatus {
	s := strings.ToLower(strings.TrimSpace(raw))
	switch s {
	case "completed", "succeeded", "success":
		return JobCompleted
	case "failed", "failure", "error":
		return JobFailed
	}
	return JobStatus(s)
}

// Known reports whether s is JobCompleted or JobFailed.
func (s JobStatus) Known() bool { return s == JobCompleted || s == JobFailed }

// Job is the data object of a media.completed event (payload shape per
// the Animus webhook docs). The known fields are read out; the object
// itself is kept in Raw, so fields Animus adds later (percent_complete, …)
// survive the trip through Temporal and into the database.
//
// Job marshals to Raw. It unmarshals without validating: the server
// validated the event (package internal/animus) before any workflow saw
// it, and a workflow's recorded input must decode the same way forever.
type Job struct {
	JobID string
	// Status is the status as sent; ClassifyStatus reads it.
	Status   string
	MediaURL string
	// Results depends on the job type (an array of findings, an object…);
	// nil when absent or null.
	Results json.RawMessage
	// Error is whatever a failed job carries (string or object); nil when
	// absent or null.
	Error json.RawMessage
	// CustomPayload is the caller's own JSON, passed through untouched;
	// nil when absent or null.
	CustomPayload json.RawMessage
	// Raw is the data object as received.
	Raw json.RawMessage
}

// MarshalJSON returns the data object as received (null for a zero Job).
func (j Job) MarshalJSON() ([]byte, error) {
	if len(j.Raw) == 0 {
		return []byte("null"), nil
	}
	return j.Raw, nil
}

// UnmarshalJSON reads a data object: job_id, status and media_url when
// they are strings, results, error and custom_payload as they are (nil
// when null), the object itself into Raw. Member names match exactly.
// null is the zero Job. It fails only when b is not a JSON object.
func (j *Job) UnmarshalJSON(b []byte) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return err
	}
	if members == nil { // null
		*j = Job{}
		return nil
	}
	str := func(name string) string {
		var s string
		_ = json.Unmarshal(members[name], &s) // absent or not a string: ""
		return s
	}
	*j = Job{
		JobID:         str("job_id"),
		Status:        str("status"),
		MediaURL:      str("media_url"),
		Results:       nonNull(members["results"]),
		Error:         nonNull(members["error"]),
		CustomPayload: nonNull(members["custom_payload"]),
		Raw:           append(json.RawMessage(nil), b...),
	}
	return nil
}

func nonNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// MediaCompletedInput is the workflow's single argument: one verified
// media.completed event.
type MediaCompletedInput struct {
	// EventID is the Svix message ID (svix-id / webhook-id header); it is
	// also the workflow ID.
	EventID string `json:"event_id"`
	// EventType is the envelope's event_type ("media.completed").
	EventType string `json:"event_type"`
	// EventTimestamp is the envelope's timestamp as sent (RFC 3339), kept as
	// a string so an odd value is stored rather than rejected.
	EventTimestamp string `json:"event_timestamp,omitempty"`
	// ReceivedAt is when the server accepted the delivery (UTC).
	ReceivedAt time.Time `json:"received_at"`
	// Status is ClassifyStatus(Job.Status), decided once, by the server.
	// Inputs recorded before it was carried lack it: read it with
	// JobStatus.
	Status JobStatus `json:"status,omitempty"`
	// Job is the envelope's data object, unknown fields kept.
	Job Job `json:"job"`
}

// JobStatus returns in.Status, or, for an input recorded before the server
// classified the status, ClassifyStatus(in.Job.Status).
func (in MediaCompletedInput) JobStatus() JobStatus {
	if in.Status != "" {
		return in.Status
	}
	return ClassifyStatus(in.Job.Status)
}

// MediaCompletedResult is what the workflow returns; the Temporal UI shows it
// as the workflow's result.
type MediaCompletedResult struct {
	EventID string `json:"event_id"`
	JobID   string `json:"job_id"`
	// Status is the job's JobStatus; the workflow only returns a result
	// for JobCompleted and JobFailed.
	Status JobStatus `json:"status"`
	// Steps lists what each step did, in order.
	Steps []StepResult `json:"steps"`
	// Error is the job's own error as Animus sent it (failed jobs only).
	Error json.RawMessage `json:"error,omitempty"`
	// Stale is true when the job's row already held a newer event (by the
	// envelope's timestamp): this one was recorded as stale and caused no
	// download, notification or alert. NewerEventID names that event.
	Stale        bool   `json:"stale,omitempty"`
	NewerEventID string `json:"newer_event_id,omitempty"`
	// Summary is Line() of the finished result, for people reading it.
	Summary string `json:"summary,omitempty"`
}

// Line is the result in one line for a person, e.g. "job j1 completed:
// recorded, saved 3.4 kB, watch told, notified (HTTP 200)": the result's
// Summary, and the workflow's current details in the Temporal UI once it
// is done.
func (r MediaCompletedResult) Line() string {
	parts := make([]string, 0, len(r.Steps))
	for _, s := range r.Steps {
		parts = append(parts, s.Phrase())
	}
	return fmt.Sprintf("job %s %s: %s", r.JobID, r.Status, strings.Join(parts, ", "))
}

// The names of MediaCompletedWorkflow's built-in steps, as StepResult.Step
// holds them.
const (
	StepRecord      = "record"
	StepDownload    = "download"
	StepRecordMedia = "record media"
	StepWatch       = "watch"
	StepNotify      = "notify"
	StepAlert       = "alert"
)

// StepOutcome is what a step came to.
type StepOutcome string

// The outcomes of the built-in steps; a step added by a user may return
// any of them (StepDone for work done).
const (
	// StepDone: the step did its work; Detail says what.
	StepDone StepOutcome = "done"
	// StepStored: the event was written as its job's row.
	StepStored StepOutcome = "stored"
	// StepSaved: the media was downloaded; StepExisting: it had been
	// saved by an earlier run. Detail: path, size and SHA-256.
	StepSaved    StepOutcome = "saved"
	StepExisting StepOutcome = "existing"
	// StepTold: the job's watch was signalled.
	StepTold StepOutcome = "told"
	// StepDelivered: the receiver answered 2xx (Detail: "HTTP 200").
	StepDelivered StepOutcome = "delivered"
	// StepAlreadyDelivered: the job database says this job's outcome was
	// delivered before (Detail names the event that carried it), so it is
	// not sent again.
	StepAlreadyDelivered StepOutcome = "already delivered"
	// StepSkipped: not configured or nothing to do (Detail says which).
	StepSkipped StepOutcome = "skipped"
	// StepStale: the job's row holds a newer event (Detail names it and
	// what did not happen); the workflow stops there.
	StepStale StepOutcome = "stale"
)

// StepResult is what one step of MediaCompletedWorkflow did: its name
// (StepRecord, …, or the name of a step a user added), its outcome and a
// detail for people. String gives the line the result used to hold, e.g.
// "notify: delivered (HTTP 200)".
type StepResult struct {
	Step    string      `json:"step"`
	Outcome StepOutcome `json:"outcome"`
	Detail  string      `json:"detail,omitempty"`
	// Bytes is the size of what the step saved or moved, when it did.
	Bytes int64 `json:"bytes,omitempty"`
}

// String is "<step>: <outcome> (<detail>)", or without the parenthesis
// when there is no detail.
func (s StepResult) String() string {
	if s.Detail == "" {
		return s.Step + ": " + string(s.Outcome)
	}
	return fmt.Sprintf("%s: %s (%s)", s.Step, s.Outcome, s.Detail)
}

// Phrase is the step in a few words for Line: "saved 3.4 kB",
// "notified (HTTP 200)", "archive done".
func (s StepResult) Phrase() string {
	switch {
	case s.Step == StepRecord && s.Outcome == StepStored:
		return "recorded"
	case s.Step == StepWatch && s.Outcome == StepTold:
		return "watch told"
	case s.Step == StepNotify && s.Outcome == StepDelivered:
		return "notified (" + s.Detail + ")"
	case s.Step == StepAlert && s.Outcome == StepDelivered:
		return "alerted (" + s.Detail + ")"
	case (s.Outcome == StepSaved || s.Outcome == StepExisting) && s.Bytes > 0:
		return string(s.Outcome) + " " + ByteSize(s.Bytes)
	case s.Outcome == StepStale:
		return s.Step + ": " + string(s.Outcome) + " (" + s.Detail + ")"
	}
	if s.Detail == "" || s.Outcome == StepSkipped && s.Step != StepDownload {
		return s.Step + " " + string(s.Outcome)
	}
	return s.Step + " " + string(s.Outcome) + " (" + s.Detail + ")"
}

// ByteSize is n bytes for a person, in SI units: "812 B", "3.4 KB",
// "1.5 GB".
func ByteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// StartOptions returns the options every MediaCompletedWorkflow start uses:
// workflow ID = event ID; a duplicate while the first run is running or
// after it completed (within the namespace's retention), but a new run
// after one that failed, timed out or was terminated, so an event resent
// from Svix after a fix runs again; and the search attributes that make
// the job findable in the Temporal UI; its summary and details (user
// metadata), which the UI shows on the workflow's page and in its list. A
// duplicate start fails with *serviceerror.WorkflowExecutionAlreadyStarted.
func StartOptions(taskQueue string, in MediaCompletedInput) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       in.EventID,
		StaticSummary:                            fmt.Sprintf("Animus job %s %s", in.Job.JobID, in.JobStatus()),
		StaticDetails:                            startDetails(in),
		TaskQueue:                                taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchAttrJobID.ValueSet(in.Job.JobID),
			SearchAttrJobStatus.ValueSet(string(in.JobStatus())),
		),
	}
}

// startDetails is the workflow's static details: the event as it arrived,
// in Markdown, as the Temporal UI shows them. Never the media URL: a
// presigned URL is a secret.
func startDetails(in MediaCompletedInput) string {
	ts := in.EventTimestamp
	if ts == "" {
		ts = "none"
	}
	return fmt.Sprintf("**%s** event `%s` (envelope timestamp %s, received %s)  \nJob `%s`, status `%s` as sent",
		in.EventType, in.EventID, ts, in.ReceivedAt.UTC().Format(time.RFC3339), in.Job.JobID, in.Job.Status)
}
