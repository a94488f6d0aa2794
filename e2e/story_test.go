package e2e

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"

	"github.com/mediaflow/mediaflow"
)

// TestUITellsTheStory: an event's workflow says in a line what it is and
// what happened, where Temporal shows it: its summary (job and status) and
// details (the event as it arrived) from its start, and its current
// details, which say what it waits for while it runs ("waiting for the
// notify receiver": the receiver is down) and what it did once done; its
// activities carry summaries in the timeline. Checked through Temporal's
// API (the UI renders user metadata in sandboxed frames), and in the real
// Temporal Web UI in headless Chromium: the timeline's summaries, and the
// User Metadata tab in the screenshots logged.
func TestUITellsTheStory(t *testing.T) {
	t.Parallel()
	chromium(t)
	var down atomic.Bool
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("a clip of 24 bytes......")) }))
	defer media.Close()
	s := newUIStack(t, func(c *appConfig) {
		c.env["NOTIFY_URL"], c.env["MEDIA_DIR"], c.env["MEDIA_ALLOWED_HOSTS"] = receiver.URL, t.TempDir(), "127.0.0.1"
	})
	ui := s.uis[0].url
	b := newBrowser(t)

	// A job handled: what it did, in a line.
	job := "job-story-" + rand.Text()
	id := newEventID()
	require.Equal(t, "started", deliver(t, s.url, id, eventFor(job, "completed", media.URL+"/clip.mp4"), secret).body["status"])
	res, err := s.result(t, id)
	require.NoError(t, err)
	require.Equal(t, "job "+job+" completed: recorded, saved 24 B, notified (HTTP 204)", res.Summary)
	s.requireMetadata(t, id, "Animus job "+job+" completed", "**media.completed** event `"+id+"`", res.Summary)
	for _, u := range s.uis { // the list of each UI: 2.53 (make cluster's) shows summaries there
		b.openWorkflowList(u.url, `AnimusJobID="`+job+`"`, id)
	}
	b.openWorkflow(ui, id, "download the media of job "+job, "deliver the notice of job "+job)
	b.userMetadata()

	// A job waiting for its receiver, which is down: its current details
	// say so, and its pending delivery what it is and its attempts.
	down.Store(true)
	job = "job-waiting-" + rand.Text()
	id = newEventID()
	require.Equal(t, "started", deliver(t, s.url, id, eventFor(job, "completed", media.URL+"/clip.mp4"), secret).body["status"])
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, "job "+job+" completed: waiting for the notify receiver", s.currentDetails(t, id))
	}, 30*time.Second, 200*time.Millisecond)
	b.openWorkflow(ui, id, "Attempt", "deliver the notice of job "+job)
	b.userMetadata()
	down.Store(false)
	res, err = s.resultWithin(t, id, time.Minute)
	require.NoError(t, err)
	require.Equal(t, mediaflow.StepDelivered, res.Steps[len(res.Steps)-1].Outcome)
	require.Equal(t, res.Summary, s.currentDetails(t, id))
}

// requireMetadata checks workflow id's summary and details (set when it
// started) and its current details (what it says now).
func (a *testApp) requireMetadata(t *testing.T, id, summary, detailsPrefix, current string) {
	t.Helper()
	d, err := a.client.DescribeWorkflow(context.Background(), id, "")
	require.NoError(t, err)
	got, err := d.GetStaticSummary()
	require.NoError(t, err)
	require.Equal(t, summary, got)
	details, err := d.GetStaticDetails()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(details, detailsPrefix), "details %q", details)
	require.Equal(t, current, a.currentDetails(t, id))
}

// currentDetails returns workflow id's current details, as the UI reads
// them (the workflow metadata query).
func (a *testApp) currentDetails(t *testing.T, id string) string {
	t.Helper()
	v, err := a.client.QueryWorkflow(context.Background(), id, "", "__temporal_workflow_metadata") // the SDK's QueryTypeWorkflowMetadata
	require.NoError(t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	return md.GetCurrentDetails()
}

// userMetadata opens the open workflow page's User Metadata tab (its
// summary, details and current details, rendered in frames of their own)
// and keeps a screenshot of it.
func (b *browser) userMetadata() {
	b.t.Helper()
	b.click("a, button", "User Metadata")
	b.waitText("Summary", "Details", "Current Details")
	time.Sleep(time.Second) // the frames render after the tab
	b.screenshot("user-metadata")
}
