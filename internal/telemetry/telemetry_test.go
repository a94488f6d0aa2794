package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
