package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/api/serviceerror"
	"golang.org/x/time/rate"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/ingest"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

// scriptedStarter answers by event ID: msg_dup is a duplicate, msg_down
// finds Temporal down, msg_refused is refused for good, anything else
// starts. It keeps the span context of
// each start's context.
type scriptedStarter struct {
	spans []trace.SpanContext
}

func (s *scriptedStarter) Start(ctx context.Context, in mediaflow.MediaCompletedInput) (string, error) {
	s.spans = append(s.spans, trace.SpanContextFromContext(ctx))
	switch in.EventID {
	case "msg_dup":
		return "", serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run-0")
	case "msg_down":
		return "", errors.New("connection refused")
	case "msg_refused":
		return "", serviceerror.NewInvalidArgument("no mapping defined for search attribute AnimusJobID")
	}
	return "run-1", nil
}

// TestMetricsCountEveryOutcome sends one request of each outcome and reads
// mediaflow_webhook_requests_total, the duration histogram and the start
// histogram from the Server's Registry; neither /metrics nor the log
// shows the secret.
func TestMetricsCountEveryOutcome(t *testing.T) {
	s, logs := newServer(t, &scriptedStarter{}, func(o *Options) {
		// Six verified deliveries pass the limiter; the seventh is rate
		// limited. Requests that fail verification do not count.
		o.Limiter = rate.NewLimiter(rate.Every(time.Hour), 6)
		o.MaxBodyBytes = 1 << 10
		o.DeadLetters = &memoryLetters{}
	})
	url := serveHTTP(t, s, func(srv *http.Server) { srv.ReadTimeout = time.Second })

	for _, o := range ingest.Outcomes {
		require.Zero(t, testutil.ToFloat64(s.metrics.Requests.WithLabelValues(string(o))), "%s starts at zero", o)
	}
	success := sample(t, "success")
	big := append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 2<<10)...), `"}`...)
	send := func(body []byte, h http.Header) int {
		if h == nil { // half a body, then nothing until the read timeout
			code, _, _ := sendPartial(t, url, signed(t, "msg_slow", body), len(body), body[:len(body)/2])
			return code
		}
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		outcome ingest.Outcome
		body    []byte
		headers http.Header
		code    int
	}{
		{ingest.Started, success, signed(t, "msg_new", success), 200},
		{ingest.Duplicate, success, signed(t, "msg_dup", success), 200},
		{ingest.Ignored, sample(t, "unknown"), signed(t, "msg_other", sample(t, "unknown")), 200},
		{ingest.Unauthorized, success, signed(t, "msg_bad", append([]byte("x"), success...)), 401},
		{ingest.BadRequest, []byte("not json"), signed(t, "msg_nojson", []byte("not json")), 400},
		{ingest.TooLarge, big, signed(t, "msg_big", big), 413},
		{ingest.Timeout, success, nil, 408},
		{ingest.Unavailable, success, signed(t, "msg_down", success), 503},
		{ingest.Rejected, success, signed(t, "msg_refused", success), 422},
		{ingest.RateLimited, success, signed(t, "msg_more", success), 429},
	} {
		require.Equal(t, tc.code, send(tc.body, tc.headers), tc.outcome)
	}

	for _, o := range ingest.Outcomes {
		require.Equal(t, 1.0, testutil.ToFloat64(s.metrics.Requests.WithLabelValues(string(o))), "mediaflow_webhook_requests_total{outcome=%q}", o)
	}
	families, err := s.opts.Registry.Gather()
	require.NoError(t, err)
	counts := map[string]uint64{}
	var starts uint64
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "mediaflow_webhook_request_duration_seconds":
				counts[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
			case "mediaflow_workflow_start_duration_seconds":
				starts = m.GetHistogram().GetSampleCount()
			}
		}
	}
	for _, o := range ingest.Outcomes {
		require.EqualValues(t, 1, counts[string(o)], "mediaflow_webhook_request_duration_seconds{outcome=%q} count", o)
	}
	require.EqualValues(t, 4, starts, "started, duplicate, unavailable and rejected called Temporal")

	// One log line per request, each naming its outcome.
	for _, o := range ingest.Outcomes {
		require.Equal(t, 1, strings.Count(logs.String(), "outcome="+string(o)+" "), "log lines for %s:\n%s", o, logs)
	}
	resp, err := http.Get(strings.TrimSuffix(url, WebhookPath) + "/metrics")
	require.NoError(t, err)
	exposition, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(exposition), `mediaflow_webhook_requests_total{outcome="rate_limited"} 1`)
	key := strings.TrimPrefix(testSecret, "whsec_")
	for name, out := range map[string]string{"/metrics": string(exposition), "log": logs.String()} {
		require.NotContains(t, out, key, "%s shows the secret", name)
		require.NotContains(t, out, key[:12], "%s shows part of the secret", name)
	}
}

