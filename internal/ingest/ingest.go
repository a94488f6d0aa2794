package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/animus"
	"github.com/mediaflow/mediaflow/internal/deadletter"
)

// Starter starts the workflow of one event and returns its run ID. A
// duplicate event ID fails with *serviceerror.WorkflowExecutionAlreadyStarted;
// any other error means the event was not handed to Temporal.
type Starter interface {
	Start(ctx context.Context, in mediaflow.MediaCompletedInput) (runID string, err error)
}

// TemporalStarter starts MediaCompletedWorkflow with mediaflow.StartOptions
// on TaskQueue.
type TemporalStarter struct {
	Client    client.Client
	TaskQueue string
}

// Start implements Starter.
func (t TemporalStarter) Start(ctx context.Context, in mediaflow.MediaCompletedInput) (string, error) {
	run, err := t.Client.ExecuteWorkflow(ctx, mediaflow.StartOptions(t.TaskQueue, in), mediaflow.WorkflowType, in)
	if err != nil {
		return "", err
	}
	return run.GetRunID(), nil
}

// DeadLetters keeps refused events; deadletter.Store is one. Put must
// return only once the letter is stored.
type DeadLetters interface {
	Put(ctx context.Context, l deadletter.Letter) error
}

// Options are an Ingester's dependencies and limits.
type Options struct {
	Starter Starter
	// DeadLetters, when set, keeps an event that Temporal refuses for
	// good, answered 422; nil: such an event is answered 503, as for
	// Temporal being down.
	DeadLetters DeadLetters
	// StartTimeout bounds one start; slower is 503.
	StartTimeout time.Duration
	// MaxInflight bounds concurrent starts: one more is answered 503 at
	// once rather than queued (0: no bound).
	MaxInflight int
	// Now is the clock of a dead letter's RejectedAt (default time.Now).
	Now func() time.Time
}

// Ingester turns verified deliveries into workflow starts. It is safe for
// concurrent use.
type Ingester struct {
	opts     Options
	inflight chan struct{}
}

// New returns an Ingester for o.
func New(o Options) *Ingester {
	if o.Now == nil {
		o.Now = time.Now
	}
	g := &Ingester{opts: o}
	if o.MaxInflight > 0 {
		g.inflight = make(chan struct{}, o.MaxInflight)
	}
	return g
}

// Delivery is a verified delivery: its event ID (svix-id), its body as
// received, when it was received, and its headers (a dead letter keeps
// those that describe it: deadletter.Headers).
type Delivery struct {
	EventID    string
	Body       []byte
	ReceivedAt time.Time
	Header     http.Header
}

// Handle decides what becomes of d and does it: the body read with
// animus.ReadEvent (400, final, when it can never be accepted; 200
// ignored for another event type), the workflow started (200 started or
// duplicate), or, when Temporal refuses it for good, kept as a dead
// letter (422); when Temporal is down or slow, or the letter cannot be
// kept, 503. A panic of the Starter is not recovered.
func (g *Ingester) Handle(ctx context.Context, d Delivery) Answer {
	a := Answer{EventID: d.EventID, Verified: true}
	ev, err := animus.ReadEvent(d.EventID, d.Body, d.ReceivedAt)
	a.EventType = ev.Type
	if err != nil {
		// The same signed bytes are refused the same way every time.
		a = a.Refuse(BadRequest, http.StatusBadRequest, err)
		a.Abort = true
		return a
	}
	if ev.Input == nil {
		a.Outcome, a.Code = Ignored, http.StatusOK
		return a
	}
	in := *ev.Input
	a.JobID = in.Job.JobID
	if g.inflight != nil {
		select {
		case g.inflight <- struct{}{}:
			defer func() { <-g.inflight }()
		default:
			return a.Refuse(Unavailable, http.StatusServiceUnavailable,
				fmt.Errorf("too many workflow starts in flight (%d), retry later", g.opts.MaxInflight))
		}
	}
	sctx, cancel := context.WithTimeout(ctx, g.opts.StartTimeout)
	defer cancel()
	runID, err := g.opts.Starter.Start(sctx, in)

	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &dup):
		a.Outcome, a.Code, a.RunID = Duplicate, http.StatusOK, dup.RunId
	case err != nil && g.opts.DeadLetters != nil && refusal(err) != "":
		a = g.reject(ctx, d, a, err)
	case err != nil:
		// Not handed to Temporal: a 503 makes Svix deliver it again.
		a = a.Refuse(Unavailable, http.StatusServiceUnavailable, errors.New("workflow not started: temporal unavailable, retry later"))
		a.Cause = err
	default:
		a.Outcome, a.Code, a.RunID = Started, http.StatusOK, runID
	}
	return a
}

// refusal returns Temporal's reason when err is a refusal of the start
// that the same start, retried, would get again: the request is invalid
// (InvalidArgument: a search attribute not registered…), the namespace is
// not in a state to take it (FailedPrecondition) or does not exist
// (NamespaceNotFound). Anything else, "": Temporal down or slow, a rate
// limit (ResourceExhausted), the blob store down, all of which pass.
func refusal(err error) string {
	var (
		invalid      *serviceerror.InvalidArgument
		precondition *serviceerror.FailedPrecondition
		namespace    *serviceerror.NamespaceNotFound
	)
	switch {
	case errors.As(err, &invalid):
		return invalid.Error()
	case errors.As(err, &precondition):
		return precondition.Error()
	case errors.As(err, &namespace):
		return namespace.Error()
	}
	return ""
}

// reject answers an event that Temporal refused (refusal(startErr) is not
// ""): kept as a dead letter (a later letter of the same event replaces
// it), 422 with the reason. It is not final: each such refusal comes
// from how Temporal is set up (a search attribute not registered, a
// namespace missing or not active, a limit), never from the event, which
// animus.ReadEvent has checked, so Svix's next attempt after the fix
// starts it, and the letter keeps it for mediaflowctl redrive once Svix
// has given up. When the letter cannot be kept, 503: the event then
// still lives only in Svix, which must deliver it again.
func (g *Ingester) reject(ctx context.Context, d Delivery, a Answer, startErr error) Answer {
	reason := refusal(startErr)
	// Its own time: the start may have used up the request's.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.opts.StartTimeout)
	defer cancel()
	err := g.opts.DeadLetters.Put(lctx, deadletter.Letter{
		EventID:    d.EventID,
		ReceivedAt: d.ReceivedAt.UTC(),
		RejectedAt: g.opts.Now().UTC(),
		Reason:     reason,
		Headers:    deadletter.Headers(d.Header),
		Body:       d.Body,
	})
	if err != nil {
		a = a.Refuse(Unavailable, http.StatusServiceUnavailable,
			errors.New("workflow not started: temporal refused it and the event could not be kept, retry later"))
		a.Cause = fmt.Errorf("temporal refused the start (%s) and keeping the dead letter failed: %w", reason, err)
		return a
	}
	a = a.Refuse(Rejected, http.StatusUnprocessableEntity, errors.New("workflow not started: temporal refused it: "+reason))
	a.Cause, a.Refusal, a.DeadLetter = startErr, reason, deadletter.Key(d.EventID)
	return a
}
