package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestTracingOffWithoutEndpoint(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tr, err := TracingFromEnv(context.Background(), "mediaflow-test")
	require.NoError(t, err)
	require.False(t, tr.Enabled())
	require.Nil(t, tr.Provider)
	require.NoError(t, tr.Shutdown(context.Background()))
}

func TestTracingBadProtocol(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
	_, err := TracingFromEnv(context.Background(), "mediaflow-test")
	require.ErrorContains(t, err, "OTEL_EXPORTER_OTLP_PROTOCOL")
}

// TestTracingExportsOverOTLPOnShutdown: with OTEL_EXPORTER_OTLP_ENDPOINT
// set, spans go to the collector over OTLP/HTTP, and Shutdown flushes the
// batch; the service name is OTEL_SERVICE_NAME's.
func TestTracingExportsOverOTLPOnShutdown(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var bodies []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths, bodies = append(paths, r.URL.Path), append(bodies, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	t.Setenv("OTEL_SERVICE_NAME", "mediaflow-renamed")

	tr, err := TracingFromEnv(context.Background(), "mediaflow-test")
	require.NoError(t, err)
	require.True(t, tr.Enabled())
	require.Equal(t, "http/protobuf", tr.Exporter)
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "a-span")
	span.End()
	require.NoError(t, tr.Shutdown(context.Background()))

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"/v1/traces"}, paths)
	require.Contains(t, bodies[0], "a-span")
	require.Contains(t, bodies[0], "mediaflow-renamed")
	require.NotContains(t, bodies[0], "mediaflow-test", "OTEL_SERVICE_NAME wins")
}

func TestTemporalMetricsAreCountersInSeconds(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := TemporalMetrics(reg, nil)
	require.NoError(t, err)
	h.WithTags(map[string]string{"workflow_type": "W"}).Counter("temporal_workflow_completed").Inc(1)
	h.Timer("temporal_activity_execution_latency").Record(1500 * time.Millisecond)
	families, err := reg.Gather()
	require.NoError(t, err)
	types := map[string]string{}
	for _, mf := range families {
		types[mf.GetName()] = mf.GetType().String()
	}
	require.Equal(t, "COUNTER", types["temporal_workflow_completed_total"], "got %v", types)
	require.Equal(t, "HISTOGRAM", types["temporal_activity_execution_latency_seconds"], "got %v", types)
	for name := range types {
		require.False(t, strings.HasPrefix(name, "target_info"), "no target_info")
	}
}

// counterSum adds up the counters named name in reg whose labels include
// want.
func counterSum(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
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
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// TestDuplicateStartsAreNotFailures drives the handler as the SDK's gRPC
// metrics interceptor does (tags operation and namespace, counts the
// request, then, on an error, adds status_code and counts the failure,
// once per call and once per attempt): a start refused with
// ALREADY_EXISTS counts as a request and not as a failure; any other
// failure, of a start or of another call, counts. e2e's
// TestDuplicateIsNotARequestFailure checks the same against a real
// Temporal.
func TestDuplicateStartsAreNotFailures(t *testing.T) {
	for _, tc := range []struct {
		operation, code string
		failures        float64
	}{
		{"StartWorkflowExecution", "ALREADY_EXISTS", 0},
		{"StartWorkflowExecution", "UNAVAILABLE", 1},
		{"StartWorkflowExecution", "INVALID_ARGUMENT", 1},
		{"SignalWithStartWorkflowExecution", "ALREADY_EXISTS", 1},
		{"CreateSchedule", "ALREADY_EXISTS", 1},
	} {
		t.Run(tc.operation+" "+tc.code, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			h, err := TemporalMetrics(reg, nil)
			require.NoError(t, err)
			for _, suffix := range []string{"", "_attempt"} {
				call := h.WithTags(map[string]string{"operation": tc.operation, "namespace": "default"})
				call.Counter("temporal_request" + suffix).Inc(1)
				call.Timer("temporal_request_latency" + suffix).Record(time.Millisecond)
				call.WithTags(map[string]string{"status_code": tc.code}).Counter("temporal_request_failure" + suffix).Inc(1)
			}
			op := map[string]string{"operation": tc.operation}
			require.Equal(t, 1.0, counterSum(t, reg, "temporal_request_total", op))
			require.Equal(t, 1.0, counterSum(t, reg, "temporal_request_attempt_total", op))
			require.Equal(t, tc.failures, counterSum(t, reg, "temporal_request_failure_total", op))
			require.Equal(t, tc.failures, counterSum(t, reg, "temporal_request_failure_attempt_total", op))
		})
	}
}

