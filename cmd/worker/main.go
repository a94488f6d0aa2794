// Command worker runs mediaflow's Temporal worker: MediaCompletedWorkflow
// and its activities, on the configured task queue, with the steps users
// add (package steps). Configuration is read from the environment; see
// docs/configuration.md. The wiring is in internal/app.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/steps"
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
	w, err := app.NewWorker(ctx, cfg, app.Options{Steps: steps.Registered})
	if err != nil {
		return err
	}
	defer w.Close()
	return w.Run(ctx)
}
