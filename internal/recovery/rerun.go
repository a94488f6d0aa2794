package recovery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/mediaflow/mediaflow"
)

// The defaults of RerunOptions, mediaflowctl rerun's flags.
const (
	// DefaultRerunRate is how many re-runs start per second: a thousand
	// events in under two minutes, each start a few calls to Temporal.
	DefaultRerunRate = 10
	// DefaultMaxFailing is the share of finished re-runs that may fail
	// again: more, and the cause is not fixed.
	DefaultMaxFailing = 0.2
	// DefaultMinFinished is how many re-runs must have finished before
	// their share of failures stops a re-run.
	DefaultMinFinished = 10
	// DefaultRerunWait is how long Rerun waits for outcomes after its
	// last start.
	DefaultRerunWait = time.Minute
)

const (
	// starters bounds the starts in flight at once.
	starters = 8
	// watchEvery is how often Rerun reads which re-runs have closed.
	watchEvery = time.Second
	// visibilityLag is how late a closed run may show in a visibility
	// query, the clocks' skew included: each poll reads back that far.
	visibilityLag = time.Minute
)

// RerunOptions bound a Rerun; see the defaults above.
type RerunOptions struct {
	// Rate is the most re-runs started per second (> 0).
	Rate float64
	// MaxFailing is the share of finished re-runs (0 to 1) that may fail
	// again; above it, once MinFinished have finished, Rerun starts no
	// more.
	MaxFailing  float64
	MinFinished int
	// Wait is how long Rerun waits after its last start for the re-runs
	// to finish (0: not at all).
	Wait time.Duration
	// Progress, when set, is called with the counts after each change,
	// one call at a time.
	Progress func(RerunCounts)
}

// RerunCounts are what a Rerun did so far.
type RerunCounts struct {
	// Selected is how many events it was given.
	Selected int
	// Started: a new run of the event's workflow ID began. AlreadyRerun:
	// Temporal refused it as a duplicate (a run of the ID is running or
	// completed: it was run again meanwhile). Refused: the input could not
	// be read back, or Temporal refused the start for another reason.
	Started, AlreadyRerun, Refused int
	// Completed and FailedAgain count the started runs that closed, as
	// visibility shows them.
	Completed, FailedAgain int
}

// Handled is how many of the selected events were started, found re-run
// already or refused.
func (c RerunCounts) Handled() int { return c.Started + c.AlreadyRerun + c.Refused }

// Running is how many started runs have not closed yet.
func (c RerunCounts) Running() int { return c.Started - c.Completed - c.FailedAgain }

// RerunSummary is what Rerun did.
type RerunSummary struct {
	RerunCounts
	// Refusals say why each refused event was not started.
	Refusals []Refusal
	// FailedAgainIDs are the events whose new run did not complete.
	FailedAgainIDs []string
	// Stopped says why Rerun stopped before handling every event: the
	// share of failures, or ctx done; "" when it did not.
	Stopped string
	// Unwatched is the last error reading the outcomes, when they may be
	// incomplete; "" when none.
	Unwatched string
}

// Refusal is an event Rerun could not start, and why.
type Refusal struct {
	EventID, Reason string
}

// Rerun starts a new run of each event of failures (as Failures returns
// them), keeping its workflow ID: its failed run's own input, read back
// from its history through the claim check codec, started with
// mediaflow.StartOptions as the server starts an event. At most o.Rate a
// second; it stops starting when ctx is done, or when more than
// o.MaxFailing of the re-runs that finished (at least o.MinFinished)
// failed again, then waits up to o.Wait for the re-runs to finish. Running
// it again with the same selection starts none twice: an event re-run
// since has a running or completed latest run, which Failures leaves out
// and the reuse policy refuses as a duplicate.
func (o *Operator) Rerun(ctx context.Context, failures []Failure, opts RerunOptions) RerunSummary {
	r := &rerun{o: o, opts: opts, runs: map[string]string{}, stop: make(chan string, 1)}
	r.sum.Selected = len(failures)
	r.progress()

	startCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := make(chan struct{})
	startsDone := make(chan struct{})
	go func() {
		defer close(watched)
		r.watch(ctx, cancel, startsDone)
	}()

	limiter := rate.NewLimiter(rate.Limit(opts.Rate), 1)
	var g errgroup.Group
	g.SetLimit(starters)
	for _, f := range failures {
		if limiter.Wait(startCtx) != nil {
			break
		}
		g.Go(func() error {
			r.start(ctx, f)
			return nil
		})
	}
	g.Wait()
	close(startsDone)
	<-watched

	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case r.sum.Stopped = <-r.stop:
	default:
		if ctx.Err() != nil && r.sum.Handled() < r.sum.Selected {
			r.sum.Stopped = "interrupted"
		}
	}
	return r.sum
}

// rerun is one Rerun in progress.
type rerun struct {
	o    *Operator
	opts RerunOptions
	stop chan string // why the watch stopped the starts

	mu  sync.Mutex
	sum RerunSummary
	// runs maps each started run that has not closed to its event.
	runs map[string]string
}

