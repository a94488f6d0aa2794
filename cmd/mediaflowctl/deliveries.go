package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/mediaflow/mediaflow/internal/app"
)

func parseDeliveries(fs *flag.FlagSet, args []string) (action, error) {
	reason := fs.String("reason", "", "why, as Temporal records it with the change")
	if len(args) == 0 {
		return nil, usageError("deliveries: pause, resume or status")
	}
	sub := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, usageError("deliveries %s: unexpected argument %q", sub, fs.Arg(0))
	case sub == "status" && *reason != "":
		return nil, usageError("deliveries status takes no -reason")
	}
	if sub == "status" {
		return status, nil
	}
	change, ok := map[string]func(*app.Control, context.Context, string) error{
		"pause":  (*app.Control).PauseDeliveries,
		"resume": (*app.Control).ResumeDeliveries,
	}[sub]
	if !ok {
		return nil, usageError("deliveries: pause, resume or status, not %q", sub)
	}
	return func(ctx context.Context, c *app.Control, stdout io.Writer) error {
		if err := change(c, ctx, *reason); err != nil {
			return err
		}
		return status(ctx, c, stdout)
	}, nil
}

// status prints the delivery task queue's state.
func status(ctx context.Context, c *app.Control, stdout io.Writer) error {
	d, err := c.DeliveryStatus(ctx)
	if err != nil {
		return err
	}
	state := "delivering"
	if d.Paused {
		state = "PAUSED"
	}
	fmt.Fprintf(stdout, "Deliveries:   %s (task queue %s)\n", state, d.TaskQueue)
	if d.Reason != "" {
		fmt.Fprintf(stdout, "Last change:  %q by %s at %s\n", d.Reason, d.By, d.Since.UTC().Format(time.RFC3339))
	}
	switch d.RateSource {
	case enumspb.RATE_LIMIT_SOURCE_API:
		fmt.Fprintf(stdout, "Rate limit:   %g/s, set through Temporal's API\n", d.RateLimit)
	case enumspb.RATE_LIMIT_SOURCE_WORKER:
		fmt.Fprintf(stdout, "Rate limit:   %g/s, the workers' (40%% of NOTIFY_MAX_PER_SECOND)\n", d.RateLimit)
	default:
		fmt.Fprintf(stdout, "Rate limit:   none from the workers (NOTIFY_MAX_PER_SECOND=off, or no worker polls)\n")
	}
	fmt.Fprintf(stdout, "Waiting:      %d notices and alerts, the oldest for %s (Temporal's estimate, a few seconds behind)\n",
		d.Backlog, d.BacklogAge.Round(time.Second))
	fmt.Fprintf(stdout, "Workers:      %d polling\n", d.Pollers)
	if d.Paused || d.RateSource == enumspb.RATE_LIMIT_SOURCE_SYSTEM {
		fmt.Fprintln(stdout, "Note:         workers with NOTIFY_MAX_PER_SECOND=off send each notice's first attempt from the workflow;\n"+
			"              a pause holds only their retries.")
	}
	if d.Paused {
		fmt.Fprintln(stdout, "A notice still fails when its DELIVERY_RETRY_WINDOW runs out while it waits: resume before.")
	}
	return nil
}
