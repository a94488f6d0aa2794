package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mediaflow/mediaflow/internal/httpapi"
)

// sum adds up the values of the counters (or histogram counts) named name
// in reg whose labels include want.
func sum(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	var total float64
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				total += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			case m.GetGauge() != nil:
				total += m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// names lists the metric names in reg that start with prefix.
func names(t *testing.T, reg prometheus.Gatherer, prefix string) []string {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	var out []string
	for _, mf := range families {
		if strings.HasPrefix(mf.GetName(), prefix) {
			out = append(out, mf.GetName())
		}
	}
	return out
}

// TestOneTraceFromRequestToActivities: a webhook request, its workflow
// start, the workflow run and every activity attempt are spans of one
// trace, each the child of the one before, and none carries the body or
// the secret.
func TestOneTraceFromRequestToActivities(t *testing.T) {
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("frames")) }))
	defer media.Close()
	notify := httptest.NewServer(&target{})
	defer notify.Close()
	a := newApp(t, func(c *appConfig) {
		c.env["MEDIA_DIR"], c.env["NOTIFY_URL"], c.env["MEDIA_ALLOWED_HOSTS"] = t.TempDir(), notify.URL, "127.0.0.1"
	})
	id := newEventID()
	body := eventFor("job-traced-"+id, "completed", media.URL+"/clip.mp4")
	require.Equal(t, "started", deliver(t, a.url, id, body, secret).body["status"])
	_, err := a.result(t, id)
	require.NoError(t, err)

	// The workflow's span ends as the workflow completes, a moment after
	// the result is visible.
	var spans tracetest.SpanStubs
	byName := map[string]tracetest.SpanStub{}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		spans = a.spans.GetSpans()
		for _, s := range spans {
			byName[s.Name] = s
		}
		assert.Contains(c, byName, "RunWorkflow:MediaCompletedWorkflow")
		assert.Contains(c, byName, "RunActivity:Notify")
	}, 10*time.Second, 50*time.Millisecond)
	var got []string
	for _, s := range spans {
		got = append(got, s.Name)
	}
	t.Logf("spans: %v", got)

	root := byName["POST "+httpapi.WebhookPath]
	require.True(t, root.SpanContext.IsValid(), "the HTTP request is a span; got %v", got)
	require.False(t, root.Parent.IsValid(), "the HTTP span is the root")
	require.Equal(t, trace.SpanKindServer, root.SpanKind)
	traceID := root.SpanContext.TraceID()
	for _, s := range spans {
		require.Equal(t, traceID, s.SpanContext.TraceID(), "span %s is in another trace", s.Name)
		for _, kv := range s.Attributes {
			v := kv.Value.Emit()
			require.NotContains(t, v, strings.TrimPrefix(secret, "whsec_")[:12], "span %s attribute %s", s.Name, kv.Key)
			require.NotContains(t, v, "cus_9", "span %s attribute %s carries the body", s.Name, kv.Key)
		}
	}
	// request → start → workflow → each activity's start → its run, local
	// activities (the short steps) included.
	parentOf := func(child, parent string) {
		t.Helper()
		c, ok := byName[child]
		require.True(t, ok, "no span %s in %v", child, got)
		require.Equal(t, byName[parent].SpanContext.SpanID(), c.Parent.SpanID(), "%s's parent is not %s", child, parent)
	}
	parentOf("StartWorkflow:MediaCompletedWorkflow", "POST "+httpapi.WebhookPath)
	parentOf("RunWorkflow:MediaCompletedWorkflow", "StartWorkflow:MediaCompletedWorkflow")
	for _, act := range []string{"RecordEvent", "DownloadMedia", "RecordMedia", "TellWatch", "Notify"} {
		parentOf("StartActivity:"+act, "RunWorkflow:MediaCompletedWorkflow")
		parentOf("RunActivity:"+act, "StartActivity:"+act)
	}
}