// TestTaggedHandlersCountEachTagSetApart checks the memoized WithTags: the
// same tags give the same series however often they are set, other tags
// (or the same on another parent) another series, and past the limit of
// tag sets kept the handlers are still right, only not kept.
func TestTaggedHandlersCountEachTagSetApart(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := TemporalMetrics(reg, nil)
	require.NoError(t, err)
	for range 3 {
		h.WithTags(map[string]string{"task_queue": "a", "namespace": "default"}).Counter("temporal_x").Inc(1)
		h.WithTags(map[string]string{"task_queue": "b", "namespace": "default"}).Counter("temporal_x").Inc(1)
		h.WithTags(map[string]string{"namespace": "default"}).WithTags(map[string]string{"task_queue": "b"}).
			WithTags(map[string]string{"status_code": "1:2"}).Counter("temporal_x").Inc(1)
		// The same tags on another parent.
		h.WithTags(map[string]string{"namespace": "other"}).WithTags(map[string]string{"task_queue": "b"}).
			WithTags(map[string]string{"status_code": "1:2"}).Counter("temporal_x").Inc(1)
		// A value that holds what would be the separator of another key.
		h.WithTags(map[string]string{"task_queue": "b", "namespace": "default|1:x"}).Counter("temporal_x").Inc(1)
	}
	require.Equal(t, 3.0, counterSum(t, reg, "temporal_x_total", map[string]string{"task_queue": "a"}))
	require.Equal(t, 3.0, counterSum(t, reg, "temporal_x_total", map[string]string{"task_queue": "b", "namespace": "default", "status_code": ""}))
	require.Equal(t, 3.0, counterSum(t, reg, "temporal_x_total", map[string]string{"status_code": "1:2", "namespace": "default"}))
	require.Equal(t, 3.0, counterSum(t, reg, "temporal_x_total", map[string]string{"status_code": "1:2", "namespace": "other"}))
	require.Equal(t, 3.0, counterSum(t, reg, "temporal_x_total", map[string]string{"namespace": "default|1:x"}))

	h.(duplicateStarts).tagged.limit = 5
	for i := range 10 {
		h.WithTags(map[string]string{"workflow_type": strconv.Itoa(i)}).Counter("temporal_y").Inc(1)
	}
	h.WithTags(map[string]string{"workflow_type": "8"}).Counter("temporal_y").Inc(1)
	require.Equal(t, 2.0, counterSum(t, reg, "temporal_y_total", map[string]string{"workflow_type": "8"}))
	require.Equal(t, 11.0, counterSum(t, reg, "temporal_y_total", nil))
}

// BenchmarkTemporalMetricsWithTags is what the SDK does on each task:
// tag the handler, count. "kept" is TemporalMetrics' handler, "built" the
// same without kept handlers (OpenTelemetry's own WithTags every time).
func BenchmarkTemporalMetricsWithTags(b *testing.B) {
	tags := map[string]string{"namespace": "default", "task_queue": "animus-media", "workflow_type": "MediaCompletedWorkflow"}
	for _, name := range []string{"kept", "built"} {
		b.Run(name, func(b *testing.B) {
			h, err := TemporalMetrics(prometheus.NewRegistry(), nil)
			require.NoError(b, err)
			if name == "built" {
				d := h.(duplicateStarts)
				d.tagged = nil
				h = d
			}
			b.ReportAllocs()
			for b.Loop() {
				h.WithTags(tags).WithTags(map[string]string{"operation": "RespondWorkflowTaskCompleted"}).Counter("temporal_request").Inc(1)
			}
		})
	}
}
