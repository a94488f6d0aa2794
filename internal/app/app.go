// Package app builds mediaflow's two programs from their configuration:
// the webhook server (Server) and the Temporal worker (Worker), each with
// New, Run and Close. cmd/server and cmd/worker call it with the
// process's environment; the e2e tests call it with an environment of
// their own, so the tests run what ships.
package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/logging"
	"github.com/mediaflow/mediaflow/internal/telemetry"
	"github.com/mediaflow/mediaflow/workflows"
)

// Options are what a program takes from elsewhere than its configuration;
// the zero value is what the binaries use.
type Options struct {
	// Logger replaces the logger built from LOG_FORMAT and LOG_LEVEL
	// (writing to stderr).
	Logger *slog.Logger
	// TracerProvider replaces the tracing set up from OTEL_* variables.
	TracerProvider trace.TracerProvider
	// Workflow replaces workflows.DefaultOptions() (worker only): tests
	// shorten timeouts and retry intervals with it.
	Workflow *workflows.Options
}

// instrumented is what both programs start from: a logger, Temporal
// client options with the SDK's metrics and tracing, the registry those
// metrics go into, and tracing to flush on Close.
type instrumented struct {
	logger   *slog.Logger
	temporal client.Options
	registry *prometheus.Registry
	tracing  *telemetry.Tracing
}

func instrument(ctx context.Context, service string, shared config.Shared, opts Options) (instrumented, error) {
	logger := opts.Logger
	if logger == nil {
		var err error
		if logger, err = logging.New(os.Stderr, shared.LogFormat, shared.LogLevel); err != nil {
			return instrumented{}, err
		}
	}
	topts := temporalOptions(shared, logger)
	reg, tracing, err := telemetry.Instrument(ctx, service, logger, &topts, opts.TracerProvider)
	if err != nil {
		return instrumented{}, err
	}
	return instrumented{logger: logger, temporal: topts, registry: reg, tracing: tracing}, nil
}

// temporalOptions are the Temporal client options of shared, logging to
// logger, with its gRPC compression.
func temporalOptions(shared config.Shared, logger *slog.Logger) client.Options {
	topts := shared.Temporal
	topts.Logger = tlog.NewStructuredLogger(logger)
	if shared.GRPCCompression == config.CompressionNone {
		topts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	return topts
}

// serve runs srv on l until it is shut down, logging a failure.
func serve(logger *slog.Logger, what string, srv *http.Server, l net.Listener) {
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error(what, "error", err)
	}
}