// TestWorkerAndSDKMetricsMove runs a completed job, a failed job, a
// notification that fails once and is retried, and a workflow that fails
// (unknown status), then reads the worker's and the server's registries:
// mediaflow_jobs_total by status, the activity attempts and durations by
// outcome, and the Temporal SDK's counters. It also scrapes the worker's
// GET /metrics.
func TestWorkerAndSDKMetricsMove(t *testing.T) {
	var notifyCalls atomic.Int32
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if notifyCalls.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway) // retried
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer notify.Close()
	a := newApp(t, func(c *appConfig) {
		c.env["NOTIFY_URL"] = notify.URL
		// Each notice's first attempt in the workflow task.
		c.env["NOTIFY_MAX_PER_SECOND"] = "off"
	})
	jobs := func(status string) float64 { return testutil.ToFloat64(a.worker.Jobs.WithLabelValues(status)) }
	require.Zero(t, jobs("completed"))
	require.Zero(t, jobs("failed"))

	okID, badID, oddID := newEventID(), newEventID(), newEventID()
	require.Equal(t, "started", deliver(t, a.url, okID, sample(t, "success"), secret).body["status"])
	require.Equal(t, "started", deliver(t, a.url, badID, sample(t, "failure"), secret).body["status"])
	odd := []byte(`{"event_type":"media.completed","data":{"job_id":"job-odd-` + oddID + `","status":"PROCESSING"}}`)
	require.Equal(t, "started", deliver(t, a.url, oddID, odd, secret).body["status"])
	_, err := a.result(t, okID)
	require.NoError(t, err)
	_, err = a.result(t, badID)
	require.NoError(t, err)
	_, err = a.result(t, oddID)
	require.Error(t, err, "an unknown status fails the workflow")

	require.Equal(t, 1.0, jobs("completed"))
	require.Equal(t, 1.0, jobs("failed"))
	attempts := func(activity, outcome string) float64 {
		return testutil.ToFloat64(a.worker.ActivityAttempts.WithLabelValues(activity, outcome))
	}
	// Local activities are counted as activities; steps not configured
	// (no MEDIA_DIR, no ALERT_URL) are not run at all.
	require.Equal(t, 2.0, attempts("RecordEvent", "ok"))
	require.Equal(t, 2.0, attempts("TellWatch", "ok"))
	require.Equal(t, 1.0, attempts("Notify", "error"), "the 502")
	require.Equal(t, 1.0, attempts("Notify", "ok"), "the retry")
	deliveries := func(result string) float64 {
		return testutil.ToFloat64(a.worker.Deliveries.WithLabelValues("notify", result))
	}
	require.Equal(t, 1.0, deliveries("failed"), "the 502")
	require.Equal(t, 1.0, deliveries("delivered"))
	require.Zero(t, attempts("DownloadMedia", "ok"))
	require.Zero(t, attempts("Alert", "ok"))
	require.Equal(t, 1.0, sum(t, a.workerReg, "mediaflow_activity_duration_seconds", map[string]string{"activity": "Notify", "outcome": "error"}))
	require.Equal(t, 5.0, sum(t, a.workerReg, "mediaflow_activity_duration_seconds", map[string]string{"outcome": "ok"}))

	// The Temporal SDK's own metrics, through OpenTelemetry, in the same
	// registry. The worker records a workflow's end just after Temporal
	// has it, so wait a little.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 2.0, sum(t, a.workerReg, "temporal_workflow_completed_total", map[string]string{"workflow_type": "MediaCompletedWorkflow"}))
		assert.Equal(c, 1.0, sum(t, a.workerReg, "temporal_workflow_failed_total", map[string]string{"workflow_type": "MediaCompletedWorkflow"}))
	}, 10*time.Second, 100*time.Millisecond)
	// Notify's first attempt is a local activity; its retry, an activity task.
	require.Equal(t, 1.0, sum(t, a.workerReg, "temporal_local_activity_execution_failed_total", map[string]string{"activity_type": "Notify"}),
		"the 502, in the first (local) attempt")
	require.Equal(t, 1.0, sum(t, a.workerReg, "temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "Notify"}),
		"the retry, as an activity task")
	require.Equal(t, 1.0, sum(t, a.workerReg, "temporal_local_activity_execution_latency_seconds", map[string]string{"activity_type": "Notify"}),
		"the first attempt, as a local activity")
	require.Equal(t, 2.0, sum(t, a.workerReg, "temporal_local_activity_execution_latency_seconds", map[string]string{"activity_type": "RecordEvent"}),
		"2 RecordEvent attempts, as local activities")
	require.Positive(t, sum(t, a.serverReg, "temporal_request_total", map[string]string{"operation": "StartWorkflowExecution"}))
	t.Logf("worker temporal_* metrics: %v", names(t, a.workerReg, "temporal_"))
	t.Logf("server temporal_* metrics: %v", names(t, a.serverReg, "temporal_"))
	require.Empty(t, names(t, a.serverReg, "mediaflow_jobs"), "the server has no worker metrics")

	// What Prometheus scrapes.
	resp, err := http.Get(a.metricsURL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	text := string(body)
	for _, line := range []string{
		`mediaflow_jobs_total{status="completed"} 1`,
		`mediaflow_jobs_total{status="failed"} 1`,
		`mediaflow_activity_attempts_total{activity="Notify",outcome="error"} 1`,
		"# TYPE temporal_workflow_completed_total counter",
		"# TYPE temporal_workflow_failed_total counter",
		"# TYPE temporal_local_activity_execution_failed_total counter",
	} {
		require.Contains(t, text, line)
	}
	require.False(t, slices.ContainsFunc(strings.Split(text, "\n"), func(l string) bool {
		return strings.Contains(l, strings.TrimPrefix(secret, "whsec_")[:12])
	}), "the worker's metrics show no secret")
}

// TestDuplicateIsNotARequestFailure: an event delivered twice is started
// once and answered duplicate once. The server's Temporal client counts
// both start calls, and neither as a failed request (Temporal refused the
// second with ALREADY_EXISTS: for mediaflow, a duplicate, handled); the
// duplicate is counted as mediaflow_webhook_requests_total{outcome="duplicate"}.
func TestDuplicateIsNotARequestFailure(t *testing.T) {
	a := newApp(t)
	id := newEventID()
	body := eventFor("job-dup-"+id, "completed", "")
	require.Equal(t, "started", deliver(t, a.url, id, body, secret).body["status"])
	require.Equal(t, "duplicate", deliver(t, a.url, id, body, secret).body["status"])

	start := map[string]string{"operation": "StartWorkflowExecution"}
	require.Equal(t, 2.0, sum(t, a.serverReg, "temporal_request_total", start), "both starts are requests")
	require.Zero(t, sum(t, a.serverReg, "temporal_request_failure_total", start))
	require.Zero(t, sum(t, a.serverReg, "temporal_request_failure_attempt_total", start))
	require.Equal(t, 1.0, sum(t, a.serverReg, "mediaflow_webhook_requests_total", map[string]string{"outcome": "duplicate"}))
}
