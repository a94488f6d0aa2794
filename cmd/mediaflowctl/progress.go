package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mediaflow/mediaflow/internal/recovery"
)

// lineEvery is how often, at most, progress prints a line when its
// writer is not a terminal.
const lineEvery = time.Second

// progress shows a rerun's counts as they change: a bar when its writer
// is a terminal, otherwise a line a second at most (a log, a pipe).
type progress struct {
	w       io.Writer
	bar     *progressbar.ProgressBar
	printed time.Time
	last    recovery.RerunCounts
	pending bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionShowDescriptionAtLineEnd(),
		)
	}
	return p
}

// show takes the counts now (Rerun calls it one call at a time).
func (p *progress) show(c recovery.RerunCounts) {
	p.last = c
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("started %d, completed %d, failed again %d", c.Started, c.Completed, c.FailedAgain))
		p.bar.Set(c.Handled())
		return
	}
	if time.Since(p.printed) < lineEvery {
		p.pending = true
		return
	}
	p.line()
}

func (p *progress) line() {
	c := p.last
	fmt.Fprintf(p.w, "%d/%d: started %d, already re-run %d, refused %d; completed %d, failed again %d, running %d\n",
		c.Handled(), c.Selected, c.Started, c.AlreadyRerun, c.Refused, c.Completed, c.FailedAgain, c.Running())
	p.printed, p.pending = time.Now(), false
}

// done shows the last counts.
func (p *progress) done() {
	if p.bar != nil {
		p.bar.Exit()
		fmt.Fprintln(p.w)
		return
	}
	if p.pending {
		p.line()
	}
}
