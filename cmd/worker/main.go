// Command worker runs mediaflow's Temporal worker: MediaCompletedWorkflow
// and its activities, on the configured task queue. Configuration is read
// from the environment; see README.md. The wiring is in internal/app.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "mediaflow worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.LoadWorker(config.OSEnviron())
	if err != nil {
		return err
	}
	w, err := app.NewWorker(ctx, cfg, app.Options{})
	if err != nil {
		return err
	}
	defer w.Close()
	return w.Run(ctx)
}
