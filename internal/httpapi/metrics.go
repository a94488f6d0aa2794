package httpapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's own Prometheus collectors. Labels hold only
// outcomes, never event data or secrets.
type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	startDuration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediaflow_webhook_requests_total",
			Help: "Webhook requests by outcome (started, duplicate, ignored, unauthorized, bad_request, too_large, rate_limited, unavailable).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mediaflow_webhook_request_duration_seconds",
			Help:    "Time to answer a webhook request, in seconds, by outcome.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
		startDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mediaflow_workflow_start_duration_seconds",
			Help:    "Time of one Temporal workflow start call, in seconds, whatever its result.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.startDuration)
	for _, o := range outcomes {
		m.requests.WithLabelValues(o) // export zeros, so rate() works from the start
	}
	return m
}

func (m *metrics) observe(outcome string, d time.Duration) {
	m.requests.WithLabelValues(outcome).Inc()
	m.duration.WithLabelValues(outcome).Observe(d.Seconds())
}
