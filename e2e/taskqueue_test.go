package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
)

// TestTasksRunOnTheTestsWorker: every workflow task and activity task of a
// test's workflow is run by that test's own worker, in this process, never
// by another worker polling the same Temporal (a cluster's own workers,
// with E2E_TEMPORAL_ADDRESS). The history names who ran each task: the
// SDK's default identity starts with the worker's process ID.
func TestTasksRunOnTheTestsWorker(t *testing.T) {
	// A download and a notification (NOTIFY_MAX_PER_SECOND on, the
	// default: an activity task on the delivery task queue), so that the
	// workflow has activity tasks as well as its workflow tasks (the other
	// steps run inside workflow tasks).
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("clip")) }))
	defer media.Close()
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer notify.Close()
	a := newApp(t, func(c *appConfig) {
		c.env["NOTIFY_URL"], c.env["MEDIA_DIR"] = notify.URL, t.TempDir()
		c.env["MEDIA_ALLOWED_HOSTS"] = "127.0.0.1" // the media server
	})
	id := newEventID()
	job := "job-" + newEventID()
	require.Equal(t, "started", deliver(t, a.url, id, eventFor(job, "completed", media.URL+"/clip.mp4"), secret).body["status"])
	_, err := a.result(t, id)
	require.NoError(t, err)

	ours := strconv.Itoa(os.Getpid()) + "@"
	workflowTasks, activityTasks := 0, 0
	iter := a.client.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		var identity string
		switch {
		case ev.GetWorkflowTaskStartedEventAttributes() != nil:
			identity = ev.GetWorkflowTaskStartedEventAttributes().GetIdentity()
			workflowTasks++
		case ev.GetActivityTaskStartedEventAttributes() != nil:
			identity = ev.GetActivityTaskStartedEventAttributes().GetIdentity()
			activityTasks++
		default:
			continue
		}
		require.True(t, strings.HasPrefix(identity, ours), "event %d (%s) was run by %q, not by this test's worker (%s…)",
			ev.GetEventId(), ev.GetEventType(), identity, ours)
	}
	require.GreaterOrEqual(t, workflowTasks, 2, "the workflow tasks before and after the download")
	require.Equal(t, 2, activityTasks, "the download and the notification")
}
