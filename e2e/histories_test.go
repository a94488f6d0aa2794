package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/app"
)

// historyVersion names the files TestRecordHistories writes: the layout of
// MediaCompletedWorkflow's histories that the current code records (v1:
// local record and watch steps; v2: the first attempt of a notification
// is local too; v2-plan: the plan recorded with its users' steps (here
// build v2's stamp, after record) and deliveries on the rate-limited
// delivery task queue). Change it with the layout, so the files of the
// layouts before stay.
const historyVersion = "v2-plan"

// TestRecordHistories records the histories workflows/replay_test.go
// replays, from real runs of the current code, into workflows/testdata
// (the format of `temporal workflow show -o json`). It runs only when
// MEDIAFLOW_RECORD_HISTORIES=1: record after a change to the workflows
// that existing histories must survive, keeping the older files.
func TestRecordHistories(t *testing.T) {
	if os.Getenv("MEDIAFLOW_RECORD_HISTORIES") != "1" {
		t.Skip("set MEDIAFLOW_RECORD_HISTORIES=1 to record workflows/testdata")
	}
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("frames")) }))
	defer media.Close()
	a := stepsApp(t, media, &noticeLog{}, func(c *appConfig) { c.steps = []app.StepFunc{stamp} })
	ctx := context.Background()

	record := func(name, id string) {
		t.Helper()
		var h historypb.History
		iter := a.client.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			require.NoError(t, err)
			h.Events = append(h.Events, ev)
		}
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join("..", "workflows", "testdata", name), append(b, '\n'), 0o644))
	}
	run := func(name, id string, body []byte) {
		t.Helper()
		require.Equal(t, "started", deliver(t, a.url, id, body, secret).body["status"])
		_, err := a.result(t, id)
		require.NoError(t, err)
		record(name, id)
	}

	job := "job-history-" + newEventID()
	// A watch waiting for the job, told by the success below.
	watch, err := a.client.ExecuteWorkflow(ctx, mediaflow.WatchStartOptions(a.taskQueue, job), mediaflow.WatchWorkflowType,
		mediaflow.WatchInput{JobID: job})
	require.NoError(t, err)
	waitForWatch(t, a, job)
	v := historyVersion
	run(v+"-success.json", "msg_replay_"+v+"_success", timedEvent(job, "completed", "2026-11-20T10:00:00Z", media.URL+"/v/clip.mp4"))
	require.NoError(t, watch.Get(ctx, nil))
	record(v+"-watch.json", mediaflow.WatchID(job))
	run(v+"-failure.json", "msg_replay_"+v+"_failure", timedEvent(job+"-f", "failed", "2026-11-20T10:00:00Z", ""))
	run(v+"-stale.json", "msg_replay_"+v+"_stale", timedEvent(job, "completed", "2026-11-20T09:00:00Z", media.URL+"/v/clip.mp4"))
}
