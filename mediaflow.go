// Package mediaflow holds the contract shared by the server and the worker:
// the workflow's name, task queue, input and result types, search attribute
// keys and the options every workflow start uses. Nothing here talks to the
// network; cmd/server and cmd/worker import it so no name is typed twice.
package mediaflow

import (
	"encoding/json"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mediaflow/mediaflow/internal/animus"
)

const (
	// WorkflowType is the registered name of the workflow started for each
	// media.completed event.
	WorkflowType = "MediaCompletedWorkflow"
	// DefaultTaskQueue is the task queue used when TEMPORAL_TASK_QUEUE is unset.
	DefaultTaskQueue = "animus-media"
)

// Search attribute keys set when the workflow starts. Both are Keyword
// attributes; the dev setup registers them (see Makefile and README).
var (
	// SearchAttrJobID holds the Animus job ID (data.job_id).
	SearchAttrJobID = temporal.NewSearchAttributeKeyKeyword("AnimusJobID")
	// SearchAttrJobStatus holds the job's status as classified by
	// animus.Classify: "completed", "failed", or the lowercased raw status
	// when it cannot be classified.
	SearchAttrJobStatus = temporal.NewSearchAttributeKeyKeyword("AnimusJobStatus")
)

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
	// Job is the envelope's data object, unknown fields kept.
	Job animus.Job `json:"job"`
}

// Path names the branch the workflow took.
type Path string

// The two paths of MediaCompletedWorkflow.
const (
	PathSuccess Path = "success"
	PathFailure Path = "failure"
)

// MediaCompletedResult is what the workflow returns; the Temporal UI shows it
// as the workflow's result.
type MediaCompletedResult struct {
	EventID string `json:"event_id"`
	JobID   string `json:"job_id"`
	// Status is the classified status ("completed" or "failed").
	Status string `json:"status"`
	Path   Path   `json:"path"`
	// Steps lists what each step did, in order, e.g. "record: stored".
	Steps []string `json:"steps"`
	// Error is the job's own error as Animus sent it (failure path only).
	Error json.RawMessage `json:"error,omitempty"`
}

// StartOptions returns the options every MediaCompletedWorkflow start uses:
// workflow ID = event ID, a rejected duplicate whether the first run is
// still running or finished (within the namespace's retention), and the
// search attributes that make the job findable in the Temporal UI.
// A duplicate start fails with *serviceerror.WorkflowExecutionAlreadyStarted.
func StartOptions(taskQueue string, in MediaCompletedInput) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       in.EventID,
		TaskQueue:                                taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchAttrJobID.ValueSet(in.Job.JobID),
			SearchAttrJobStatus.ValueSet(animus.StatusLabel(in.Job.Status)),
		),
		Memo: map[string]any{
			"event_type":  in.EventType,
			"received_at": in.ReceivedAt.Format(time.RFC3339Nano),
		},
	}
}
