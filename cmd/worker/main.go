// Command worker runs mediaflow's Temporal worker: MediaCompletedWorkflow
// and its activities, on the configured task queue. Configuration is read
// from the environment; see README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/logging"
	"github.com/mediaflow/mediaflow/internal/store"
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

	w := worker.New(c, cfg.TaskQueue, worker.Options{WorkerStopTimeout: 30 * time.Second})
	workflows.Register(w, workflows.Workflow{Options: workflows.DefaultOptions()}, &activities.Activities{
		Store:         st,
		HTTP:          activities.NewHTTPClient(),
		MediaDir:      cfg.MediaDir,
		MediaMaxBytes: cfg.MediaMaxBytes,
		NotifyURL:     cfg.NotifyURL,
		AlertURL:      cfg.AlertURL,
		NotifySecret:  cfg.NotifySecret,
	})
	logger.Info("worker starting", "temporal", topts.HostPort, "namespace", topts.Namespace, "task_queue", cfg.TaskQueue,
		"media_dir", cfg.MediaDir, "notify", cfg.NotifyURL != "", "alert", cfg.AlertURL != "", "signed", cfg.NotifySecret != "")
	// Run returns on SIGINT/SIGTERM after running activities finish or
	// time out (worker.Options.WorkerStopTimeout).
	return w.Run(worker.InterruptCh())
}
