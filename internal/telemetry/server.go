package telemetry

import (
	"strings"
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
	OutcomeTimeout     = "timeout"
	OutcomeRateLimited = "rate_limited"
	OutcomeUnavailable = "unavailable"
	// OutcomeRejected: Temporal refused the start for a reason retrying
	// will not remove; the event is kept as a dead letter (422).
	OutcomeRejected = "rejected"
)

// WebhookOutcomes lists every outcome, each exported at zero from the start.
var WebhookOutcomes = []string{
	OutcomeStarted,
	OutcomeDuplicate,
	OutcomeIgnored,
	OutcomeUnauth,
	OutcomeBadRequest,
	OutcomeTooLarge,
	OutcomeTimeout,
	OutcomeRateLimited,
	OutcomeUnavailable,
	OutcomeRejected,
}

// Reasons a request is answered 401 (outcome unauthorized): the reason
// label of mediaflow_webhook_unauthorized_total and the reason field of
// the log lines. Unsigned requests carry no complete set of signature
// headers: outside traffic, never a delivery Svix signed with another
// secret, which fails with "signature" (or "timestamp" when a clock is off).
const (
	ReasonUnsigned  = "unsigned"
	ReasonTimestamp = "timestamp"
	ReasonSignature = "signature"
)

// UnauthorizedReasons lists every reason, each exported at zero.
var UnauthorizedReasons = []string{ReasonUnsigned, ReasonTimestamp, ReasonSignature}

// ServerMetrics are the webhook server's own Prometheus collectors. Labels
// hold only outcomes and reasons, never event data or secrets.
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
			Help: "Webhook requests by outcome (" + strings.Join(WebhookOutcomes, ", ") + ").",
		}, []string{"outcome"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mediaflow_webhook_request_duration_seconds",
			Help:    "Time to answer a webhook request, in seconds, by outcome.",
			Buckets: requestBuckets,
		}, []string{"outcome"}),
		Unauthorized: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediaflow_webhook_unauthorized_total",
			Help: "Webhook requests answered 401, by reason (" + strings.Join(UnauthorizedReasons, ", ") + ").",
		}, []string{"reason"}),
		StartDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mediaflow_workflow_start_duration_seconds",
			Help:    "Time of one Temporal workflow start call, in seconds, whatever its result.",
			Buckets: requestBuckets,
		}),
	}
	reg.MustRegister(m.Requests, m.Duration, m.Unauthorized, m.StartDuration)
	for _, o := range WebhookOutcomes {
		m.Requests.WithLabelValues(o)
	}
	for _, r := range UnauthorizedReasons {
		m.Unauthorized.WithLabelValues(r)
	}
	return m
}

// Observe counts one answered webhook request and its duration.
func (m *ServerMetrics) Observe(outcome string, d time.Duration) {
	m.Requests.WithLabelValues(outcome).Inc()
	m.Duration.WithLabelValues(outcome).Observe(d.Seconds())
}
