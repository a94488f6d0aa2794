package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/mediaflow/mediaflow"
)

// TestHandledOnceOutlivesRetention: "handled once" lasts as long as the job
// database keeps the job, not Temporal's retention. An event handled,
// whose run is then gone (deleted, as the namespace's retention deletes
// it), resent (the Svix portal's Resend on an old message): a new run,
// which finds the job's outcome delivered and alerts nobody again. The
// same outcome under a second event ID (same timestamp) neither. A newer
// outcome of the job is news, and is sent.
func TestHandledOnceOutlivesRetention(t *testing.T) {
	t.Parallel() // Temporal deletes a run in the background, in about 30 s
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("frames")) }))
	defer media.Close()
	log := &noticeLog{}
	a := stepsApp(t, media, log)
	ctx := context.Background()
	job := "job-once-" + newEventID()
	body := timedEvent(job, "failed", "2026-11-20T10:00:00Z", "")

	id := newEventID()
	require.Equal(t, "started", deliver(t, a.url, id, body, secret).body["status"])
	res, err := a.result(t, id)
	require.NoError(t, err)
	require.Equal(t, mediaflow.StepResult{Step: "alert", Outcome: "delivered", Detail: "HTTP 204"}, res.Steps[len(res.Steps)-1])

	// The run is gone, as after the namespace's retention.
	_, err = a.client.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: namespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}})
	require.NoError(t, err)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := a.client.DescribeWorkflowExecution(ctx, id, "")
		assert.True(c, isNotFound(err), "the run is deleted: %v", err)
	}, 2*time.Minute, 500*time.Millisecond)

	require.Equal(t, "started", deliver(t, a.url, id, body, secret).body["status"], "a resend starts a new run")
	res, err = a.result(t, id)
	require.NoError(t, err)
	require.Equal(t, mediaflow.StepResult{Step: "alert", Outcome: mediaflow.StepAlreadyDelivered, Detail: "with event " + id},
		res.Steps[len(res.Steps)-1])

	second := newEventID()
	require.Equal(t, "started", deliver(t, a.url, second, body, secret).body["status"])
	res, err = a.result(t, second)
	require.NoError(t, err)
	require.Equal(t, mediaflow.StepAlreadyDelivered, res.Steps[len(res.Steps)-1].Outcome, "the same outcome, another event ID")
	require.Len(t, log.forJob(job), 1, "one alert for the outcome")

	newer := newEventID()
	require.Equal(t, "started", deliver(t, a.url, newer, timedEvent(job, "failed", "2026-11-20T11:00:00Z", ""), secret).body["status"])
	_, err = a.result(t, newer)
	require.NoError(t, err)
	require.Len(t, log.forJob(job), 2, "a newer outcome is sent")
}
