package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// syncBuffer is a bytes.Buffer that the server's goroutines and the test
// may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestPeer(t *testing.T) (*load.Peer, *httptest.Server, *syncBuffer, *syncBuffer) {
	t.Helper()
	p, err := newPeer(nil)
	require.NoError(t, err)
	out, log := &syncBuffer{}, &syncBuffer{}
	p.Out, p.Log = out, log
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return p, srv, out, log
}

// records reads the JSON lines of the log.
func records(t *testing.T, log string) []load.Received {
	t.Helper()
	var out []load.Received
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var r load.Received
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "log line %q", sc.Text())
		out = append(out, r)
	}
	return out
}

// TestServesARealVideo: the clip is an MP4 (an ftyp box with an ISO base
// media brand, then H.264 in an avc1 sample entry), served whole with its
// type, in ranges, and a missing name is a 404.
func TestServesARealVideo(t *testing.T) {
	_, srv, out, _ := newTestPeer(t)
	want, err := os.ReadFile("media/launch-keynote.mp4")
	require.NoError(t, err)
	require.Greater(t, len(want), 1000, "a real clip, not a placeholder")
	require.Less(t, len(want), 64<<10, "small enough to keep in the repository")
	require.Equal(t, "ftyp", string(want[4:8]), "an MP4 starts with an ftyp box")
	require.Contains(t, string(want), "avc1", "an H.264 video track")

	resp, err := http.Get(srv.URL + "/media/launch-keynote.mp4")
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "video/mp4", resp.Header.Get("Content-Type"))
	require.Equal(t, want, got)
	require.Contains(t, out.String(), "GET /media/launch-keynote.mp4: 200")

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/media/launch-keynote.mp4", nil)
	req.Header.Set("Range", "bytes=0-99")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, want[:100], got)

	resp, err = http.Get(srv.URL + "/media/missing.mp4")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	resp, err = http.Post(srv.URL+"/media/launch-keynote.mp4", "video/mp4", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// notifier is the worker's Notify and Alert activities, posting to the
// peer, in Temporal's activity test environment.
func notifier(t *testing.T, url, secret string) (notify, alert func(activities.Notice) (activities.Delivery, error)) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	a := &activities.Activities{NotifyURL: url + load.NotifyPath, AlertURL: url + load.AlertPath, NotifySecret: secret}
	call := func(fn any) func(activities.Notice) (activities.Delivery, error) {
		return func(n activities.Notice) (activities.Delivery, error) {
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(fn)
			var d activities.Delivery
			v, err := env.ExecuteActivity(fn, n)
			if err == nil {
				require.NoError(t, v.Get(&d))
			}
			return d, err
		}
	}
	return call(a.Notify), call(a.Alert)
}

