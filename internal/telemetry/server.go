package telemetry

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediaflow/mediaflow/internal/ingest"
)

// ServerMetrics are the webhook server's own Prometheus collectors. Labels
// hold only outcomes and reasons (package ingest names them), never event
// data or secrets.
type ServerMetrics struct {
	// Requests and Duration are mediaflow_webhook_requests_total{outcome}
	// and mediaflow_webhook_request_duration_seconds{outcome}.
	Requests *prometheus.CounterVec
	Duration *prometheus.HistogramVec
	// Unauthorized is mediaflow_webhook_unauthorized_total{reason}: the
	// requests of outcome unauthorized, by reason.
	Unauthorized *prometheus.CounterVec
	// StartDuration is mediaflow_workflow_start_duration_seconds: one
	// Temporal start call, whatever its result.
	StartDuration prometheus.Histogram
}

// requestBuckets are the buckets, in seconds, of the server's histograms:
// an answer is due within Svix's 15 s.
var requestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewServerMetrics registers the server's collectors on reg, every outcome
// and reason exported at zero so rate() works from the start.
func NewServerMetrics(reg prometheus.Registerer) *ServerMetrics {
	m := &ServerMetrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediaflow_webhook_requests_total",
			Help: "Webhook requests by outcome (" + joined(ingest.Outcomes) + ").",
		}, []string{"outcome"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mediaflow_webhook_request_duration_seconds",
			Help:    "Time to answer a webhook request, in seconds, by outcome.",
			Buckets: requestBuckets,
		}, []string{"outcome"}),
		Unauthorized: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediaflow_webhook_unauthorized_total",
			Help: "Webhook requests answered 401, by reason (" + joined(ingest.Reasons) + ").",
		}, []string{"reason"}),
		StartDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mediaflow_workflow_start_duration_seconds",
			Help:    "Time of one Temporal workflow start call, in seconds, whatever its result.",
			Buckets: requestBuckets,
		}),
	}
	reg.MustRegister(m.Requests, m.Duration, m.Unauthorized, m.StartDuration)
	for _, o := range ingest.Outcomes {
		m.Requests.WithLabelValues(string(o))
	}
	for _, r := range ingest.Reasons {
		m.Unauthorized.WithLabelValues(string(r))
	}
	return m
}

// Observe counts one answered webhook request and its duration.
func (m *ServerMetrics) Observe(outcome ingest.Outcome, d time.Duration) {
	m.Requests.WithLabelValues(string(outcome)).Inc()
	m.Duration.WithLabelValues(string(outcome)).Observe(d.Seconds())
}

// joined lists names, comma-separated, for a metric's help.
func joined[T ~string](names []T) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}
