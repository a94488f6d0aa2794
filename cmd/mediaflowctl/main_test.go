package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/blobstore"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/deadletter"
	"github.com/mediaflow/mediaflow/internal/recovery"
)

// The redrive itself runs against a real Temporal in
// e2e/deadletter_test.go; these tests need only the blob store.

func environ(t *testing.T) config.Environ {
	return config.Environ{
		"BLOB_URL":             "file://" + t.TempDir(),
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
		// Nothing listens there: a redrive that reached Temporal would fail.
		"TEMPORAL_ADDRESS": "127.0.0.1:1",
	}
}

func ctl(env config.Environ, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, env, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	env := environ(t)
	for _, args := range [][]string{nil, {"frobnicate"}, {"show"}, {"show", "a", "b"}, {"redrive"}, {"redrive", "-all", "msg_1"}, {"list", "-x"},
		{"failures", "msg_1"}, {"failures", "-since", "-2h"}, {"failures", "-since", "2 days"},
		{"rerun"}, {"rerun", "-dry-run"}, {"rerun", "-since", "2h", "-rate", "0"}, {"rerun", "-since", "2h", "-max-failing", "20"},
		{"rerun", "-job", "j1", "-wait", "-1s"},
		{"deliveries"}, {"deliveries", "stop"}, {"deliveries", "status", "-reason", "x"}, {"deliveries", "pause", "now"}} {
		code, _, errOut := ctl(env, args...)
		require.Equal(t, 2, code, "%q", args)
		require.Contains(t, errOut, "usage:")
	}
	_, _, errOut := ctl(env, "rerun", "-dry-run")
	require.Contains(t, errOut, "say which events: -since, -cause, -job or -query")
}

// A command that needs Temporal fails when it cannot reach it, and says
// so.
func TestTemporalUnreachable(t *testing.T) {
	env := environ(t)
	for _, args := range [][]string{{"failures", "-since", "2h"}, {"rerun", "-dry-run", "-cause", "HTTPStatus"}, {"deliveries", "status"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var out, errOut bytes.Buffer
		code := run(ctx, args, env, &out, &errOut)
		cancel()
		require.Equal(t, 1, code, "%q", args)
		require.Contains(t, errOut.String(), "mediaflowctl: ", "%q", args)
		require.Empty(t, out.String())
	}
}

func TestPrintGroups(t *testing.T) {
	at := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	failures := []recovery.Failure{
		{EventID: "msg_3", RunID: "r3", ClosedAt: at, Cause: "Notify: RetryableHTTP, window ran out", Message: "notify for job j3: " + strings.Repeat("x", 300)},
		{EventID: "msg_2", RunID: "r2", ClosedAt: at.Add(-time.Minute), Cause: "DownloadMedia: HTTPStatus", Message: "HTTP 404"},
		{EventID: "msg_1", RunID: "r1", ClosedAt: at.Add(-2 * time.Minute), Cause: "Notify: RetryableHTTP, window ran out", Message: "notify for job j1"},
	}
	var out bytes.Buffer
	require.NoError(t, printGroups(&out, recovery.Group(failures)))
	lines := strings.Split(out.String(), "\n")
	require.Equal(t, []string{
		"CAUSE                                  EVENTS  NEWEST                EXAMPLES",
		"Notify: RetryableHTTP, window ran out  2       2026-01-15T10:30:00Z  msg_3 msg_1",
		"DownloadMedia: HTTPStatus              1       2026-01-15T10:29:00Z  msg_2",
		"",
		"The newest of each cause:",
		"  Notify: RetryableHTTP, window ran out  msg_3 (run r3)",
	}, lines[:6])
	require.Len(t, []rune(strings.TrimSpace(lines[6])), messageWidth, "a long message is cut")
	require.True(t, strings.HasSuffix(lines[6], "…"))
}

func TestSummarize(t *testing.T) {
	var out bytes.Buffer
	err := summarize(&out, recovery.RerunSummary{RerunCounts: recovery.RerunCounts{Selected: 4, Started: 4, Completed: 3, FailedAgain: 1},
		FailedAgainIDs: []string{"msg_9"}})
	require.ErrorIs(t, err, errNotAllRerun, "an event failed again")
	require.Contains(t, out.String(), "Of those started: 3 completed, 1 failed again, 0 still running.")
	require.Contains(t, out.String(), "Failed again: msg_9")

	out.Reset()
	require.NoError(t, summarize(&out, recovery.RerunSummary{RerunCounts: recovery.RerunCounts{Selected: 3, Started: 2, AlreadyRerun: 1, Completed: 1}}),
		"still running is not a failure")
	require.Equal(t, "Started 2, already re-run 1, refused 0 (of 3).\n"+
		"Of those started: 1 completed, 0 failed again, 1 still running.\n"+
		"Those still running go on; mediaflowctl failures lists any that fail.\n", out.String())

	out.Reset()
	err = summarize(&out, recovery.RerunSummary{RerunCounts: recovery.RerunCounts{Selected: 3, Refused: 1}, Stopped: "interrupted",
		Refusals: []recovery.Refusal{{EventID: "msg_1", Reason: "reading run r1's input: blob not found"}}})
	require.ErrorIs(t, err, errNotAllRerun)
	require.Contains(t, out.String(), "refused  msg_1  reading run r1's input: blob not found\n")
	require.Contains(t, out.String(), "Stopped: interrupted. Run the same command again to go on with the rest.\n")
}

func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, 3)
	p.show(recovery.RerunCounts{Selected: 3})
	p.show(recovery.RerunCounts{Selected: 3, Started: 1})
	p.show(recovery.RerunCounts{Selected: 3, Started: 3, Completed: 2})
	p.done()
	require.Equal(t, "0/3: started 0, already re-run 0, refused 0; completed 0, failed again 0, running 0\n"+
		"3/3: started 3, already re-run 0, refused 0; completed 2, failed again 0, running 1\n", out.String(),
		"not a terminal: a line a second at most, and the last")
}

