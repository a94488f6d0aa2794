// Package app builds mediaflow's two programs from their configuration:
// the webhook server (Server) and the Temporal worker (Worker), each with
// New, Run and Close. cmd/server and cmd/worker call it with the
// process's environment; the e2e tests call it with an environment of
// their own, so the tests run what ships.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"gocloud.dev/blob"

	"github.com/mediaflow/mediaflow/internal/blobstore"
	"github.com/mediaflow/mediaflow/internal/claimcheck"
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
	// Steps are the steps users add to MediaCompletedWorkflow (worker
	// only; package steps lists them for the binary), each built from the
	// worker's environment.
	Steps []StepFunc
}

// StepFunc builds a user's step from the worker's environment (reading
// its own settings with config.Parse); a step not configured there comes
// back with Off saying why.
type StepFunc func(env config.Environ) (workflows.Step, error)

// instrumented is what every program starts from: a logger, Temporal
// client options with the SDK's metrics and tracing and the claim check
// codec, the registry those metrics go into, tracing to flush on Close,
// and the blob store to close then.
type instrumented struct {
	logger   *slog.Logger
	temporal client.Options
	registry *prometheus.Registry
	tracing  *telemetry.Tracing
	bucket   *blob.Bucket
	codec    *claimcheck.Codec
}

// close releases the blob store and flushes the tracing exporter, last so
// the last spans leave. A zero instrumented (a failed instrument) has
// nothing to release.
func (in instrumented) close() {
	if in.bucket != nil {
		in.bucket.Close()
	}
	in.tracing.Flush(in.logger)
}

func instrument(ctx context.Context, service string, shared config.Shared, opts Options) (instrumented, error) {
	logger := opts.Logger
	if logger == nil {
		logger = logging.New(os.Stderr, shared.Log)
	}
	topts := temporalOptions(shared, logger)
	reg, tracing, err := telemetry.Instrument(ctx, service, logger, &topts, opts.TracerProvider)
	if err != nil {
		return instrumented{}, err
	}
	// Every client of the namespace (server, worker, mediaflowctl) must
	// read and write payloads the same way: here, once.
	bucket, err := blobstore.Open(ctx, shared.BlobURL)
	if err != nil {
		tracing.Flush(logger)
		return instrumented{}, fmt.Errorf("config: BLOB_URL: %w", err)
	}
	codec := claimcheck.New(bucket, shared.BlobThresholdBytes)
	topts.DataConverter = claimcheck.DataConverter(codec)
	return instrumented{logger: logger, temporal: topts, registry: reg, tracing: tracing, bucket: bucket, codec: codec}, nil
}

// temporalOptions are the Temporal client options of shared, logging to
// logger, with its gRPC compression.
func temporalOptions(shared config.Shared, logger *slog.Logger) client.Options {
	topts := shared.Temporal
	topts.Logger = logging.Temporal(logger)
	if shared.GRPCCompression == config.CompressionNone {
		topts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	return topts
}

// sideListener is an HTTP server on a listener of its own beside the
// webhooks' (the metrics, the profiler, the codec endpoint); nil when its
// address is empty (off).
type sideListener struct {
	what string
	srv  *http.Server
	l    net.Listener
}

// listenSide listens on addr (none when it is "") for srv; the error names
// setting, the variable that gave addr.
func listenSide(what, setting, addr string, srv *http.Server) (*sideListener, error) {
	if addr == "" {
		return nil, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	return &sideListener{what: what, srv: srv, l: l}, nil
}

// sideServer is an *http.Server for h with the header timeout every
// listener of ours has.
func sideServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
}

// serve serves in the background until close, logging a failure.
func (x *sideListener) serve(logger *slog.Logger) {
	if x == nil {
		return
	}
	go func() {
		if err := x.srv.Serve(x.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error(x.what, "error", err)
		}
	}()
}

// addr is the address listened on (its port resolved), "" when off.
func (x *sideListener) addr() string {
	if x == nil {
		return ""
	}
	return x.l.Addr().String()
}

func (x *sideListener) close() {
	if x != nil {
		x.srv.Close()
		x.l.Close()
	}
}
