package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	svix "github.com/svix/svix-webhooks/go"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/egress"
	"github.com/mediaflow/mediaflow/internal/store"
)

func execute[T any](t *testing.T, fn any, arg any) (T, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(fn)
	var out T
	v, err := env.ExecuteActivity(fn, arg)
	if err == nil && v.HasValue() {
		require.NoError(t, v.Get(&out))
	}
	return out, err
}

// appError returns err's ApplicationError, failing the test if it has none.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v, want an ApplicationError", err)
	return appErr
}

var content = []byte(strings.Repeat("frame ", 50000)) // 300 kB

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mediaServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func serveContent(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "video/mp4")
	w.Write(content)
}

// files lists the names in dir, none when dir does not exist.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDownloadTwiceIsOneFile(t *testing.T) {
	var hits atomic.Int32
	ts := mediaServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1); serveContent(w, r) })
	a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: loopback}
	in := DownloadInput{EventID: "msg_1", JobID: "job-1", URL: ts.URL + "/uploads/clip.mp4?sig=abc"}

	first, err := execute[Media](t, a.DownloadMedia, in)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(a.MediaDir, "job-1", hashHex(in.URL)+"-clip.mp4"), first.Path)
	require.EqualValues(t, len(content), first.Size)
	require.Equal(t, sha(content), first.SHA256)
	got, err := os.ReadFile(first.Path)
	require.NoError(t, err)
	require.Equal(t, content, got)

	// A rerun (a retry after the worker died, say) finds the file.
	second, err := execute[Media](t, a.DownloadMedia, in)
	require.NoError(t, err)
	require.True(t, second.Existing)
	require.Equal(t, first.SHA256, second.SHA256)
	require.EqualValues(t, 1, hits.Load(), "not downloaded again")
	require.Equal(t, []string{filepath.Base(first.Path)}, files(t, filepath.Dir(first.Path)), "no temporary files left")
}

func TestDownloadInterruptedThenRetried(t *testing.T) {
	var hits atomic.Int32
	ts := mediaServer(t, func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			// Promise the whole file, send half, drop the connection.
			w.Header().Set("Content-Length", fmt.Sprint(len(content)))
			w.Write(content[:len(content)/2])
			panic(http.ErrAbortHandler)
		}
		serveContent(w, r)
	})
	a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: loopback}
	in := DownloadInput{JobID: "job-2", URL: ts.URL + "/a.mp4"}

	_, err := execute[Media](t, a.DownloadMedia, in)
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		require.False(t, appErr.NonRetryable(), "a reset connection is retried")
	}
	require.Empty(t, files(t, a.MediaDir), "a broken transfer without a validator leaves nothing")

	m, err := execute[Media](t, a.DownloadMedia, in)
	require.NoError(t, err)
	require.Equal(t, sha(content), m.SHA256)
	require.Equal(t, []string{filepath.Base(m.Path)}, files(t, filepath.Join(a.MediaDir, "job-2")))
}

func TestDownloadFailures(t *testing.T) {
	plain := mediaServer(t, serveContent)
	downgrade := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/a.mp4", http.StatusFound))
	t.Cleanup(downgrade.Close)
	policy, err := egress.Parse(loopback)
	require.NoError(t, err)
	client := NewMediaClient(policy)
	client.Transport.(*http.Transport).TLSClientConfig = downgrade.Client().Transport.(*http.Transport).TLSClientConfig

	tests := []struct {
		name         string
		handler      http.HandlerFunc
		url          string // instead of the handler's server
		max          int64
		http         *http.Client
		wantType     string
		nonRetryable bool
		wantDelay    time.Duration
	}{
		{name: "404", handler: http.NotFound, wantType: ErrTypeHTTPStatus, nonRetryable: true},
		{name: "403", handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(403) }, wantType: ErrTypeHTTPStatus, nonRetryable: true},
		{name: "503 with Retry-After", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
		}, wantType: ErrTypeRetryableHTTP, wantDelay: 7 * time.Second},
		{name: "429", handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(429) }, wantType: ErrTypeRetryableHTTP},
		{name: "too large by Content-Length", handler: serveContent, max: 1000, wantType: ErrTypeMediaTooLarge, nonRetryable: true},
		{name: "too large, chunked", handler: func(w http.ResponseWriter, _ *http.Request) {
			for range 10 {
				w.Write(content[:500])
				w.(http.Flusher).Flush()
			}
		}, max: 4000, wantType: ErrTypeMediaTooLarge, nonRetryable: true},
		{name: "ftp URL", url: "ftp://example.com/a.mp4", wantType: ErrTypeInvalidURL, nonRetryable: true},
		{name: "redirect to another scheme", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		}, wantType: ErrTypeInvalidURL, nonRetryable: true},
		{name: "https redirected to http", url: downgrade.URL + "/a.mp4", http: client, wantType: ErrTypeInvalidURL, nonRetryable: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			if url == "" {
				url = mediaServer(t, tc.handler).URL + "/a.mp4"
			}
			a := &Activities{MediaDir: t.TempDir(), MediaMaxBytes: tc.max, MediaHTTP: tc.http, MediaAllowedHosts: loopback}
			_, err := execute[Media](t, a.DownloadMedia, DownloadInput{JobID: "j", URL: url})
			appErr := appError(t, err)
			require.Equal(t, tc.wantType, appErr.Type(), "error %v", err)
			require.Equal(t, tc.nonRetryable, appErr.NonRetryable())
			require.Equal(t, tc.wantDelay, appErr.NextRetryDelay())
			require.Empty(t, files(t, a.MediaDir), "a failed download leaves nothing, not even its directory")
		})
	}
}

