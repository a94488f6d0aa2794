// Command server receives Animus webhooks (through Svix), verifies them and
// starts one Temporal workflow per event. Configuration is read from the
// environment; see README.md.
package main

import (
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

	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/logging"
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
		MaxBodyBytes: cfg.MaxBodyBytes,
		StartTimeout: cfg.StartTimeout,
		Logger:       logger,
	}
	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           api.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Longer than StartTimeout, shorter than Svix's 15 s.
		WriteTimeout:   14 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 64 << 10,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("listening", "addr", cfg.HTTPAddr, "temporal", topts.HostPort, "namespace", topts.Namespace,
		"task_queue", cfg.TaskQueue, "secrets", len(cfg.Secrets))

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
