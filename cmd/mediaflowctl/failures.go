package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/recovery"
)

// selectionFlags adds the flags that select failed events to fs.
func selectionFlags(fs *flag.FlagSet) *recovery.Selection {
	s := &recovery.Selection{}
	fs.DurationVar(&s.Since, "since", 0, "runs that closed within this duration, e.g. 2h")
	fs.StringVar(&s.JobID, "job", "", "the events of this Animus job")
	fs.StringVar(&s.Query, "query", "", "a visibility query the runs must also match")
	fs.Func("cause", "a cause, activity or error type (repeatable)", func(v string) error {
		s.Causes = append(s.Causes, v)
		return nil
	})
	return s
}

func parseFailures(fs *flag.FlagSet, args []string) (action, error) {
	sel := selectionFlags(fs)
	if err := parseSelection(fs, args, sel); err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *app.Control, stdout io.Writer) error {
		failures, err := selected(ctx, c, *sel, stdout, "No event")
		if len(failures) == 0 {
			return err
		}
		fmt.Fprintf(stdout, "%s whose latest run did not complete (%s):\n\n", events(len(failures)), describe(c, *sel))
		return printGroups(stdout, recovery.Group(failures))
	}, nil
}

// selected returns the failures that sel selects; when there are none,
// it says so, beginning with none.
func selected(ctx context.Context, c *app.Control, sel recovery.Selection, stdout io.Writer, none string) ([]recovery.Failure, error) {
	failures, err := c.Failures(ctx, sel)
	if err == nil && len(failures) == 0 {
		fmt.Fprintf(stdout, "%s whose latest run did not complete (%s).\n", none, describe(c, sel))
	}
	return failures, err
}

// parseSelection parses args into fs and checks the selection.
func parseSelection(fs *flag.FlagSet, args []string, sel *recovery.Selection) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	case sel.Since < 0 || sel.Since == 0 && given(fs, "since"):
		return usageError("%s: -since must be a positive duration, e.g. 2h", fs.Name())
	}
	return nil
}

// given reports whether the flag name was on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// describe says what sel selects, for the line above a table.
func describe(c *app.Control, sel recovery.Selection) string {
	var parts []string
	if sel.Since > 0 {
		parts = append(parts, "closed since "+time.Now().Add(-sel.Since).UTC().Format(time.RFC3339))
	}
	if len(sel.Causes) > 0 {
		parts = append(parts, "cause "+strings.Join(sel.Causes, " or "))
	}
	if sel.JobID != "" {
		parts = append(parts, "job "+sel.JobID)
	}
	if sel.Query != "" {
		parts = append(parts, "matching "+sel.Query)
	}
	if len(parts) == 0 {
		parts = append(parts, "all that Temporal retains")
	}
	return strings.Join(append(parts, "task queue "+c.TaskQueue), ", ")
}

// events is "1 event" or "n events".
func events(n int) string {
	if n == 1 {
		return "1 event"
	}
	return fmt.Sprintf("%d events", n)
}

// messageWidth bounds a failure's message in the table's notes.
const messageWidth = 160

// printGroups prints one line per cause (count, newest, examples), then
// the newest failure of each.
func printGroups(w io.Writer, groups []recovery.CauseGroup) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CAUSE\tEVENTS\tNEWEST\tEXAMPLES")
	for _, g := range groups {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", g.Cause, g.Count, g.Newest.ClosedAt.UTC().Format(time.RFC3339), strings.Join(g.Examples, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nThe newest of each cause:")
	for _, g := range groups {
		fmt.Fprintf(w, "  %s  %s (run %s)\n    %s\n", g.Cause, g.Newest.EventID, g.Newest.RunID, shorten(g.Newest.Message, messageWidth))
	}
	return nil
}

// shorten cuts s to n runes, with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func parseRerun(fs *flag.FlagSet, args []string) (action, error) {
	sel := selectionFlags(fs)
	dryRun := fs.Bool("dry-run", false, "only count the events, by cause")
	opts := recovery.RerunOptions{MinFinished: recovery.DefaultMinFinished}
	fs.Float64Var(&opts.Rate, "rate", recovery.DefaultRerunRate, "re-runs started per second, at most")
	fs.Float64Var(&opts.MaxFailing, "max-failing", recovery.DefaultMaxFailing, "share (0 to 1) of finished re-runs that may fail again")
	fs.DurationVar(&opts.Wait, "wait", recovery.DefaultRerunWait, "how long to wait for the re-runs to finish after the last start")
	if err := parseSelection(fs, args, sel); err != nil {
		return nil, err
	}
	switch {
	case sel.Since == 0 && sel.JobID == "" && sel.Query == "" && len(sel.Causes) == 0:
		return nil, usageError("rerun: say which events: -since, -cause, -job or -query")
	// Written so that NaN fails them too: a NaN rate limits nothing.
	case !(opts.Rate > 0 && opts.Rate <= math.MaxFloat64):
		return nil, usageError("rerun: -rate must be a positive number of events per second")
	case !(opts.MaxFailing >= 0 && opts.MaxFailing <= 1):
		return nil, usageError("rerun: -max-failing must be a share from 0 to 1, e.g. 0.2")
	case opts.Wait < 0:
		return nil, usageError("rerun: -wait must be a positive duration")
	}
	return func(ctx context.Context, c *app.Control, stdout io.Writer) error {
		failures, err := selected(ctx, c, *sel, stdout, "Nothing to re-run: no event")
		if len(failures) == 0 {
			return err
		}
		if *dryRun {
			fmt.Fprintf(stdout, "Would re-run %s (%s):\n\n", events(len(failures)), describe(c, *sel))
			return printGroups(stdout, recovery.Group(failures))
		}
		fmt.Fprintf(stdout, "Re-running %s (%s), at most %g a second; stopping if more than %g%% of those that finish fail again.\n",
			events(len(failures)), describe(c, *sel), opts.Rate, opts.MaxFailing*100)
		p := newProgress(stdout, len(failures))
		opts.Progress = p.show
		sum := c.Rerun(ctx, failures, opts)
		p.done()
		return summarize(stdout, sum)
	}, nil
}

// errNotAllRerun is rerun's failure: the summary says what.
var errNotAllRerun = errors.New("not every event was run again and completed: see above")

// summarize prints what a rerun did and fails unless every event was
// started (or re-run already) and none failed again.
func summarize(w io.Writer, s recovery.RerunSummary) error {
	fmt.Fprintf(w, "Started %d, already re-run %d, refused %d (of %d).\n", s.Started, s.AlreadyRerun, s.Refused, s.Selected)
	fmt.Fprintf(w, "Of those started: %d completed, %d failed again, %d still running.\n", s.Completed, s.FailedAgain, s.Running())
	for _, r := range s.Refusals {
		fmt.Fprintf(w, "refused  %s  %s\n", r.EventID, r.Reason)
	}
	if len(s.FailedAgainIDs) > 0 {
		fmt.Fprintf(w, "Failed again: %s (mediaflowctl failures says why).\n", strings.Join(s.FailedAgainIDs, " "))
	}
	if s.Running() > 0 {
		fmt.Fprintln(w, "Those still running go on; mediaflowctl failures lists any that fail.")
	}
	if s.Unwatched != "" {
		fmt.Fprintf(w, "The outcomes may be incomplete: reading them failed: %s\n", s.Unwatched)
	}
	if s.Stopped != "" {
		fmt.Fprintf(w, "Stopped: %s. Run the same command again to go on with the rest.\n", s.Stopped)
	}
	if s.Stopped != "" || s.Refused > 0 || s.FailedAgain > 0 {
		return errNotAllRerun
	}
	return nil
}
