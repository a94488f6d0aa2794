package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/claimcheck"
)

// TestUIThroughTheCodec: a person at make dev's Temporal UI (the real UI
// in headless Chromium, with the dev server's own UI settings), and at
// make cluster's when its UI server is built, starts a job watch from the
// Start Workflow form and signals it from its page, both encoded through
// mediaflow's codec endpoint, and reads the input of a claim-checked 2 MiB
// event, decoded through it, also with the UI's "include cross-origin
// credentials" setting. The screenshots of each step are logged.
func TestUIThroughTheCodec(t *testing.T) {
	t.Parallel()
	chromium(t)
	s := newUIStack(t, func(c *appConfig) { c.env["MAX_BODY_BYTES"] = fmt.Sprint(4 << 20) })
	for _, ui := range s.uis {
		t.Run(ui.name, func(t *testing.T) { useUIThroughTheCodec(t, s, ui.url) })
	}
}

func useUIThroughTheCodec(t *testing.T, s *uiStack, ui string) {
	b := newBrowser(t)
	codec := "http://" + s.env["CODEC_ADDR"]

	// The UI lets a person start and signal workflows, and calls
	// mediaflow's codec endpoint.
	var settings struct {
		Codec                                                              struct{ Endpoint string }
		DisableWriteActions, StartWorkflowDisabled, WorkflowSignalDisabled bool
	}
	resp, err := http.Get(ui + "/api/v1/settings")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
	resp.Body.Close()
	require.Equal(t, codec, settings.Codec.Endpoint)
	require.False(t, settings.DisableWriteActions || settings.StartWorkflowDisabled || settings.WorkflowSignalDisabled)

	// Start a job watch from the Start Workflow form (filled from its URL
	// as "Start Workflow Like This One" does, the input typed).
	jobID := "job-ui-" + rand.Text()
	watchID := mediaflow.WatchID(jobID)
	form := url.Values{"workflowId": {watchID}, "taskQueue": {s.taskQueue}, "workflowType": {mediaflow.WatchWorkflowType}}
	b.do("opening the Start Workflow form", chromedp.Navigate(ui+"/namespaces/"+namespace+"/workflows/start-workflow?"+form.Encode()))
	b.waitText("Task Queue is Active")
	b.typeCode(".cm-content", fmt.Sprintf(`{"job_id":%q,"deadline":"2h"}`, jobID))
	b.screenshot("start-workflow-form")
	b.click(`[data-testid="start-workflow-button"]`)
	b.waitText("Workflow started successfully")
	b.screenshot("start-workflow-started")
	require.Equal(t, 1, codecCalls(t, b, codec, "/encode"), "the input went through the codec")
	var in mediaflow.WatchInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(s.startedInput(t, watchID), &in))
	require.Equal(t, mediaflow.WatchInput{JobID: jobID, Deadline: "2h"}, in)

	// Signal it from its page: More Actions, Send a Signal. The worker
	// tells the UI the watch's signals (the workflow metadata query), so
	// the name is chosen from a list.
	b.openWorkflow(ui, watchID, `"job_id": "`+jobID+`"`)
	b.click(`button[aria-controls="workflow-actions"]`)
	b.click(`[data-testid="signal-button"]`)
	b.click(`[data-testid="signal-select-button"]`)
	b.click(`li[role="option"]`, mediaflow.SignalJobOutcome)
	outcome := mediaflow.JobOutcome{JobID: jobID, EventID: "msg_from_the_ui", Status: mediaflow.JobCompleted, EventTimestamp: "2026-11-20T10:00:00Z"}
	data, err := json.Marshal(outcome)
	require.NoError(t, err)
	b.typeCode(`#signal-confirmation-modal .cm-content`, string(data))
	b.screenshot("signal-form")
	b.click(`#signal-confirmation-modal [data-testid="confirm-modal-button"]`)
	b.waitText("Workflow signaled.")
	b.screenshot("signal-sent")
	require.Equal(t, 2, codecCalls(t, b, codec, "/encode"), "the signal's input went through the codec")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res mediaflow.WatchResult
	require.NoError(t, s.client.GetWorkflow(ctx, watchID, "").Get(ctx, &res))
	require.Equal(t, mediaflow.WatchDone, res.State)
	require.Equal(t, &outcome, res.Outcome)
	b.openWorkflow(ui, watchID, "Completed", `"event_id": "msg_from_the_ui"`)

	// A claim-checked 2 MiB event: its history holds a reference, its page
	// shows the event.
	bigJob := "job-ui-2mib-" + rand.Text()
	id := newEventID()
	got := deliver(t, s.url, id, captionsEvent(bigJob, twoMiB), secret)
	require.Equal(t, "started", got.body["status"], "%v", got.body)
	done, err := s.result(t, id)
	require.NoError(t, err)
	require.Equal(t, mediaflow.JobCompleted, done.Status)
	require.Equal(t, claimcheck.Encoding, string(s.startedInput(t, id).Metadata[converter.MetadataEncoding]))
	decoded := []string{`"job_id": "` + bigJob + `"`, `"captions_html": "<p>&nbsp;</p><p>&nbsp;</p>`}
	b.openWorkflow(ui, id, decoded...)
	require.NotContains(t, b.text(), claimcheck.KeyPrefix, "no reference is shown")
	require.NotZero(t, codecCalls(t, b, codec, "/decode"))

	// The same with the UI's Codec Server setting "Include cross-origin
	// credentials" (kept in the browser's local storage): the browser
	// sends cookies, so the codec endpoint must allow credentials.
	before := codecCalls(t, b, codec, "/decode")
	b.do("setting the codec to include credentials", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`localStorage.setItem("endpoint", %q); localStorage.setItem("includeCredentials", "true"); localStorage.setItem("overrideRemoteCodecConfiguration", "true")`,
		`"`+codec+`"`)))
	b.openWorkflow(ui, id, decoded...)
	require.Greater(t, codecCalls(t, b, codec, "/decode"), before)

	b.openWorkflowList(ui, `AnimusJobID="`+bigJob+`"`, id)
}

// codecCalls returns how many times the page has POSTed to the codec
// endpoint's op, and fails the test unless every request of the page to
// the endpoint (preflights included) was answered 2xx.
func codecCalls(t *testing.T, b *browser, codec, op string) int {
	t.Helper()
	var n int
	for _, c := range b.pageRequests(codec) {
		require.True(t, c.Status >= 200 && c.Status < 300, "%s %s: %d %s", c.Method, c.URL, c.Status, c.Failure)
		if strings.Contains(c.URL, op) && c.Method == http.MethodPost {
			n++
		}
	}
	return n
}
