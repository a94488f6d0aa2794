package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/ingest"
	"github.com/mediaflow/mediaflow/internal/logtest"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

const testSecret = "whsec_dGVzdC1zZWNyZXQtZm9yLWh0dHBhcGktdGVzdHM="

// fakeStarter stands in for Temporal where the test needs a failure a
// real server cannot produce on demand (slow, erroring). The integration
// tests in e2e use a real dev server.
type fakeStarter struct {
	mu    sync.Mutex
	calls []mediaflow.MediaCompletedInput
	err   error
	block bool // wait until the start's deadline
}

func (f *fakeStarter) Start(ctx context.Context, in mediaflow.MediaCompletedInput) (string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, in)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return "", ctx.Err()
	}
	if f.err != nil {
		return "", f.err
	}
	return "run-1", nil
}

func (f *fakeStarter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// lockedBuffer is a log sink that the server writes from its handlers and
// from timers while the test reads it.
type lockedBuffer = logtest.Buffer

type testServer struct {
	*httptest.Server
	api     *Server
	starter *fakeStarter
	logs    *lockedBuffer
}

// newServer returns a Server for starter, with a log buffer, after
// configure has changed its options.
func newServer(t *testing.T, starter ingest.Starter, configure ...func(*Options)) (*Server, *lockedBuffer) {
	t.Helper()
	v, err := webhook.NewVerifier([]string{testSecret})
	require.NoError(t, err)
	logs := &lockedBuffer{}
	o := Options{
		Verifier:          v,
		Starter:           starter,
		Ready:             func(context.Context) error { return nil },
		MaxBodyBytes:      1 << 20,
		StartTimeout:      200 * time.Millisecond,
		MaxInflightStarts: 256,
		Logger:            slog.New(slog.NewTextHandler(logs, nil)),
		Registry:          prometheus.NewRegistry(),
	}
	for _, f := range configure {
		f(&o)
	}
	s, err := New(o)
	require.NoError(t, err)
	return s, logs
}

func newTestServer(t *testing.T, starter *fakeStarter) *testServer {
	t.Helper()
	s, logs := newServer(t, starter)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, api: s, starter: starter, logs: logs}
}

// post sends body to the webhook route with headers h.
func (ts *testServer) post(t *testing.T, body []byte, h http.Header) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+WebhookPath, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got), "every answer is JSON, got %q", raw)
	return resp, got
}

func signed(t *testing.T, id string, body []byte) http.Header {
	t.Helper()
	h, err := webhook.Sign(testSecret, id, time.Now(), body)
	require.NoError(t, err)
	return h
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := samples.Get(name)
	require.NoError(t, err)
	return b
}

func TestWebhookAnswers(t *testing.T) {
	success := sample(t, "success")
	tests := []struct {
		name       string
		starter    *fakeStarter
		body       []byte
		headers    func(body []byte) http.Header
		wantCode   int
		wantStatus string // body's "status"
		wantError  string // part of body's "error"
		wantStarts int
	}{
		{name: "new event", body: success, wantCode: 200, wantStatus: "started", wantStarts: 1},
		{name: "uppercase status, extra fields", body: sample(t, "uppercase"), wantCode: 200, wantStatus: "started", wantStarts: 1},
		{name: "failed job", body: sample(t, "failure"), wantCode: 200, wantStatus: "started", wantStarts: 1},
		{name: "duplicate", starter: &fakeStarter{err: serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run-0")},
			body: success, wantCode: 200, wantStatus: "duplicate", wantStarts: 1},
		{name: "unknown event type", body: sample(t, "unknown"), wantCode: 200, wantStatus: "ignored"},
		{name: "a relay's svix-* beside our webhook-* set", body: success, headers: func(b []byte) http.Header {
			h := http.Header{}
			for k, v := range signed(t, "msg_1", b) {
				h["Webhook"+strings.TrimPrefix(k, "Svix")] = v
			}
			upstream, _ := webhook.Sign("whsec_dXBzdHJlYW0tc2VjcmV0LW9mLWEtcmVsYXk=", "msg_upstream", time.Now(), b)
			maps.Copy(h, upstream)
			return h
		}, wantCode: 200, wantStatus: "started", wantStarts: 1},
		{name: "no headers", body: success, headers: func([]byte) http.Header { return http.Header{} },
			wantCode: 401, wantError: "missing signature headers"},
		{name: "bad signature", body: success, headers: func(b []byte) http.Header { return signed(t, "msg_1", append(b, ' ')) },
			wantCode: 401, wantError: "no matching signature"},
		{name: "old timestamp", body: success, headers: func(b []byte) http.Header {
			h, _ := webhook.Sign(testSecret, "msg_1", time.Now().Add(-10*time.Minute), b)
			return h
		}, wantCode: 401, wantError: "too old"},
		{name: "not JSON", body: []byte("hello"), wantCode: 400, wantError: "not a JSON object"},
		{name: "no job_id", body: []byte(`{"event_type":"media.completed","data":{"status":"completed"}}`), wantCode: 400, wantError: "data.job_id is missing"},
		{name: "no data", body: []byte(`{"event_type":"media.completed"}`), wantCode: 400, wantError: "data must be an object"},
		{name: "too large", body: append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 1<<20)...), `"}`...), wantCode: 413, wantError: "larger than"},
		{name: "temporal down", starter: &fakeStarter{err: errors.New("connection refused")}, body: success,
			wantCode: 503, wantError: "temporal unavailable", wantStarts: 1},
		{name: "temporal slow", starter: &fakeStarter{block: true}, body: success,
			wantCode: 503, wantError: "temporal unavailable", wantStarts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.starter == nil {
				tc.starter = &fakeStarter{}
			}
			if tc.headers == nil {
				tc.headers = func(b []byte) http.Header { return signed(t, "msg_1", b) }
			}
			ts := newTestServer(t, tc.starter)
			resp, got := ts.post(t, tc.body, tc.headers(tc.body))
			require.Equal(t, tc.wantCode, resp.StatusCode, "body %v", got)
			if tc.wantStatus != "" {
				require.Equal(t, tc.wantStatus, got["status"])
				require.Equal(t, "msg_1", got["event_id"])
			}
			if tc.wantError != "" {
				require.Contains(t, got["error"], tc.wantError)
			}
			if tc.wantCode == 503 {
				require.NotEmpty(t, resp.Header.Get("Retry-After"))
			}
			require.Equal(t, tc.wantStarts, tc.starter.count())
			require.NotContains(t, ts.logs.String(), strings.TrimPrefix(testSecret, "whsec_"))
		})
	}
}

