package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/recovery"
)

// TestDeliveriesPauseAndResume: with deliveries paused (the delivery task
// queue's rate limit set to 0 through Temporal's API), events run up to
// their notice and wait there: the receiver gets nothing, the workflows
// keep running, and the status says paused, why, and how many notices
// wait. Resumed, the workers' own limit (NOTIFY_MAX_PER_SECOND) applies
// again and every notice is delivered, once.
func TestDeliveriesPauseAndResume(t *testing.T) {
	t.Parallel()
	const events = 5
	a, receiver := receiverApp(t, http.StatusNoContent, config.Environ{"NOTIFY_MAX_PER_SECOND": "10"})
	ctl := newControl(t, a)
	ctx := context.Background()

	st, err := ctl.DeliveryStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, a.taskQueue+"-deliveries", st.TaskQueue)
	require.False(t, st.Paused)

	require.NoError(t, ctl.PauseDeliveries(ctx, "receiver maintenance until 14:00"))
	ids := newEventIDs(events)
	sendEvents(t, a, ids)

	require.Eventually(t, func() bool {
		st, err = ctl.DeliveryStatus(ctx)
		require.NoError(t, err)
		// The workers poll it all along (Temporal lists a poller once it
		// has seen it: on a busy machine, a moment after the pause). The
		// test waits in parallel with others: a busy machine gets time.
		return st.Backlog == events && st.Pollers > 0
	}, 2*time.Minute, 200*time.Millisecond, "the notices wait on the queue, polled: %+v", st)
	require.True(t, st.Paused)
	require.Equal(t, "receiver maintenance until 14:00", st.Reason)
	require.Contains(t, st.By, "mediaflowctl:")
	require.WithinDuration(t, time.Now(), st.Since, time.Minute)
	require.Equal(t, enumspb.RATE_LIMIT_SOURCE_API, st.RateSource)
	require.Zero(t, st.RateLimit)

	time.Sleep(2 * time.Second) // what a pause that leaks would deliver by now
	_, requests := receiver.took()
	require.Zero(t, requests, "nothing delivered while paused")
	for _, id := range ids {
		desc, err := a.client.DescribeWorkflowExecution(ctx, id, "")
		require.NoError(t, err)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus(), "event %s waits", id)
	}

	require.NoError(t, ctl.ResumeDeliveries(ctx, ""))
	deliveredOnce(t, a, receiver, ids)
	st, err = ctl.DeliveryStatus(ctx)
	require.NoError(t, err)
	require.False(t, st.Paused)
	require.Equal(t, enumspb.RATE_LIMIT_SOURCE_WORKER, st.RateSource)
	require.InDelta(t, 4.0, st.RateLimit, 1e-6, "40% of NOTIFY_MAX_PER_SECOND, as the workers set it")
	require.Equal(t, recovery.DefaultResumeReason, st.Reason)
}