// TestReceivesTheWorkersNotifications: what the worker's Notify and Alert
// post is answered 200, printed, and logged with its kind, idempotency
// key and body; a second delivery of one event is marked as a repeat.
func TestReceivesTheWorkersNotifications(t *testing.T) {
	_, srv, out, log := newTestPeer(t)
	notify, alert := notifier(t, srv.URL, "")

	d, err := notify(activities.Notice{Type: "mediaflow.job.completed", EventID: "msg_1", JobID: "job-1", Status: "completed",
		Text: "job job-1 completed", CustomPayload: json.RawMessage(`{"customer_id": "cus_1"}`)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, d.Status)
	d, err = alert(activities.Notice{Type: "mediaflow.job.failed", EventID: "msg_2", JobID: "job-2", Status: "failed",
		Error: json.RawMessage(`"unsupported codec"`), Text: "job job-2 failed"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, d.Status)
	_, err = notify(activities.Notice{Type: "mediaflow.job.completed", EventID: "msg_1", JobID: "job-1", Status: "completed", Text: "job job-1 completed"})
	require.NoError(t, err)

	recs := records(t, log.String())
	require.Len(t, recs, 3)
	assert.Equal(t, "notify", recs[0].Kind)
	assert.Equal(t, "msg_1", recs[0].IdempotencyKey)
	assert.Equal(t, "unsigned", recs[0].Signature)
	assert.False(t, recs[0].Repeat)
	assert.False(t, recs[0].Time.IsZero())
	var n activities.Notice
	require.NoError(t, json.Unmarshal(recs[0].Body, &n))
	assert.Equal(t, "job-1", n.JobID)
	assert.JSONEq(t, `{"customer_id": "cus_1"}`, string(n.CustomPayload))
	assert.Equal(t, "alert", recs[1].Kind)
	assert.Equal(t, "msg_2", recs[1].IdempotencyKey)
	assert.True(t, recs[2].Repeat, "the same event's notification again")

	printed := out.String()
	assert.Contains(t, printed, "notify event msg_1: job job-1 completed (signature unsigned)")
	assert.Contains(t, printed, "alert  event msg_2: job job-2 failed")
	assert.Contains(t, printed, "[repeat")
}

// TestChecksSignaturesWithNotifySecret: with NOTIFY_SECRET, a notice
// signed with it is verified; one signed with another secret, or not
// signed, is answered 401, which the worker does not retry.
func TestChecksSignaturesWithNotifySecret(t *testing.T) {
	const secret = "whsec_ZGV2cGVlci10ZXN0LXNlY3JldC0xMjM0NTY3OA=="
	t.Setenv("NOTIFY_SECRET", secret)
	_, srv, out, log := newTestPeer(t)

	notify, _ := notifier(t, srv.URL, secret)
	d, err := notify(activities.Notice{EventID: "msg_signed", JobID: "j", Status: "completed", Text: "t"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, d.Status)
	require.Equal(t, "verified", records(t, log.String())[0].Signature)

	for name, other := range map[string]string{"other secret": "whsec_b3RoZXItc2VjcmV0LW9mLXRoZS13b3JrZXI=", "unsigned": ""} {
		t.Run(name, func(t *testing.T) {
			notify, _ := notifier(t, srv.URL, other)
			_, err := notify(activities.Notice{EventID: "msg_x", JobID: "j", Status: "completed", Text: "t"})
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			require.Equal(t, activities.ErrTypeHTTPStatus, appErr.Type())
			require.True(t, appErr.NonRetryable())
		})
	}
	require.Len(t, records(t, log.String()), 1, "refused notices are not logged as received")
	require.Contains(t, out.String(), "refused (401)")
	require.NotContains(t, out.String(), strings.TrimPrefix(secret, "whsec_"))
}

// TestRefusesWhatIsNotANotice: a body that is not JSON, or too large.
func TestRefusesWhatIsNotANotice(t *testing.T) {
	_, srv, _, log := newTestPeer(t)
	for _, tc := range []struct {
		name string
		body []byte
		want int
	}{
		{"not JSON", []byte("hello"), http.StatusBadRequest},
		{"too large", bytes.Repeat([]byte(" "), load.MaxNoticeBytes+1), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+load.NotifyPath, "application/json", bytes.NewReader(tc.body))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tc.want, resp.StatusCode)
		})
	}
	require.Empty(t, log.String())
}

// TestRun: the command listens where it is told (loopback only), appends
// to the log file, and stops cleanly when its context ends.
func TestRun(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "sub", "notifications.log")
	require.NoError(t, os.MkdirAll(filepath.Dir(logPath), 0o755))
	require.NoError(t, os.WriteFile(logPath, []byte(`{"kind":"earlier"}`+"\n"), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var out syncBuffer
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--log", logPath}, &out, io.Discard, ready) }()
	addr := <-ready
	require.Contains(t, out.String(), "media on http://"+addr+"/media/ [launch-keynote.mp4]; notifications to")

	resp, err := http.Post("http://"+addr+load.AlertPath, "application/json", strings.NewReader(`{"event_id":"msg_r","text":"hi"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)

	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2, "appended, not truncated")
	require.Contains(t, lines[1], `"kind":"alert"`)
}

func TestFlags(t *testing.T) {
	err := run(context.Background(), []string{"--help"}, io.Discard, io.Discard, nil)
	require.True(t, errors.Is(err, flag.ErrHelp))
	require.Equal(t, 0, cli.ExitCode("devpeer", err, io.Discard))

	err = run(context.Background(), []string{"--nope"}, io.Discard, io.Discard, nil)
	require.Equal(t, 2, cli.ExitCode("devpeer", err, io.Discard))

	err = run(context.Background(), []string{"--addr", "0.0.0.0:8090"}, io.Discard, io.Discard, nil)
	require.ErrorIs(t, err, errNotLoopback)
	require.Equal(t, 1, cli.ExitCode("devpeer", err, io.Discard))
}
