package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a webhook request: the outcome label of the server's
// metrics and the outcome field of its log lines.
const (
	OutcomeStarted     = "started"
	OutcomeDuplicate   = "duplicate"
	OutcomeIgnored     = "ignored"
	OutcomeUnauth      = "unauthorized"
	OutcomeBadRequest  = "bad_request"
	OutcomeTooLarge    = "too_large"
	OutcomeRateLimited = "rate_limited"
	OutcomeUnavailable = "unavailable"
	// OutcomeRejected: Temporal refused the start for a reason retrying
	// will not remove; the event is kept as a dead letter (422).
	OutcomeRejected = "rejected"
)

// WebhookOutcomes lists every outcome, each exported at zero from the start.
var WebhookOutcomes = []string{OutcomeStarted, OutcomeDuplicate, OutcomeIgnored, OutcomeUnauth,
	OutcomeBadRequest, OutcomeTooLarge, OutcomeRateLimited, OutcomeUnavailable, OutcomeRejected}

// ServerMetrics are the webhook server's own Prometheus collectors. Labels
// hold only outcomes, never event data or secrets.
type ServerMetrics struct {
	// Requests and Duration are mediaflow_webhook_requests_total{outcome}
	// and mediaflow_webhook_request_duration_seconds{outcome}.
	Requests *prometheus.CounterVec
	Duration *prometheus.HistogramVec
	// StartDuration is mediaflow_workflow_start_duration_seconds: one
	// Temporal start call, whatever its result.
	StartDuration prometheus.Histogram
}

// requestBuckets are the buckets, in seconds, of the server's histograms:
// an answer is due within Svix's 15 s.
var requestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewServerMetrics registers the server's collectors on reg, every outcome
// exported at zero so rate() works from the start.
func NewServerMetrics(reg prometheus.Registerer) *ServerMetrics {
	m := &ServerMetrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediaflow_webhook_requests_total",
			Help: "Webhook requests by outcome (started, duplicate, ignored, unauthorized, bad_request, too_large, rate_limited, unavailable, rejected).",
		}, []string{"outcome"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mediaflow_webhook_request_duration_seconds",
			Help:    "Time to answer a webhook request, in seconds, by outcome.",
			Buckets: requestBuckets,
		}, []string{"outcome"}),
		StartDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mediaflow_workflow_start_duration_seconds",
			Help:    "Time of one Temporal workflow start call, in seconds, whatever its result.",
			Buckets: requestBuckets,
		}),
	}
	reg.MustRegister(m.Requests, m.Duration, m.StartDuration)
	for _, o := range WebhookOutcomes {
		m.Requests.WithLabelValues(o)
	}
	return m
}

// Observe counts one answered webhook request and its duration.
func (m *ServerMetrics) Observe(outcome string, d time.Duration) {
	m.Requests.WithLabelValues(outcome).Inc()
	m.Duration.WithLabelValues(outcome).Observe(d.Seconds())
}
