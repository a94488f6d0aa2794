// Command server receives Animus webhooks (through Svix), verifies them and
// starts one Temporal workflow per event. Configuration is read from the
// environment; see README.md. The wiring is in internal/app.
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
		fmt.Fprintln(os.Stderr, "mediaflow server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	// Reading ANIMUS_WEBHOOK_SECRET also removes it from the environment.
	cfg, err := config.LoadServer(config.OSEnviron())
	if err != nil {
		return err
	}
	s, err := app.NewServer(ctx, cfg, app.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run(ctx)
}