func TestStartedEventCarriesTheEvent(t *testing.T) {
	ts := newTestServer(t, &fakeStarter{})
	body := sample(t, "uppercase")
	resp, got := ts.post(t, body, signed(t, "msg_abc", body))
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, map[string]any{"status": "started", "event_id": "msg_abc", "workflow_id": "msg_abc", "run_id": "run-1"}, got)

	in := ts.starter.calls[0]
	require.Equal(t, "msg_abc", in.EventID)
	require.Equal(t, "media.completed", in.EventType)
	require.Equal(t, "2026-11-21T09:00:00Z", in.EventTimestamp)
	require.Equal(t, "3c90c3cc-0d44-4b50-8888-8dd25736052a", in.Job.JobID)
	require.Equal(t, "COMPLETED", in.Job.Status)
	require.Contains(t, string(in.Job.Raw), `"percent_complete":100`, "unknown fields are kept")
	opts := mediaflow.StartOptions("q", in)
	require.Equal(t, "msg_abc", opts.ID)
}

func TestOtherRoutes(t *testing.T) {
	ts := newTestServer(t, &fakeStarter{})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/readyz", 200},
		{"GET", "/metrics", 200},
		{"GET", WebhookPath, 405},
		{"PUT", WebhookPath, 405},
		{"GET", "/nope", 404},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, tc.want, resp.StatusCode, "%s %s", tc.method, tc.path)
	}
}

// TestReadyzWhenNotReady: GET /readyz is 503 with Ready's reason, e.g.
// what the namespace lacks.
func TestReadyzWhenNotReady(t *testing.T) {
	const reason = `namespace "default" lacks the search attribute AnimusWatchState (Keyword)`
	s, _ := newServer(t, &fakeStarter{}, func(o *Options) { o.Ready = func(context.Context) error { return errors.New(reason) } })
	ts := httptest.NewServer(s)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 503, resp.StatusCode)
	var got map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	require.Equal(t, map[string]string{"status": "unavailable", "error": reason}, got)
}

// panicStarter panics, as a bug would.
type panicStarter struct{}

func (panicStarter) Start(context.Context, mediaflow.MediaCompletedInput) (string, error) {
	panic("bug in the starter")
}

func TestPanicIsAnswered500AndLogged(t *testing.T) {
	s, logs := newServer(t, panicStarter{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	body := sample(t, "success")
	req, _ := http.NewRequest(http.MethodPost, ts.URL+WebhookPath, bytes.NewReader(body))
	req.Header = signed(t, "msg_panic", body)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 500, resp.StatusCode)
	require.Contains(t, logs.String(), "bug in the starter")
	require.NotContains(t, logs.String(), req.Header.Get("svix-signature"))
}

func TestNewRefusesMissingDependencies(t *testing.T) {
	_, err := New(Options{})
	require.ErrorContains(t, err, "required")
	v, _ := webhook.NewVerifier([]string{testSecret})
	_, err = New(Options{Verifier: v, Starter: &fakeStarter{}, Ready: func(context.Context) error { return nil },
		Logger: slog.Default(), Registry: prometheus.NewRegistry()})
	require.ErrorContains(t, err, "must be positive", "no limit defaults here: config holds them")
}

// TestTrailingSlashIsTheSameRoute: an endpoint URL saved in Svix with a
// trailing slash (/webhooks/animus/) gets the webhook's own answers. It
// was answered 307 with no body, which Svix counts as a failed attempt on
// every retry until it gives the event up; no route answers a bodiless
// redirect.
func TestTrailingSlashIsTheSameRoute(t *testing.T) {
	ts := newTestServer(t, &fakeStarter{})
	body := sample(t, "success")
	req, err := http.NewRequest(http.MethodPost, ts.URL+WebhookPath+"/", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = signed(t, "msg_slash", body)
	// Svix does not follow redirects.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	require.Equal(t, "started", got["status"])
	require.Equal(t, 1, ts.starter.count())

	resp, err = client.Get(ts.URL + "/healthz/")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got), "every answer is JSON")
}
