// Command mediaflowctl is the operator's tool (docs/operating.md): for the
// events that Temporal refused to start (dead letters), for the events
// whose workflow failed, and for pausing deliveries.
//
//	mediaflowctl list                     the dead letters: event ID, time, size
//	mediaflowctl show [-body] EVENT_ID    one letter: reason, times, headers (-body: the body only)
//	mediaflowctl redrive EVENT_ID...      start their workflows again, as the server would
//	mediaflowctl redrive -all             every dead letter
//	mediaflowctl failures -since 2h       events whose latest run did not complete, grouped by cause
//	mediaflowctl rerun -since 2h          run them again (-dry-run: count them, by cause)
//	mediaflowctl deliveries pause         hold notices and alerts on their task queue (resume, status)
//
// It reads the configuration the server reads (TEMPORAL_*, BLOB_URL,
// BLOB_THRESHOLD_BYTES, TEMPORAL_TASK_QUEUE), without the webhook secret;
// the wiring is in internal/app. Exit status: 0 when everything asked for
// is done (for redrive: every event started, or a duplicate: handled
// already; for rerun: every event started or re-run already, none refused
// or failed again, the rerun not stopped), 1 otherwise, 2 on a usage
// error.
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
	"strings"
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
  mediaflowctl failures [-since D] [-cause C]... [-job J] [-query Q]
  mediaflowctl rerun (-since D | -cause C | -job J | -query Q)... [-dry-run]
                     [-rate N] [-max-failing F] [-wait D]
  mediaflowctl deliveries (pause [-reason R] | resume [-reason R] | status)
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
		if msg := strings.TrimPrefix(err.Error(), errUsage.Error()); msg != "" {
			fmt.Fprintln(stderr, "mediaflowctl"+msg)
		}
		fmt.Fprint(stderr, usage)
		return 2
	}
	fmt.Fprintln(stderr, "mediaflowctl:", err)
	return 1
}

// action is what a command does once the Control is built.
type action func(ctx context.Context, c *app.Control, stdout io.Writer) error

// commands are mediaflowctl's commands: each parses its arguments with fs
// and returns its action, or a usage error.
var commands = map[string]func(fs *flag.FlagSet, args []string) (action, error){
	"list":       parseList,
	"show":       parseShow,
	"redrive":    parseRedrive,
	"failures":   parseFailures,
	"rerun":      parseRerun,
	"deliveries": parseDeliveries,
}

func command(ctx context.Context, args []string, env config.Environ, stdout io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	parse, ok := commands[args[0]]
	if !ok {
		return errUsage
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	do, err := parse(fs, args[1:])
	if err != nil {
		return err
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
	return do(ctx, c, stdout)
}

// usageError is a usage error that says what is wrong.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// parseFlags parses args into fs, a usage error naming the flag when one
// is wrong.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError("%s: %v", fs.Name(), err)
	}
	return nil
}

func parseList(fs *flag.FlagSet, args []string) (action, error) {
	if err := parseFlags(fs, args); err != nil || fs.NArg() > 0 {
		return nil, errUsage
	}
	return list, nil
}

func parseShow(fs *flag.FlagSet, args []string) (action, error) {
	body := fs.Bool("body", false, "print the body only, as received")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 1 {
		return nil, errUsage
	}
	return func(ctx context.Context, c *app.Control, stdout io.Writer) error {
		return show(ctx, c, fs.Arg(0), *body, stdout)
	}, nil
}

func parseRedrive(fs *flag.FlagSet, args []string) (action, error) {
	all := fs.Bool("all", false, "every dead letter")
	if err := parseFlags(fs, args); err != nil || (fs.NArg() > 0) == *all {
		return nil, errUsage
	}
	return func(ctx context.Context, c *app.Control, stdout io.Writer) error {
		ids := fs.Args()
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
	}, nil
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
