package recovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"golang.org/x/sync/errgroup"

	"github.com/mediaflow/mediaflow"
)

// lookups bounds the calls to Temporal that Failures makes at once.
const lookups = 16

// Selection picks events by the latest run of their
// MediaCompletedWorkflow: one that failed, was terminated, timed out or
// was canceled, on the configured task queue (TEMPORAL_TASK_QUEUE). Each
// field narrows it; the zero Selection is every such event that the
// namespace retains.
type Selection struct {
	// Since keeps the runs that closed within it, before now.
	Since time.Duration
	// JobID keeps the events of one Animus job (AnimusJobID).
	JobID string
	// Query is a visibility query (the Temporal UI's and `temporal
	// workflow list --query`'s language) that the runs must also match,
	// e.g. `StartTime > "2026-01-15T10:00:00Z"`.
	Query string
	// Causes keeps the events whose cause (Failure.Cause) is one of
	// them, or has one of them as its activity or its error type
	// (Failure.Activity, Failure.ErrorType); case-insensitive.
	Causes []string
}

// notCompleted are the statuses of a run that did not complete: a new run
// of its workflow ID may start (mediaflow.StartOptions' reuse policy).
var notCompleted = map[enumspb.WorkflowExecutionStatus]bool{
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:     true,
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED: true,
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:  true,
	enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:   true,
}

// query is the visibility query of s's runs on taskQueue, closed after
// now-s.Since when s.Since is set. It may select several runs of one
// event, and runs that were run again since: Failures keeps each event's
// latest run.
func (s Selection) query(taskQueue string, now time.Time) string {
	q := fmt.Sprintf(`WorkflowType = %s AND TaskQueue = %s AND ExecutionStatus IN ("Failed", "Terminated", "TimedOut", "Canceled")`,
		quote(mediaflow.WorkflowType), quote(taskQueue))
	if s.Since > 0 {
		q += " AND CloseTime >= " + quote(now.Add(-s.Since).UTC().Format(time.RFC3339Nano))
	}
	if s.JobID != "" {
		q += fmt.Sprintf(" AND %s = %s", mediaflow.SearchAttrJobID.GetName(), quote(s.JobID))
	}
	if s.Query != "" {
		q += " AND (" + s.Query + ")"
	}
	return q
}

// quote is v as a string of a visibility query: double quotes, with
// backslash escapes for a quote or a backslash in v.
func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// Failure is an event whose latest MediaCompletedWorkflow run did not
// complete.
type Failure struct {
	// EventID is the event's ID, its workflow ID.
	EventID string
	// RunID is its latest run, the one that did not complete.
	RunID string
	// Status is how that run closed: failed, terminated, timed out or
	// canceled.
	Status enumspb.WorkflowExecutionStatus
	// ClosedAt is when it closed.
	ClosedAt time.Time
	// Cause names why, for grouping (see causeOf): "DownloadMedia:
	// HTTPStatus", "Notify: RetryableHTTP, window ran out",
	// "UnknownJobStatus", "terminated", "timed out", "canceled".
	Cause string
	// Activity and ErrorType are parts of Cause: the activity that
	// failed ("" when none did) and the error type (its last attempt's
	// when it ran out of retries; "terminated"… for a run that did not
	// fail).
	Activity, ErrorType string
	// Message is the failure's message, or the termination's reason.
	Message string
}

