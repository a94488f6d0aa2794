package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// DurationBuckets are the histogram buckets, in seconds, of every duration
// metric: from a millisecond to an hour (a download may take that long).
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}

// TemporalMetrics returns a client.MetricsHandler (for
// client.Options.MetricsHandler) that exports the Temporal SDK's own
// metrics into reg, through an OpenTelemetry MeterProvider and its
// Prometheus exporter. Counters are monotonic, so they are Prometheus
// counters with a _total suffix (temporal_workflow_completed_total, …);
// timers are histograms in seconds (temporal_activity_execution_latency_seconds,
// …). An error of the meter is logged, not a panic (the SDK's default).
// A start refused because the workflow ID exists, a duplicate delivery to
// mediaflow, is not counted as a failed request (see duplicateStarts).
func TemporalMetrics(reg prometheus.Registerer, logger *slog.Logger) (client.MetricsHandler, error) {
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		// The job and instance labels of the scrape say which process it is.
		otelprom.WithoutTargetInfo(),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal metrics: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exporter),
		// OpenTelemetry's default buckets are for milliseconds; the SDK's
		// timers are in seconds.
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: DurationBuckets}},
		)),
	)
	if logger == nil {
		logger = slog.Default()
	}
	return duplicateStarts{MetricsHandler: temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError:              func(err error) { logger.Warn("temporal metrics", "error", err) },
	}), tagged: &taggedHandlers{m: map[string]client.MetricsHandler{}, limit: maxTagged}, instruments: &sync.Map{}}, nil
}

// TemporalTracing returns the Temporal SDK's OpenTelemetry tracing
// interceptor on tp, for client.Options.Interceptors of both the server's
// and the worker's client (a client interceptor that is also a worker
// interceptor applies to the workers built on that client). The span
// context travels in the workflow's and activities' headers, so the spans
// StartWorkflow, RunWorkflow, StartActivity and RunActivity continue the
// trace of the HTTP request that started the workflow.
func TemporalTracing(tp trace.TracerProvider) (interceptor.Interceptor, error) {
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer: tp.Tracer("go.temporal.io/sdk"),
		// The SDK's default propagator: W3C trace context and baggage.
		TextMapPropagator: temporalotel.DefaultTextMapPropagator,
	})
}

// Instrument sets up a program's telemetry around its Temporal client
// options: a new registry (NewRegistry) that the SDK's metrics go into
// (opts.MetricsHandler), and tracing, with the SDK's tracing interceptor
// added to opts.Interceptors when it is on. Tracing uses tp when it is not
// nil (tests), else the environment (TracingFromEnv). The caller serves
// the registry and defers Tracing.Flush. It fails when an OTEL_* variable
// is malformed.
func Instrument(ctx context.Context, service string, logger *slog.Logger, opts *client.Options, tp trace.TracerProvider) (*prometheus.Registry, *Tracing, error) {
	reg := NewRegistry()
	mh, err := TemporalMetrics(reg, logger)
	if err != nil {
		return nil, nil, err
	}
	opts.MetricsHandler = mh
	tracing := &Tracing{Provider: tp, Exporter: "given"}
	if tp == nil {
		if tracing, err = TracingFromEnv(ctx, service); err != nil {
			return nil, nil, err
		}
	}
	if tracing.Enabled() {
		ti, err := TemporalTracing(tracing.Provider)
		if err != nil {
			return nil, nil, err
		}
		opts.Interceptors = append(opts.Interceptors, ti)
	}
	return reg, tracing, nil
}
