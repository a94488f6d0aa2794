// Package telemetry holds mediaflow's metrics and traces plumbing, shared by
// cmd/server and cmd/worker: the Prometheus registry both serve, the
// Temporal SDK's own metrics exported into it, the worker's job and
// activity metrics, and OpenTelemetry tracing exported over OTLP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set.
//
// Nothing here records event bodies, headers or secrets: metric labels are
// outcomes, statuses and activity names; span attributes are event, job
// and workflow IDs.
package telemetry

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a Prometheus registry with the Go runtime and process
// collectors, for one process's metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// MetricsServer returns an http.Server on addr serving reg's metrics on
// GET /metrics (the worker's metrics endpoint; the server serves its own
// through httpapi).
func MetricsServer(addr string, reg *prometheus.Registry) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
}
