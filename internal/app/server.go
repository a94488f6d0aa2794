package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"golang.org/x/time/rate"

	"github.com/mediaflow/mediaflow/internal/claimcheck"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/deadletter"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/ingest"
)

// shutdownTimeout bounds how long a stopping server finishes the requests
// in flight.
const shutdownTimeout = 20 * time.Second

// startCheckTimeout bounds the search attribute check made at start: a
// Temporal that does not answer by then is /readyz's to report.
const startCheckTimeout = 30 * time.Second

// Server is the webhook server: the HTTP routes of package httpapi on
// HTTP_ADDR, starting workflows through a Temporal client.
type Server struct {
	// Registry holds the server's metrics, served on GET /metrics.
	Registry *prometheus.Registry
	// Client is the server's Temporal client.
	Client client.Client

	cfg      config.Server
	in       instrumented
	attrs    *searchAttrs
	http     *http.Server
	listener net.Listener
	debug    *sideListener
	codec    *sideListener
}

// NewServer builds the server from cfg and listens on cfg.HTTPAddr (and
// cfg.DebugAddr and cfg.CodecAddr when set); Run serves. The Temporal client is lazy: the
// server starts, and answers 503, while Temporal is down. It fails when
// the telemetry settings are malformed or an address cannot be listened on.
func NewServer(ctx context.Context, cfg config.Server, opts Options) (_ *Server, err error) {
	in, err := instrument(ctx, "mediaflow-server", cfg.Shared, opts)
	if err != nil {
		return nil, err
	}
	s := &Server{Registry: in.registry, cfg: cfg, in: in}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.Client, err = client.NewLazyClient(in.temporal); err != nil {
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	s.attrs = &searchAttrs{client: s.Client, namespace: in.temporal.Namespace, logger: in.logger}
	api, err := httpapi.New(httpapi.Options{
		Verifier:          cfg.Verifier,
		Starter:           ingest.TemporalStarter{Client: s.Client, TaskQueue: cfg.TaskQueue},
		Ready:             s.attrs.ready,
		MaxBodyBytes:      cfg.MaxBodyBytes,
		StartTimeout:      cfg.StartTimeout,
		MaxInflightStarts: cfg.MaxInflightStarts,
		Limiter:           limiter(cfg),
		TrustedProxies:    cfg.TrustedProxies,
		Logger:            in.logger,
		Registry:          in.registry,
		TracerProvider:    in.tracing.Provider,
		DeadLetters:       deadletter.Store{Bucket: in.bucket},
	})
	if err != nil {
		return nil, err
	}
	s.http = httpapi.HTTPServer(cfg.HTTPAddr, api, in.logger)
	if s.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("HTTP_ADDR: %w", err)
	}
	if s.debug, err = listenSide("profiler", "DEBUG_ADDR", cfg.DebugAddr, sideServer(httpapi.ProfilerHandler())); err != nil {
		return nil, err
	}
	codec := sideServer(claimcheck.Handler(in.codec, cfg.CodecOrigins, in.logger))
	if s.codec, err = listenSide("codec endpoint", "CODEC_ADDR", cfg.CodecAddr, codec); err != nil {
		return nil, err
	}
	return s, nil
}

func limiter(cfg config.Server) *rate.Limiter {
	if cfg.RateLimitRPS <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(cfg.RateLimitRPS), cfg.RateLimitBurst)
}

// Addr is the address the server listens on (HTTP_ADDR with its port
// resolved).
func (s *Server) Addr() string { return s.listener.Addr().String() }

// CodecAddr is the address of the codec endpoint (CODEC_ADDR with its
// port resolved), "" when off.
func (s *Server) CodecAddr() string { return s.codec.addr() }

// Run serves until ctx is done, then stops taking requests and finishes
// those in flight (at most 20 s). It returns the listener's error, if any.
func (s *Server) Run(ctx context.Context) error {
	s.debug.serve(s.in.logger)
	s.codec.serve(s.in.logger)
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCertFile != "" {
			errc <- s.http.ServeTLS(s.listener, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
			return
		}
		errc <- s.http.Serve(s.listener)
	}()
	t := s.in.temporal
	s.in.logger.Info("listening", "addr", s.Addr(), "tls", s.cfg.TLSCertFile != "", "temporal", t.HostPort,
		"namespace", t.Namespace, "grpc_compression", s.cfg.GRPCCompression, "task_queue", s.cfg.TaskQueue, "secrets", len(s.cfg.Secrets),
		"rate_limit_rps", s.cfg.RateLimitRPS, "max_inflight_starts", s.cfg.MaxInflightStarts,
		"tracing", cmp.Or(s.in.tracing.Exporter, "off"), "blob_threshold_bytes", s.cfg.BlobThresholdBytes,
		"codec", cmp.Or(s.CodecAddr(), "off"))
	// What the namespace lacks is said at start, once Temporal answers;
	// GET /readyz says it until it is fixed.
	checkCtx, stopCheck := context.WithTimeout(ctx, startCheckTimeout)
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		s.attrs.logAtStart(checkCtx)
	}()
	defer func() {
		stopCheck()
		<-checked
	}()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.in.logger.Info("shutting down: finishing requests in flight")
	// A fresh context: ctx is already done.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// Close releases what NewServer opened: listeners, the Temporal client,
// the blob store, and the tracing exporter, flushed last so the last
// spans leave.
func (s *Server) Close() {
	s.codec.close()
	s.debug.close()
	if s.listener != nil {
		s.listener.Close()
	}
	if s.Client != nil {
		s.Client.Close()
	}
	s.in.close()
}
