// Command mediaflowctl is the operator's tool for the events that Temporal
// refused to start (dead letters, see docs/recovery.md):
//
//	mediaflowctl list                     the dead letters: event ID, time, size
//	mediaflowctl show [-body] EVENT_ID    one letter: reason, times, headers (-body: the body only)
//	mediaflowctl redrive EVENT_ID...      start their workflows again, as the server would
//	mediaflowctl redrive -all             every dead letter
//
// It reads the configuration the server reads (TEMPORAL_*, BLOB_URL,
// BLOB_THRESHOLD_BYTES, TEMPORAL_TASK_QUEUE), without the webhook secret;
// the wiring is in internal/app. Exit status: 0 when every event asked for
// is handled (started, or a duplicate: handled already), 1 otherwise, 2 on
// a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/ingest"
)

const usage = `usage:
  mediaflowctl list
  mediaflowctl show [-body] EVENT_ID
  mediaflowctl redrive (-all | EVENT_ID...)
`

// errUsage is a usage error: exit status 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], config.OSEnviron(), os.Stdout, os.Stderr))
}

// run runs one command and returns the exit status.
func run(ctx context.Context, args []string, env config.Environ, stdout, stderr io.Writer) int {
	err := command(ctx, args, env, stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprint(stderr, usage)
		return 2
	}
	fmt.Fprintln(stderr, "mediaflowctl:", err)
	return 1
}

func command(ctx context.Context, args []string, env config.Environ, stdout io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	body := fs.Bool("body", false, "show: print the body only, as received")
	all := fs.Bool("all", false, "redrive: every dead letter")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	ids := fs.Args()
	switch {
	case args[0] == "list" && len(ids) == 0 && !*body && !*all:
	case args[0] == "show" && len(ids) == 1 && !*all:
	case args[0] == "redrive" && (len(ids) > 0) != *all && !*body:
	default:
		return errUsage
	}

	cfg, err := config.LoadControl(env)
	if err != nil {
		return err
	}
	c, err := app.NewControl(ctx, cfg, app.Options{})
	if err != nil {
		return err
	}
	defer c.Close()

	switch args[0] {
	case "list":
		return list(ctx, c, stdout)
	case "show":
		return show(ctx, c, ids[0], *body, stdout)
	}
	if *all {
		letters, err := c.DeadLetters.List(ctx)
		if err != nil {
			return err
		}
		for _, l := range letters {
			ids = append(ids, l.EventID)
		}
	}
	return redrive(ctx, c, ids, stdout)
}

func list(ctx context.Context, c *app.Control, stdout io.Writer) error {
	letters, err := c.DeadLetters.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT ID\tREJECTED AT\tBYTES")
	for _, l := range letters {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", l.EventID, l.RejectedAt.UTC().Format(time.RFC3339), l.Size)
	}
	return tw.Flush()
}

func show(ctx context.Context, c *app.Control, id string, body bool, stdout io.Writer) error {
	l, err := c.DeadLetters.Get(ctx, id)
	if err != nil {
		return err
	}
	if body {
		_, err := stdout.Write(l.Body)
		return err
	}
	fmt.Fprintf(stdout, "event ID:     %s\nreceived at:  %s\nrejected at:  %s\nreason:       %s\nbody:         %d bytes (show -body prints it)\nheaders:\n",
		l.EventID, l.ReceivedAt.Format(time.RFC3339Nano), l.RejectedAt.Format(time.RFC3339Nano), l.Reason, len(l.Body))
	for _, k := range slices.Sorted(maps.Keys(l.Headers)) {
		for _, v := range l.Headers[k] {
			fmt.Fprintf(stdout, "  %s: %s\n", k, v)
		}
	}
	return nil
}

// redrive re-drives ids, one line each, and fails when one is not handled.
func redrive(ctx context.Context, c *app.Control, ids []string, stdout io.Writer) error {
	failed := 0
	for _, id := range ids {
		r, err := c.Redrive(ctx, id)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stdout, "%s\tfailed\t%v\n", id, err)
		case r.Outcome == ingest.Rejected:
			failed++
			fmt.Fprintf(stdout, "%s\trejected\t%s (the dead letter is kept)\n", id, r.Reason)
		case r.RunID != "":
			fmt.Fprintf(stdout, "%s\t%s\trun %s\n", id, r.Outcome, r.RunID)
		default:
			fmt.Fprintf(stdout, "%s\t%s\n", id, r.Outcome)
		}
		if r.Note != "" {
			fmt.Fprintf(stdout, "%s\tnote\t%s\n", id, r.Note)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d events not handled", failed, len(ids))
	}
	return nil
}