func TestListAndShow(t *testing.T) {
	env := environ(t)
	code, out, _ := ctl(env, "list")
	require.Equal(t, 0, code)
	require.Equal(t, "EVENT ID  REJECTED AT  BYTES\n", out)

	b, err := blobstore.Open(context.Background(), env["BLOB_URL"])
	require.NoError(t, err)
	defer b.Close()
	at := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	body := []byte(`{"event_type":"media.completed","data":{"job_id":"j1","status":"completed"}}`)
	require.NoError(t, deadletter.Store{Bucket: b}.Put(context.Background(), deadletter.Letter{
		EventID: "msg_a/b", ReceivedAt: at, RejectedAt: at, Reason: "no mapping defined for search attribute AnimusJobID",
		Headers: map[string][]string{"Svix-Id": {"msg_a/b"}}, Body: body,
	}))

	code, out, _ = ctl(env, "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "msg_a/b")

	code, out, _ = ctl(env, "show", "msg_a/b")
	require.Equal(t, 0, code)
	require.Contains(t, out, "reason:       no mapping defined for search attribute AnimusJobID")
	require.Contains(t, out, "Svix-Id: msg_a/b")

	code, out, _ = ctl(env, "show", "-body", "msg_a/b")
	require.Equal(t, 0, code)
	require.Equal(t, string(body), out, "the body as received")

	code, _, errOut := ctl(env, "show", "msg_none")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no dead letter")
	code, out, _ = ctl(env, "redrive", "msg_none")
	require.Equal(t, 1, code)
	require.Contains(t, out, "msg_none\tfailed")
}

// TestUsageRefusesOddNumbers: a rate or a share that is not a finite
// number, or a -since of 0, is a usage error. NaN passed every bound
// check: -rate NaN started every event at once (the limiter lets NaN
// through), -max-failing NaN never stopped; -since 0 selected every event
// of the retention.
func TestUsageRefusesOddNumbers(t *testing.T) {
	env := environ(t)
	for _, args := range [][]string{
		{"rerun", "-since", "2h", "-rate", "NaN"}, {"rerun", "-since", "2h", "-rate", "+Inf"},
		{"rerun", "-since", "2h", "-max-failing", "NaN"}, {"rerun", "-since", "2h", "-max-failing", "-0.5"},
		{"rerun", "-since", "0", "-cause", "HTTPStatus"}, {"rerun", "-since", "0s"}, {"failures", "-since", "0"},
	} {
		code, out, errOut := ctl(env, args...)
		require.Equal(t, 2, code, "%q", args)
		require.Contains(t, errOut, "usage:", "%q", args)
		require.Empty(t, out, "%q", args)
	}
}
