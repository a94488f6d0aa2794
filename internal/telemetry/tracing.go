package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is the process's tracer provider and what flushes it.
type Tracing struct {
	// Provider is nil when tracing is off: callers then install no
	// tracing middleware or interceptor at all.
	Provider trace.TracerProvider
	// Exporter names the OTLP protocol in use ("http/protobuf" or "grpc"),
	// empty when tracing is off. For a log line; the endpoint is not kept
	// (its URL or headers may carry credentials).
	Exporter string

	shutdown func(context.Context) error
}

// Enabled reports whether spans are exported.
func (t *Tracing) Enabled() bool { return t != nil && t.Provider != nil }

// Shutdown flushes the spans not yet exported and stops the exporter. Call
// it once, on exit, with a context that bounds the wait.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// Flush exports the spans still buffered, waiting at most 5 s, and logs a
// failure. The mains defer it so the last spans leave with the process.
func (t *Tracing) Flush(logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		logger.Warn("flushing traces", "error", err)
	}
}

// TracingFromEnv sets up tracing from OpenTelemetry's standard environment
// variables. Only when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set are spans exported, over OTLP:
// HTTP/protobuf by default, gRPC when OTEL_EXPORTER_OTLP_PROTOCOL (or
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) is "grpc". The exporters read the
// other OTEL_EXPORTER_OTLP_* variables themselves (headers, TLS,
// timeout), the SDK reads OTEL_TRACES_SAMPLER. The service name is
// OTEL_SERVICE_NAME, else service; OTEL_RESOURCE_ATTRIBUTES adds to the
// resource. The provider and the W3C propagator are also made the
// OpenTelemetry globals, for libraries that use them.
func TracingFromEnv(ctx context.Context, service string) (*Tracing, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return &Tracing{}, nil
	}
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exporter sdktrace.SpanExporter
	var err error
	switch strings.ToLower(protocol) {
	case "", "http/protobuf":
		protocol = "http/protobuf"
		exporter, err = otlptracehttp.New(ctx)
	case "grpc":
		exporter, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf(`config: environment variable "OTEL_EXPORTER_OTLP_PROTOCOL" must be http/protobuf or grpc`)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator())
	return &Tracing{Provider: tp, Exporter: protocol, shutdown: tp.Shutdown}, nil
}

// Propagator is the W3C trace context and baggage propagator.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}