// TestUnauthorizedReasons: each 401 is counted by reason in
// mediaflow_webhook_unauthorized_total and logged with it, so that alerts
// can tell outside traffic (unsigned) from deliveries signed with another
// secret (signature) or a clock off (timestamp).
func TestUnauthorizedReasons(t *testing.T) {
	s, logs := newServer(t, &fakeStarter{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	body := sample(t, "success")
	stale, err := webhook.Sign(testSecret, "msg_old", time.Now().Add(-time.Hour), body)
	require.NoError(t, err)
	for _, tc := range []struct {
		reason  ingest.Reason
		headers http.Header
	}{
		{ingest.ReasonUnsigned, http.Header{}},
		{ingest.ReasonUnsigned, http.Header{"Svix-Id": {"msg_1"}}},
		{ingest.ReasonTimestamp, stale},
		{ingest.ReasonSignature, signed(t, "msg_1", append([]byte(" "), body...))},
	} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+WebhookPath, bytes.NewReader(body))
		req.Header = tc.headers
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 401, resp.StatusCode, string(tc.reason))
		require.Contains(t, logs.String(), "outcome=unauthorized reason="+string(tc.reason)+" code=401")
	}
	for reason, want := range map[ingest.Reason]float64{ingest.ReasonUnsigned: 2, ingest.ReasonTimestamp: 1, ingest.ReasonSignature: 1} {
		require.Equal(t, want, testutil.ToFloat64(s.metrics.Unauthorized.WithLabelValues(string(reason))), string(reason))
	}
	require.Equal(t, 4.0, testutil.ToFloat64(s.metrics.Requests.WithLabelValues(string(ingest.Unauthorized))))
}

// TestTracingSpansTheWebhookRoute: with a TracerProvider, a webhook
// request is one server span that the start's context carries, with the
// outcome and IDs but no body or secret; an outside traceparent is linked,
// not continued; probes are not traced.
func TestTracingSpansTheWebhookRoute(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	starter := &scriptedStarter{}
	s, logs := newServer(t, starter, func(o *Options) { o.TracerProvider = tp })
	ts := httptest.NewServer(s)
	defer ts.Close()

	body := sample(t, "success")
	req, _ := http.NewRequest(http.MethodPost, ts.URL+WebhookPath, bytes.NewReader(body))
	req.Header = signed(t, "msg_traced", body)
	outside := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	req.Header.Set("traceparent", outside)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
	}

	got := spans.GetSpans()
	require.Len(t, got, 1, "only the webhook route is traced")
	span := got[0]
	require.Equal(t, "POST "+WebhookPath, span.Name)
	require.Equal(t, trace.SpanKindServer, span.SpanKind)
	require.Len(t, starter.spans, 1)
	require.Equal(t, span.SpanContext.SpanID(), starter.spans[0].SpanID(), "the start runs in the request's span")
	require.NotEqual(t, "0af7651916cd43dd8448eb211c80319c", span.SpanContext.TraceID().String(), "an outside trace is not continued")
	require.Len(t, span.Links, 1, "an outside trace is linked")

	attrs := map[attribute.Key]string{}
	for _, kv := range span.Attributes {
		attrs[kv.Key] = kv.Value.Emit()
		require.NotContains(t, kv.Value.Emit(), strings.TrimPrefix(testSecret, "whsec_")[:12], "attribute %s", kv.Key)
		require.NotContains(t, kv.Value.Emit(), "cus_1042", "attribute %s carries the body", kv.Key)
	}
	require.Equal(t, "started", attrs["mediaflow.outcome"])
	require.Equal(t, "msg_traced", attrs["mediaflow.event_id"])
	require.Equal(t, "7c0e6f2a-3b1d-4e8f-9a52-1d6c2b7e4f10", attrs["animus.job_id"])
	require.Equal(t, WebhookPath, attrs["http.route"])
	require.Contains(t, logs.String(), "trace_id="+span.SpanContext.TraceID().String(), "the log line names the trace")
}