func TestDownloadStaysInMediaDir(t *testing.T) {
	ts := mediaServer(t, serveContent)
	a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: loopback}
	for _, jobID := range []string{"../../etc", "..", "a/b", ""} {
		m, err := execute[Media](t, a.DownloadMedia, DownloadInput{JobID: jobID, URL: ts.URL + "/..%2F..%2Fx"})
		require.NoError(t, err)
		rel, err := filepath.Rel(a.MediaDir, m.Path)
		require.NoError(t, err)
		require.True(t, filepath.IsLocal(rel), "job %q saved at %s", jobID, m.Path)
		require.Equal(t, 2, len(strings.Split(rel, string(filepath.Separator))), "MEDIA_DIR/<job>/<file>, got %s", rel)
	}
	// IDs that differ only in unsafe characters get directories of their own.
	seen := map[string]string{}
	for _, jobID := range []string{"a/b", "a:b", "a_b"} {
		dir := jobDir(jobID)
		require.NotContains(t, seen, dir, "%q and %q share %s", jobID, seen[dir], dir)
		seen[dir] = jobID
	}
}

func TestDownloadSkipped(t *testing.T) {
	m, err := execute[Media](t, (&Activities{}).DownloadMedia, DownloadInput{JobID: "j", URL: "https://x/a.mp4"})
	require.NoError(t, err)
	require.True(t, m.Skipped)
	m, err = execute[Media](t, (&Activities{MediaDir: t.TempDir()}).DownloadMedia, DownloadInput{JobID: "j"})
	require.NoError(t, err)
	require.True(t, m.Skipped)
}

// receiver is a notification target that records what it got.
type receiver struct {
	mu       sync.Mutex
	keys     map[string]int
	headers  []http.Header
	bodies   [][]byte
	statuses []int // answered in order; 200 after the last
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	body := make([]byte, r.ContentLength)
	_, _ = r.Body.Read(body)
	if rc.keys == nil {
		rc.keys = map[string]int{}
	}
	rc.keys[r.Header.Get("Idempotency-Key")]++
	rc.headers = append(rc.headers, r.Header.Clone())
	rc.bodies = append(rc.bodies, body)
	code := 200
	if len(rc.statuses) > 0 {
		code, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	if code == 429 {
		w.Header().Set("Retry-After", "3")
	}
	w.WriteHeader(code)
}

var notice = Notice{Type: "mediaflow.job.completed", EventID: "msg_42", JobID: "j42", Status: "completed",
	CustomPayload: []byte(`{"customer_id":"cus_1"}`), Text: "Animus job j42 completed"}

func TestNotifyTwiceCarriesOneIdempotencyKey(t *testing.T) {
	rc := &receiver{}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	a := &Activities{NotifyURL: ts.URL}
	for range 2 {
		d, err := execute[Delivery](t, a.Notify, notice)
		require.NoError(t, err)
		require.Equal(t, 200, d.Status)
	}
	require.Equal(t, map[string]int{"msg_42": 2}, rc.keys, "one distinct Idempotency-Key per event")
	require.JSONEq(t, `{"type":"mediaflow.job.completed","event_id":"msg_42","job_id":"j42","status":"completed",
		"custom_payload":{"customer_id":"cus_1"},"text":"Animus job j42 completed"}`, string(rc.bodies[0]))
	require.Equal(t, "application/json", rc.headers[0].Get("Content-Type"))
}

func TestNotifySignatureVerifiesWithSvix(t *testing.T) {
	const secret = "whsec_bm90aWZ5LXNlY3JldC1mb3ItcmVjZWl2ZXJzLXRlc3Q="
	rc := &receiver{}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	_, err := execute[Delivery](t, (&Activities{AlertURL: ts.URL, NotifySecret: secret}).Alert, notice)
	require.NoError(t, err)

	wh, err := svix.NewWebhook(secret)
	require.NoError(t, err)
	require.NoError(t, wh.Verify(rc.bodies[0], rc.headers[0]), "a receiver verifies it with the svix library")
	require.Equal(t, "msg_42", rc.headers[0].Get("webhook-id"))
	other, _ := svix.NewWebhook("whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==")
	require.Error(t, other.Verify(rc.bodies[0], rc.headers[0]))
}

func TestNotifyFailures(t *testing.T) {
	tests := []struct {
		status       int
		wantType     string
		nonRetryable bool
		wantDelay    time.Duration
	}{
		{500, ErrTypeRetryableHTTP, false, 0},
		{503, ErrTypeRetryableHTTP, false, 0},
		{429, ErrTypeRetryableHTTP, false, 3 * time.Second},
		{408, ErrTypeRetryableHTTP, false, 0},
		{400, ErrTypeHTTPStatus, true, 0},
		{404, ErrTypeHTTPStatus, true, 0},
		{302, ErrTypeHTTPStatus, true, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			rc := &receiver{statuses: []int{tc.status}}
			ts := httptest.NewServer(rc)
			defer ts.Close()
			_, err := execute[Delivery](t, (&Activities{NotifyURL: ts.URL}).Notify, notice)
			appErr := appError(t, err)
			require.Equal(t, tc.wantType, appErr.Type())
			require.Equal(t, tc.nonRetryable, appErr.NonRetryable())
			require.Equal(t, tc.wantDelay, appErr.NextRetryDelay())
		})
	}
}

