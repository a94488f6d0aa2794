package mediaflow

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		raw  string
		want JobStatus
	}{
		{"completed", JobCompleted},
		{"COMPLETED", JobCompleted},
		{" Succeeded ", JobCompleted},
		{"success", JobCompleted},
		{"failed", JobFailed},
		{"FAILED", JobFailed},
		{"Failure", JobFailed},
		{"error", JobFailed},
		{"PROCESSING", "processing"},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got := ClassifyStatus(tc.raw)
			if got != tc.want {
				t.Errorf("ClassifyStatus(%q) = %q, want %q", tc.raw, got, tc.want)
			}
			if got.Known() != (tc.want == JobCompleted || tc.want == JobFailed) {
				t.Errorf("%q.Known() = %v", got, got.Known())
			}
		})
	}
}

// TestStartOptionsIDPolicies: one run per event ID. A redelivery of an
// event whose run is running or completed is refused as a duplicate
// (conflict policy FAIL, reuse policy ALLOW_DUPLICATE_FAILED_ONLY, an
// error rather than the running run); a resend of an event whose run
// failed, timed out or was terminated starts a new run.
func TestStartOptionsIDPolicies(t *testing.T) {
	opts := StartOptions("q", MediaCompletedInput{EventID: "msg_2", Job: Job{JobID: "j1"}})
	require.Equal(t, "msg_2", opts.ID, "workflow ID = event ID, verbatim")
	require.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, opts.WorkflowIDReusePolicy)
	require.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, opts.WorkflowIDConflictPolicy)
	require.True(t, opts.WorkflowExecutionErrorWhenAlreadyStarted, "a duplicate is an error the server tells apart")
}

// TestStartOptionsSearchAttributes: the job is findable by the classified
// status, whatever its spelling: AnimusJobStatus="completed" finds an
// event whose status was COMPLETED.
func TestStartOptionsSearchAttributes(t *testing.T) {
	for _, in := range []MediaCompletedInput{
		{EventID: "msg_1", Status: JobCompleted, Job: Job{JobID: "j1", Status: "COMPLETED"}},
		// Recorded before the server classified: classified from the job.
		{EventID: "msg_1", Job: Job{JobID: "j1", Status: "COMPLETED"}},
	} {
		opts := StartOptions("q", in)
		require.Equal(t, "msg_1", opts.ID, "workflow ID = event ID")
		require.Equal(t, "q", opts.TaskQueue)
		require.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, opts.WorkflowIDConflictPolicy)
		require.True(t, opts.WorkflowExecutionErrorWhenAlreadyStarted)
		status, ok := opts.TypedSearchAttributes.GetKeyword(SearchAttrJobStatus)
		require.True(t, ok)
		require.Equal(t, "completed", status)
		jobID, _ := opts.TypedSearchAttributes.GetKeyword(SearchAttrJobID)
		require.Equal(t, "j1", jobID)
	}
}

// TestInputRoundTrip: the input goes through Temporal's data converter
// and comes back as the same event, the data object as sent.
func TestInputRoundTrip(t *testing.T) {
	raw := `{"job_id":"j1","status":"FAILED","media_url":"https://m/a.mp4","results":null,"error":{"code":7},"custom_payload":{"b":1,"a":[true]},"percent_complete":100}`
	in := MediaCompletedInput{
		EventID: "msg_1", EventType: "media.completed", EventTimestamp: "2026-11-21T09:00:00Z",
		ReceivedAt: time.Date(2026, 11, 21, 9, 0, 1, 0, time.UTC), Status: JobFailed,
		Job: Job{JobID: "j1", Status: "FAILED", MediaURL: "https://m/a.mp4", Error: json.RawMessage(`{"code":7}`),
			CustomPayload: json.RawMessage(`{"b":1,"a":[true]}`), Raw: json.RawMessage(raw)},
	}
	dc := converter.GetDefaultDataConverter()
	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	var back MediaCompletedInput
	require.NoError(t, dc.FromPayload(p, &back))
	require.Equal(t, in, back)
	require.Contains(t, string(p.GetData()), `"job":`+raw, "the UI shows the data object as sent")
}

// TestJobDecodesWithoutValidating: a recorded input decodes whatever its
// content, so a stricter parser never breaks the replay of a running
// workflow; only the exact member names count.
func TestJobDecodesWithoutValidating(t *testing.T) {
	long := strings.Repeat("s", 3000)
	tests := []struct {
		name string
		data string
		want Job
	}{
		{"empty object", `{}`, Job{Raw: json.RawMessage(`{}`)}},
		{"job_id of another type", `{"job_id":42,"status":"completed"}`,
			Job{Status: "completed", Raw: json.RawMessage(`{"job_id":42,"status":"completed"}`)}},
		{"names match exactly", `{"JOB_ID":"x","job_id":"j","Status":"failed"}`,
			Job{JobID: "j", Raw: json.RawMessage(`{"JOB_ID":"x","job_id":"j","Status":"failed"}`)}},
		{"a status longer than the parser allows", `{"job_id":"j","status":"` + long + `"}`,
			Job{JobID: "j", Status: long, Raw: json.RawMessage(`{"job_id":"j","status":"` + long + `"}`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Job
			require.NoError(t, json.Unmarshal([]byte(tc.data), &got))
			require.Equal(t, tc.want, got)
		})
	}
	var null Job
	require.NoError(t, json.Unmarshal([]byte(`null`), &null))
	require.Equal(t, Job{}, null)
	require.Error(t, json.Unmarshal([]byte(`"a string"`), &null))
}

// TestLegacyInput: an input recorded before the server classified the
// status (no "status" member) still reads as its job's status.
func TestLegacyInput(t *testing.T) {
	var in MediaCompletedInput
	require.NoError(t, json.Unmarshal([]byte(`{"event_id":"msg_old","event_type":"media.completed","received_at":"2026-11-29T09:38:56Z","job":{"job_id":"j","status":"Success"}}`), &in))
	require.Equal(t, JobStatus(""), in.Status)
	require.Equal(t, JobCompleted, in.JobStatus())
}
