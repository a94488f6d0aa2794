// Command server receives Animus webhooks (through Svix), verifies them and
// starts one Temporal workflow per event. Configuration is read from the
// environment; see README.md.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"golang.org/x/time/rate"

	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/logging"
	"github.com/mediaflow/mediaflow/internal/telemetry"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mediaflow server:", err)
		os.Exit(1)
	}
}

func run() error {
	logger, err := logging.FromEnv(os.Stderr)
	if err != nil {
		return err
	}
	cfg, err := config.LoadServer()
	if err != nil {
		return err
	}
	verifier, err := webhook.NewVerifier(cfg.Secrets)
	if err != nil {
		return fmt.Errorf("config: ANIMUS_WEBHOOK_SECRET: %w", err)
	}
	topts, err := config.Temporal()
	if err != nil {
		return err
	}
	topts.Logger = tlog.NewStructuredLogger(logger)

	// One registry for /metrics: the server's own metrics and the Temporal
	// client's (temporal_request*).
	reg, tracing, err := telemetry.Instrument(context.Background(), "mediaflow-server", logger, &topts)
	if err != nil {
		return err
	}
	// Deferred early, so it runs late: the last spans leave after the
	// client has stopped.
	defer tracing.Flush(logger)

	// Lazy: the server starts, and answers 503, while Temporal is down.
	c, err := client.NewLazyClient(topts)
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	defer c.Close()

	api := &httpapi.Server{
		Verifier: verifier,
		Starter:  httpapi.TemporalStarter{Client: c, TaskQueue: cfg.TaskQueue},
		Ready: func(ctx context.Context) error {
			_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
		MaxBodyBytes:      cfg.MaxBodyBytes,
		StartTimeout:      cfg.StartTimeout,
		MaxInflightStarts: cfg.MaxInflightStarts,
		TrustedProxies:    cfg.TrustedProxies,
		Logger:            logger,
		Registry:          reg,
		TracerProvider:    tracing.Provider,
	}
	if cfg.RateLimitRPS > 0 {
		api.Limiter = rate.NewLimiter(rate.Limit(cfg.RateLimitRPS), cfg.RateLimitBurst)
	}
	srv := httpapi.HTTPServer(cfg.HTTPAddr, api.Handler())
	if cfg.DebugAddr != "" {
		debug := &http.Server{Addr: cfg.DebugAddr, Handler: httpapi.ProfilerHandler(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := debug.ListenAndServe(); err != nil {
				logger.Error("profiler", "addr", cfg.DebugAddr, "error", err)
			}
		}()
		defer debug.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCertFile != "" {
			errc <- srv.ListenAndServeTLS(cfg.TLSCertFile, cfg.TLSKeyFile)
			return
		}
		errc <- srv.ListenAndServe()
	}()
	logger.Info("listening", "addr", cfg.HTTPAddr, "tls", cfg.TLSCertFile != "", "temporal", topts.HostPort,
		"namespace", topts.Namespace, "task_queue", cfg.TaskQueue, "secrets", len(cfg.Secrets),
		"rate_limit_rps", cfg.RateLimitRPS, "max_inflight_starts", cfg.MaxInflightStarts,
		"tracing", cmp.Or(tracing.Exporter, "off"))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	// A fresh context: the signal's one is already done.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