// TestNotifyDoesNotFollowRedirects: a notification goes to the URL the
// operator set and nowhere else; a redirect (a 307 or 308 would post the
// body again) is a non-retryable HTTPStatus error and its target is never
// called.
func TestNotifyDoesNotFollowRedirects(t *testing.T) {
	elsewhere := &receiver{}
	other := httptest.NewServer(elsewhere)
	defer other.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		ts := httptest.NewServer(http.RedirectHandler(other.URL+"/elsewhere", code))
		_, err := execute[Delivery](t, (&Activities{NotifyURL: ts.URL, AlertURL: ts.URL}).Alert, notice)
		ts.Close()
		appErr := appError(t, err)
		require.Equal(t, ErrTypeHTTPStatus, appErr.Type(), "HTTP %d", code)
		require.True(t, appErr.NonRetryable())
	}
	require.Empty(t, elsewhere.bodies, "the redirect's target got nothing")
}

func TestNotifyErrorsDoNotShowTheURL(t *testing.T) {
	// A Slack-style URL is a secret; nothing listens on port 1.
	a := &Activities{NotifyURL: "http://127.0.0.1:1/services/T000/B000/s3cr3tT0ken"}
	_, err := execute[Delivery](t, a.Notify, notice)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cr3tT0ken")
}

func TestNotifySkippedWithoutURL(t *testing.T) {
	d, err := execute[Delivery](t, (&Activities{}).Notify, notice)
	require.NoError(t, err)
	require.True(t, d.Skipped)
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"12":                            12 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"86400":                         maxRetryAfter,
		"18446744074":                   maxRetryAfter, // overflows as nanoseconds
		"99999999999999999999":          0,             // not an int64: unreadable
		"Sun, 29 Nov 2026 10:01:00 GMT": time.Minute,
	} {
		require.Equal(t, want, retryAfter(v, now), "Retry-After %q", v)
	}
}

func TestRecordJobTwiceIsOneRow(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	defer st.Close()
	job := jobOf(t, `{"job_id":"j7","status":"completed","custom_payload":{"x":1}}`)
	in := RecordInput{
		Event: mediaflow.MediaCompletedInput{EventID: "msg_7", EventType: "media.completed", ReceivedAt: time.Now(), Job: job},
		Media: Media{Path: "/m/j7/a.mp4", Size: 3, SHA256: "abc"},
	}
	a := &Activities{Store: st}
	for range 2 {
		_, err := execute[Recorded](t, a.RecordJob, in)
		require.NoError(t, err)
	}
	n, err := st.CountJobs(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	row, err := st.Job(context.Background(), "j7")
	require.NoError(t, err)
	require.Equal(t, "/m/j7/a.mp4", row.MediaPath)
	require.Equal(t, `{"x":1}`, string(row.CustomPayload))

	_, err = execute[Recorded](t, a.RecordJob, RecordInput{Event: mediaflow.MediaCompletedInput{EventID: "msg_8"}})
	require.Equal(t, ErrTypeInvalidData, appError(t, err).Type())
}

// TestRecordJobOrdersByEventTime: an older event that gets through after
// a newer one (its deliveries failed until then) does not overwrite it.
func TestRecordJobOrdersByEventTime(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	defer st.Close()
	a := &Activities{Store: st}
	event := func(id, status, ts string) RecordInput {
		job := jobOf(t, `{"job_id":"j9","status":"`+status+`"}`)
		return RecordInput{Event: mediaflow.MediaCompletedInput{EventID: id, EventTimestamp: ts, ReceivedAt: time.Now(), Job: job}}
	}
	rec, err := execute[Recorded](t, a.RecordJob, event("msg_new", "completed", "2026-11-20T14:05:00Z"))
	require.NoError(t, err)
	require.False(t, rec.Stale)
	rec, err = execute[Recorded](t, a.RecordJob, event("msg_old", "failed", "2026-11-20T14:00:00Z"))
	require.NoError(t, err)
	require.True(t, rec.Stale)
	row, err := st.Job(context.Background(), "j9")
	require.NoError(t, err)
	require.Equal(t, "msg_new", row.EventID)
	require.Equal(t, mediaflow.JobCompleted, row.Status)
}

// jobOf decodes a data object as a workflow's input carries it.
func jobOf(t *testing.T, data string) mediaflow.Job {
	t.Helper()
	var job mediaflow.Job
	require.NoError(t, json.Unmarshal([]byte(data), &job))
	return job
}
