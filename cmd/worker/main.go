// Command worker runs mediaflow's Temporal worker: MediaCompletedWorkflow
// and its activities, on the configured task queue. Configuration is read
// from the environment; see README.md.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/logging"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/internal/telemetry"
	"github.com/mediaflow/mediaflow/workflows"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mediaflow worker:", err)
		os.Exit(1)
	}
}

func run() error {
	logger, err := logging.FromEnv(os.Stderr)
	if err != nil {
		return err
	}
	cfg, err := config.LoadWorker()
	if err != nil {
		return err
	}
	topts, err := config.Temporal()
	if err != nil {
		return err
	}
	topts.Logger = tlog.NewStructuredLogger(logger)

	// One registry for GET /metrics on WORKER_METRICS_ADDR: the worker's
	// job and activity metrics and the Temporal SDK's (temporal_*).
	reg, tracing, err := telemetry.Instrument(context.Background(), "mediaflow-worker", logger, &topts)
	if err != nil {
		return err
	}
	// Deferred early, so it runs late: the last spans leave after the
	// client and the worker have stopped.
	defer tracing.Flush(logger)
	metrics := telemetry.NewWorkerMetrics(reg)

	st, err := store.Open(context.Background(), cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer st.Close()

	c, err := client.Dial(topts)
	if err != nil {
		return fmt.Errorf("temporal at %s: %w", topts.HostPort, err)
	}
	defer c.Close()

	if cfg.MetricsAddr != "" {
		l, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics: WORKER_METRICS_ADDR: %w", err)
		}
		srv := telemetry.MetricsServer(cfg.MetricsAddr, reg)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics server", "error", err)
			}
		}()
		defer srv.Close()
	}

	w := worker.New(c, cfg.TaskQueue, worker.Options{
		WorkerStopTimeout: 30 * time.Second,
		// Times and counts every activity attempt, added ones included.
		Interceptors: []interceptor.WorkerInterceptor{metrics.Interceptor()},
	})
	workflows.Register(w, workflows.Workflow{Options: workflows.DefaultOptions()}, &activities.Activities{
		Store:         st,
		HTTP:          activities.NewHTTPClient(),
		MediaDir:      cfg.MediaDir,
		MediaMaxBytes: cfg.MediaMaxBytes,
		NotifyURL:     cfg.NotifyURL,
		AlertURL:      cfg.AlertURL,
		NotifySecret:  cfg.NotifySecret,
		Jobs:          metrics.Jobs,
	})
	logger.Info("worker starting", "temporal", topts.HostPort, "namespace", topts.Namespace, "task_queue", cfg.TaskQueue,
		"media_dir", cfg.MediaDir, "notify", cfg.NotifyURL != "", "alert", cfg.AlertURL != "", "signed", cfg.NotifySecret != "",
		"metrics", cmp.Or(cfg.MetricsAddr, "off"), "tracing", cmp.Or(tracing.Exporter, "off"))
	// Run returns on SIGINT/SIGTERM after running activities finish or
	// time out (worker.Options.WorkerStopTimeout).
	return w.Run(worker.InterruptCh())
}