// progress reports the counts; r.mu is held, or nothing runs yet.
func (r *rerun) progress() {
	if r.opts.Progress != nil {
		r.opts.Progress(r.sum.RerunCounts)
	}
}

// startTimeout bounds one start, the blob write of a large input included.
const startTimeout = 30 * time.Second

// start starts f's new run and counts what came of it. The start itself
// is not interrupted: a run started is a run counted and watched.
func (r *rerun) start(ctx context.Context, f Failure) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startTimeout)
	defer cancel()
	runID, err := r.o.startAgain(sctx, f)
	r.mu.Lock()
	defer r.mu.Unlock()
	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &dup):
		r.sum.AlreadyRerun++
	case err != nil:
		r.sum.Refused++
		r.sum.Refusals = append(r.sum.Refusals, Refusal{EventID: f.EventID, Reason: err.Error()})
	default:
		r.sum.Started++
		r.runs[runID] = f.EventID
	}
	r.progress()
}

// startAgain starts a new run of f's event with its failed run's input
// and returns the run's ID.
func (o *Operator) startAgain(ctx context.Context, f Failure) (string, error) {
	started, err := o.event(ctx, f.EventID, f.RunID, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if err != nil {
		return "", fmt.Errorf("reading run %s's history: %w", f.RunID, err)
	}
	attrs := started.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return "", fmt.Errorf("run %s's history does not begin with its start", f.RunID)
	}
	var in mediaflow.MediaCompletedInput
	if err := o.DataConverter.FromPayloads(attrs.GetInput(), &in); err != nil {
		return "", fmt.Errorf("reading run %s's input: %w", f.RunID, err)
	}
	if in.EventID != f.EventID {
		// Not started by mediaflow's server: a new run would take
		// another workflow ID.
		return "", fmt.Errorf("run %s's input holds event ID %q, not its workflow ID", f.RunID, in.EventID)
	}
	return o.Starter.Start(ctx, in)
}

// watch reads every watchEvery which started runs have closed, until the
// starts are done and every run has closed or o.Wait has passed, or ctx
// is done. It stops the starts (cancel) when too many failed again.
func (r *rerun) watch(ctx context.Context, cancel context.CancelFunc, startsDone <-chan struct{}) {
	began := time.Now()
	since := began
	var waitUntil <-chan time.Time
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-startsDone:
			startsDone = nil
			waitUntil = time.After(r.opts.Wait)
		case <-waitUntil:
			return
		case at := <-tick.C:
			r.poll(ctx, began, since)
			since = at
			if r.tooManyFailing() {
				cancel()
			}
		}
		if startsDone == nil && r.done() {
			return
		}
	}
}

// done reports whether every started run has closed.
func (r *rerun) done() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs) == 0
}

// poll counts the started runs that visibility shows closed since
// `since` (less visibilityLag).
func (r *rerun) poll(ctx context.Context, began, since time.Time) {
	if r.done() {
		return
	}
	q := fmt.Sprintf(`WorkflowType = %s AND TaskQueue = %s AND StartTime >= %s AND CloseTime >= %s`,
		quote(mediaflow.WorkflowType), quote(r.o.TaskQueue),
		quote(began.Add(-visibilityLag).UTC().Format(time.RFC3339Nano)), quote(since.Add(-visibilityLag).UTC().Format(time.RFC3339Nano)))
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: r.o.Namespace, Query: q, PageSize: 1000}
	for {
		resp, err := r.o.Client.ListWorkflow(ctx, req)
		if err != nil {
			if ctx.Err() == nil {
				r.mu.Lock()
				r.sum.Unwatched = err.Error()
				r.mu.Unlock()
			}
			return
		}
		r.mu.Lock()
		for _, e := range resp.GetExecutions() {
			id, ok := r.runs[e.GetExecution().GetRunId()]
			if !ok || e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				continue
			}
			delete(r.runs, e.GetExecution().GetRunId())
			if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				r.sum.Completed++
			} else {
				r.sum.FailedAgain++
				r.sum.FailedAgainIDs = append(r.sum.FailedAgainIDs, id)
			}
			r.progress()
		}
		r.mu.Unlock()
		if req.NextPageToken = resp.GetNextPageToken(); len(req.NextPageToken) == 0 {
			return
		}
	}
}

// tooManyFailing reports whether the re-runs that finished fail too
// often, and says so once on r.stop.
func (r *rerun) tooManyFailing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	finished := r.sum.Completed + r.sum.FailedAgain
	if finished < max(r.opts.MinFinished, 1) || float64(r.sum.FailedAgain) <= r.opts.MaxFailing*float64(finished) {
		return false
	}
	select {
	case r.stop <- fmt.Sprintf("%d of the %d re-runs that finished failed again (more than %g%%)",
		r.sum.FailedAgain, finished, r.opts.MaxFailing*100):
	default:
	}
	return true
}