// Failures returns the events that s selects, the newest first: each
// event's latest run, when it did not complete, with its cause read from
// its close event. A run of the selection that was run again since (its
// latest run running or completed) is left out. It fails when Temporal
// refuses the query (a malformed s.Query, or one that is well-formed only
// inside the selection's parentheses: *serviceerror.InvalidArgument)
// or cannot be reached.
func (o *Operator) Failures(ctx context.Context, s Selection) ([]Failure, error) {
	if s.Query != "" {
		// Temporal parses it alone first: one that parses only inside the
		// parentheses query puts around it (`a") OR ("b`) would widen
		// the selection past the task queue, Since and JobID.
		req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: o.Namespace, Query: s.Query, PageSize: 1}
		if _, err := o.Client.ListWorkflow(ctx, req); err != nil {
			return nil, fmt.Errorf("listing workflows (%s): %w", s.Query, err)
		}
	}
	q := s.query(o.TaskQueue, time.Now())
	ids, err := o.listIDs(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("listing workflows (%s): %w", q, err)
	}
	found := make([]*Failure, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookups)
	for i, id := range ids {
		g.Go(func() (err error) {
			found[i], err = o.failure(gctx, id)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []Failure
	for _, f := range found {
		if f != nil && f.matches(s.Causes) {
			out = append(out, *f)
		}
	}
	slices.SortFunc(out, func(a, b Failure) int {
		return cmp.Or(b.ClosedAt.Compare(a.ClosedAt), strings.Compare(a.EventID, b.EventID))
	})
	return out, nil
}

// listIDs returns the workflow IDs of the runs that q selects, each once.
func (o *Operator) listIDs(ctx context.Context, q string) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: o.Namespace, Query: q, PageSize: 1000}
	for {
		resp, err := o.Client.ListWorkflow(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, e := range resp.GetExecutions() {
			if id := e.GetExecution().GetWorkflowId(); !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if req.NextPageToken = resp.GetNextPageToken(); len(req.NextPageToken) == 0 {
			return ids, nil
		}
	}
}

// failure returns event id's latest run when it is a MediaCompletedWorkflow
// that did not complete, nil otherwise (run again since, or gone from
// retention).
func (o *Operator) failure(ctx context.Context, id string) (*Failure, error) {
	desc, err := o.Client.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetType().GetName() != mediaflow.WorkflowType || !notCompleted[info.GetStatus()] {
		return nil, nil
	}
	f := &Failure{EventID: id, RunID: info.GetExecution().GetRunId(), Status: info.GetStatus(), ClosedAt: info.GetCloseTime().AsTime()}
	closing, err := o.event(ctx, id, f.RunID, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	if err != nil {
		return nil, fmt.Errorf("event %s: reading how run %s closed: %w", id, f.RunID, err)
	}
	closeCause(f, closing)
	return f, nil
}

// event returns the first event of run's history that filter keeps: the
// close event, or (ALL_EVENT) the started event.
func (o *Operator) event(ctx context.Context, id, run string, filter enumspb.HistoryEventFilterType) (*historypb.HistoryEvent, error) {
	resp, err := o.Client.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace:              o.Namespace,
		Execution:              &commonpb.WorkflowExecution{WorkflowId: id, RunId: run},
		MaximumPageSize:        1,
		HistoryEventFilterType: filter,
	})
	if err != nil {
		return nil, err
	}
	events := resp.GetHistory().GetEvents()
	if len(events) == 0 {
		return nil, errors.New("no such event in its history")
	}
	return events[0], nil
}

// closeCause sets f's cause and message from its run's close event.
func closeCause(f *Failure, e *historypb.HistoryEvent) {
	switch {
	case e.GetWorkflowExecutionFailedEventAttributes() != nil:
		f.causeOf(e.GetWorkflowExecutionFailedEventAttributes().GetFailure())
		return
	case e.GetWorkflowExecutionTerminatedEventAttributes() != nil:
		f.ErrorType, f.Message = "terminated", e.GetWorkflowExecutionTerminatedEventAttributes().GetReason()
	case e.GetWorkflowExecutionTimedOutEventAttributes() != nil:
		f.ErrorType, f.Message = "timed out", "the workflow execution timeout passed"
	case e.GetWorkflowExecutionCanceledEventAttributes() != nil:
		f.ErrorType, f.Message = "canceled", "canceled on request"
	default:
		f.ErrorType = e.GetEventType().String()
	}
	f.Cause = f.ErrorType
}

// goWrappers are the error types that the Go SDK records for errors made
// with fmt.Errorf or errors.Join: they say nothing of the cause.
var goWrappers = map[string]bool{"": true, "wrapError": true, "wrapErrors": true, "joinError": true}

// causeOf names a workflow failure by what its chain holds: the activity
// that failed, if one did, and the first error type that is not a Go
// wrapper: an activity's non-retryable type (HTTPStatus), the last
// attempt's type of one that ran out of its retry window
// (RetryableHTTP, marked "window ran out"), a timeout ("StartToClose
// timeout"), or the workflow's own type (UnknownJobStatus); "error" when
// there is none. The message is the activity's own error (its last
// attempt's), or the workflow's when no activity failed.
func (f *Failure) causeOf(failure *failurepb.Failure) {
	var timeout, ranOut string
	var activityMessage bool
	f.Message = failure.GetMessage()
	for ; failure != nil; failure = failure.GetCause() {
		switch info := failure.GetFailureInfo().(type) {
		case *failurepb.Failure_ActivityFailureInfo:
			if f.Activity == "" {
				f.Activity = info.ActivityFailureInfo.GetActivityType().GetName()
				ranOut = ranOutOf(info.ActivityFailureInfo.GetRetryState())
			}
		case *failurepb.Failure_TimeoutFailureInfo:
			t := info.TimeoutFailureInfo.GetTimeoutType()
			if t == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE && f.Activity != "" {
				ranOut = ranOutOf(enumspb.RETRY_STATE_TIMEOUT)
			}
			if timeout == "" {
				timeout = t.String() + " timeout" // "ScheduleToClose timeout"
			}
		case *failurepb.Failure_CanceledFailureInfo:
			f.ErrorType = cmp.Or(f.ErrorType, "canceled")
		case *failurepb.Failure_ApplicationFailureInfo:
			if f.Activity != "" && !activityMessage {
				f.Message, activityMessage = failure.GetMessage(), true
			}
			if t := info.ApplicationFailureInfo.GetType(); f.ErrorType == "" && !goWrappers[t] {
				f.ErrorType = t
			}
		}
	}
	f.ErrorType = cmp.Or(f.ErrorType, timeout, "error")
	f.Cause = f.ErrorType
	if f.Activity != "" {
		f.Cause = f.Activity + ": " + f.Cause
	}
	if ranOut != "" && f.ErrorType != timeout {
		f.Cause += ", " + ranOut
	}
}

// ranOutOf says what a failed activity ran out of, by its retry state:
// "window ran out" (its ScheduleToClose timeout, the step's retry
// window), "attempts ran out"; "" for any other state (a non-retryable
// error).
func ranOutOf(s enumspb.RetryState) string {
	switch s {
	case enumspb.RETRY_STATE_TIMEOUT:
		return "window ran out"
	case enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED:
		return "attempts ran out"
	}
	return ""
}

// matches reports whether f's cause, activity or error type is one of
// causes (any when none), case-insensitively.
func (f *Failure) matches(causes []string) bool {
	if len(causes) == 0 {
		return true
	}
	for _, c := range causes {
		for _, part := range []string{f.Cause, f.Activity, f.ErrorType} {
			if part != "" && strings.EqualFold(c, part) {
				return true
			}
		}
	}
	return false
}

// CauseGroup is the failures of one cause.
type CauseGroup struct {
	Cause string
	// Count is how many events.
	Count int
	// Newest is the one that closed last.
	Newest Failure
	// Examples are a few event IDs, the newest first.
	Examples []string
}

// maxExamples is how many event IDs a CauseGroup names.
const maxExamples = 3

// Group groups failures (the newest first, as Failures returns them) by
// cause, the largest group first.
func Group(failures []Failure) []CauseGroup {
	var groups []CauseGroup
	at := map[string]int{}
	for _, f := range failures {
		i, ok := at[f.Cause]
		if !ok {
			i = len(groups)
			at[f.Cause] = i
			groups = append(groups, CauseGroup{Cause: f.Cause, Newest: f})
		}
		g := &groups[i]
		g.Count++
		if len(g.Examples) < maxExamples {
			g.Examples = append(g.Examples, f.EventID)
		}
	}
	slices.SortStableFunc(groups, func(a, b CauseGroup) int { return b.Count - a.Count })
	return groups
}
