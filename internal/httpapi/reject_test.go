package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/mediaflow/mediaflow/internal/deadletter"
	"github.com/mediaflow/mediaflow/internal/ingest"
)

// memoryLetters keeps letters in memory, or fails every Put with err.
type memoryLetters struct {
	mu      sync.Mutex
	letters []deadletter.Letter
	err     error
}

func (m *memoryLetters) Put(_ context.Context, l deadletter.Letter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.letters = append(m.letters, l)
	return nil
}

// refusedServer serves a Server whose starts fail with err and whose dead
// letters go to letters.
func refusedServer(t *testing.T, err error, letters *memoryLetters) *testServer {
	t.Helper()
	s, logs := newServer(t, &fakeStarter{err: err}, func(o *Options) { o.DeadLetters = letters })
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, api: s, logs: logs}
}

// TestStartRefusedForGood: a start that Temporal refuses for a reason a
// retry will not remove is answered 422 with the reason, counted as
// rejected, and kept as a dead letter; every other failure stays a 503
// that Svix retries, and so does a refusal whose letter cannot be kept.
func TestStartRefusedForGood(t *testing.T) {
	const reason = "Namespace default has no mapping defined for search attribute AnimusJobID"
	tests := []struct {
		name       string
		err        error
		lettersErr error
		wantCode   int
		wantKept   bool
	}{
		{"search attribute not registered", serviceerror.NewInvalidArgument(reason), nil, 422, true},
		{"wrapped", fmt.Errorf("starting: %w", serviceerror.NewInvalidArgument(reason)), nil, 422, true},
		{"failed precondition", serviceerror.NewFailedPrecondition(reason), nil, 422, true},
		{"namespace not found", serviceerror.NewNamespaceNotFound("default"), nil, 422, true},
		{"rate limited: passes", serviceerror.NewResourceExhausted(0, "namespace rate limit exceeded"), nil, 503, false},
		{"temporal down", serviceerror.NewUnavailable("connection refused"), nil, 503, false},
		{"blob store down", errors.New("claim check: blob store: connection refused"), nil, 503, false},
		{"deadline", context.DeadlineExceeded, nil, 503, false},
		{"letter not kept", serviceerror.NewInvalidArgument(reason), errors.New("bucket unreachable"), 503, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			letters := &memoryLetters{err: tc.lettersErr}
			tsrv := refusedServer(t, tc.err, letters)
			s := tsrv.api

			body := sample(t, "success")
			h := signed(t, "msg_refused", body)
			h.Set("User-Agent", "Svix-Webhooks/1.0")
			resp, got := tsrv.post(t, body, h)
			require.Equal(t, tc.wantCode, resp.StatusCode, "%v", got)
			if !tc.wantKept {
				require.Empty(t, letters.letters)
				require.Equal(t, 1.0, testutil.ToFloat64(s.metrics.Requests.WithLabelValues(string(ingest.Unavailable))))
				require.NotEmpty(t, resp.Header.Get("Retry-After"))
				return
			}
			require.Equal(t, "rejected", got["status"])
			require.Contains(t, got["error"], "temporal refused it")
			var se serviceerror.ServiceError
			require.True(t, errors.As(tc.err, &se))
			require.Equal(t, se.Error(), got["reason"], "Temporal's reason")
			require.Equal(t, 1.0, testutil.ToFloat64(s.metrics.Requests.WithLabelValues(string(ingest.Rejected))))

			require.Len(t, letters.letters, 1)
			l := letters.letters[0]
			require.Equal(t, "msg_refused", l.EventID)
			require.Equal(t, body, l.Body, "the body byte for byte")
			require.Equal(t, got["reason"], l.Reason)
			require.Equal(t, "msg_refused", l.Headers.Get("svix-id"))
			require.Equal(t, "Svix-Webhooks/1.0", l.Headers.Get("User-Agent"))
			require.Empty(t, l.Headers.Get("svix-signature"), "never the signature")
			require.False(t, l.RejectedAt.IsZero())
		})
	}
}

// TestStartRefusedWithoutDeadLetters: a server without a place to keep
// dead letters answers a refusal 503, as before: nothing is lost.
func TestStartRefusedWithoutDeadLetters(t *testing.T) {
	ts := newTestServer(t, &fakeStarter{err: serviceerror.NewInvalidArgument("no mapping")})
	body := sample(t, "success")
	resp, _ := ts.post(t, body, signed(t, "msg_1", body))
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// TestDeadLetterKeepsNoCredential: a letter keeps the headers that
// describe the delivery, never one that may carry a credential. Svix
// sends an endpoint's custom headers with every delivery, and they are
// where an endpoint's own API key or token goes; a proxy adds its own. A
// letter kept every header but the signature, Authorization and Cookie, so
// `mediaflowctl show` printed such a key.
func TestDeadLetterKeepsNoCredential(t *testing.T) {
	letters := &memoryLetters{}
	tsrv := refusedServer(t, serviceerror.NewInvalidArgument("no mapping"), letters)

	body := sample(t, "success")
	h := signed(t, "msg_custom_headers", body)
	h.Set("User-Agent", "Svix-Webhooks/1.0")
	secrets := map[string]string{
		"X-Api-Key":           "k3y-of-the-endpoint",
		"Api-Key":             "another-k3y",
		"X-Webhook-Token":     "t0ken-of-the-endpoint",
		"X-Auth-Token":        "auth-t0ken",
		"Authorization":       "Bearer b3arer",
		"Proxy-Authorization": "Basic cHJveHk=",
		"Cookie":              "session=c00kie",
		"X-Amzn-Oidc-Data":    "eyJvaWRj",
	}
	for k, v := range secrets {
		h.Set(k, v)
	}
	resp, got := tsrv.post(t, body, h)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%v", got)

	require.Len(t, letters.letters, 1)
	l := letters.letters[0]
	for k, v := range secrets {
		for name, values := range l.Headers {
			for _, kept := range values {
				require.NotContains(t, kept, v, "header %s (sent as %s) is kept", name, k)
			}
		}
	}
	require.Empty(t, l.Headers.Get("svix-signature"), "never the signature")
	require.Equal(t, "msg_custom_headers", l.Headers.Get("svix-id"))
	require.Equal(t, h.Get("svix-timestamp"), l.Headers.Get("svix-timestamp"))
	require.Equal(t, "Svix-Webhooks/1.0", l.Headers.Get("User-Agent"))
	require.Equal(t, "application/json", l.Headers.Get("Content-Type"))
}
