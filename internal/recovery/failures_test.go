package recovery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
)

// The failure chains below are the shapes the Go SDK and the Temporal
// server record; e2e/rerun_test.go reads real ones.

func appFailure(msg, errType string, cause *failurepb.Failure) *failurepb.Failure {
	return &failurepb.Failure{Message: msg, Cause: cause, FailureInfo: &failurepb.Failure_ApplicationFailureInfo{
		ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: errType}}}
}

func activityFailure(activity string, state enumspb.RetryState, cause *failurepb.Failure) *failurepb.Failure {
	return &failurepb.Failure{Message: "activity error", Cause: cause, FailureInfo: &failurepb.Failure_ActivityFailureInfo{
		ActivityFailureInfo: &failurepb.ActivityFailureInfo{ActivityType: &commonpb.ActivityType{Name: activity}, RetryState: state}}}
}

func timeoutFailure(t enumspb.TimeoutType, cause *failurepb.Failure) *failurepb.Failure {
	return &failurepb.Failure{Message: "activity timeout", Cause: cause, FailureInfo: &failurepb.Failure_TimeoutFailureInfo{
		TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{TimeoutType: t}}}
}

// wrapped is what a workflow's fmt.Errorf("…: %w", err) records.
func wrapped(cause *failurepb.Failure) *failurepb.Failure {
	return appFailure("notify for job j1: "+cause.GetMessage(), "wrapError", cause)
}

func TestCauseOf(t *testing.T) {
	for _, tc := range []struct {
		failure                  *failurepb.Failure
		cause, activity, errType string
		message                  string
	}{
		{
			// A receiver down: the next retry would not fit in the window.
			wrapped(activityFailure("Notify", enumspb.RETRY_STATE_TIMEOUT, appFailure("notify: HTTP 503", "RetryableHTTP", nil))),
			"Notify: RetryableHTTP, window ran out", "Notify", "RetryableHTTP", "notify: HTTP 503",
		},
		{
			// The window closed during an attempt.
			wrapped(activityFailure("Notify", enumspb.RETRY_STATE_TIMEOUT, timeoutFailure(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE,
				appFailure("notifying: Post: connection refused", "wrapError", appFailure("connection refused", "OpError", nil))))),
			"Notify: OpError, window ran out", "Notify", "OpError", "notifying: Post: connection refused",
		},
		{
			// Out of its window with no attempt's error recorded.
			wrapped(activityFailure("DownloadMedia", enumspb.RETRY_STATE_TIMEOUT, timeoutFailure(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, nil))),
			"DownloadMedia: ScheduleToClose timeout", "DownloadMedia", "ScheduleToClose timeout", "notify for job j1: activity error",
		},
		{
			wrapped(activityFailure("DownloadMedia", enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE, appFailure("downloading: HTTP 404", "HTTPStatus", nil))),
			"DownloadMedia: HTTPStatus", "DownloadMedia", "HTTPStatus", "downloading: HTTP 404",
		},
		{
			wrapped(activityFailure("RecordEvent", enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, appFailure("database is locked", "", nil))),
			"RecordEvent: error, attempts ran out", "RecordEvent", "error", "database is locked",
		},
		{
			appFailure(`job j1: status "weird" is neither…`, "UnknownJobStatus", nil),
			"UnknownJobStatus", "", "UnknownJobStatus", `job j1: status "weird" is neither…`,
		},
	} {
		var f Failure
		f.causeOf(tc.failure)
		require.Equal(t, tc.cause, f.Cause)
		require.Equal(t, tc.activity, f.Activity)
		require.Equal(t, tc.errType, f.ErrorType)
		require.Equal(t, tc.message, f.Message)
	}
}

func TestMatches(t *testing.T) {
	f := Failure{Cause: "Notify: RetryableHTTP, window ran out", Activity: "Notify", ErrorType: "RetryableHTTP"}
	for _, c := range []string{"notify", "retryablehttp", "Notify: RetryableHTTP, window ran out"} {
		require.True(t, f.matches([]string{c}), c)
	}
	for _, c := range []string{"window", "Notify: RetryableHTTP", "Alert", ""} {
		require.False(t, f.matches([]string{c}), c)
	}
	require.True(t, f.matches(nil), "no cause asked: any")
	require.True(t, f.matches([]string{"HTTPStatus", "Notify"}))
}

func TestSelectionQuery(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	require.Equal(t, `WorkflowType = "MediaCompletedWorkflow" AND TaskQueue = "animus-media" AND ExecutionStatus IN ("Failed", "Terminated", "TimedOut", "Canceled")`,
		Selection{}.query("animus-media", now))
	require.Equal(t, `WorkflowType = "MediaCompletedWorkflow" AND TaskQueue = "q" AND ExecutionStatus IN ("Failed", "Terminated", "TimedOut", "Canceled")`+
		` AND CloseTime >= "2026-12-06T10:00:00Z" AND AnimusJobID = "j \"1\" \\ x" AND (StartTime > "2026-12-01T00:00:00Z" OR WorkflowId = "a")`,
		Selection{Since: 2 * time.Hour, JobID: `j "1" \ x`, Query: `StartTime > "2026-12-01T00:00:00Z" OR WorkflowId = "a"`, Causes: []string{"x"}}.query("q", now),
		"the raw query in parentheses: its OR stays inside")
}

func TestGroup(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var failures []Failure
	for i, cause := range []string{"b", "a", "b", "b", "a", "b", "c"} {
		failures = append(failures, Failure{EventID: string(rune('0' + i)), Cause: cause, ClosedAt: at.Add(-time.Duration(i) * time.Minute)})
	}
	groups := Group(failures)
	require.Equal(t, []CauseGroup{
		{Cause: "b", Count: 4, Newest: failures[0], Examples: []string{"0", "2", "3"}},
		{Cause: "a", Count: 2, Newest: failures[1], Examples: []string{"1", "4"}},
		{Cause: "c", Count: 1, Newest: failures[6], Examples: []string{"6"}},
	}, groups)
	require.Empty(t, Group(nil))
}
