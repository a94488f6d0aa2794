package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow/internal/animus"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/deadletter"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/telemetry"
)

// redriveStartTimeout bounds one start by Redrive, blob write included.
const redriveStartTimeout = 30 * time.Second

// Control is what mediaflowctl works with: the dead letters in the blob
// store and a Temporal client to start their workflows, with the same
// codec as the server's, so a re-driven event is started exactly as a
// delivery would be.
type Control struct {
	// Client is a lazy Temporal client: listing dead letters needs no
	// Temporal.
	Client client.Client
	// DeadLetters are the letters in the blob store (BLOB_URL).
	DeadLetters deadletter.Store

	cfg config.Control
	in  instrumented
}

// NewControl builds mediaflowctl's Control from cfg. It fails when the
// telemetry settings or the blob store URL are malformed.
func NewControl(ctx context.Context, cfg config.Control, opts Options) (_ *Control, err error) {
	in, err := instrument(ctx, "mediaflowctl", cfg.Shared, opts)
	if err != nil {
		return nil, err
	}
	c := &Control{DeadLetters: deadletter.Store{Bucket: in.bucket}, cfg: cfg, in: in}
	if c.Client, err = client.NewLazyClient(in.temporal); err != nil {
		c.Close()
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	return c, nil
}

// Redriven is what Redrive did with one dead letter.
type Redriven struct {
	EventID string
	// Outcome is the webhook's outcome for the same answer: started or
	// duplicate (the letter is removed: the event is handled), ignored
	// (not a media.completed event: removed), rejected (Temporal refuses
	// it still: the letter is kept, its reason and time updated).
	Outcome string
	// RunID is the run started, or the run that had handled the event
	// (duplicate).
	RunID string
	// Reason is Temporal's reason of a rejection; Note says what else
	// happened (a letter that could not be removed).
	Reason string
	Note   string
}

// Redrive starts the workflow of event id's dead letter as the server
// would have: the body read again with animus.ReadEvent, with its
// original received time, started with workflow ID = event ID and
// mediaflow.StartOptions on the configured task queue. A duplicate means
// the event was handled meanwhile (a later delivery by Svix). It fails,
// keeping the letter, when there is none (deadletter.ErrNotFound), the
// body does not read, or Temporal or the blob store cannot be reached.
func (c *Control) Redrive(ctx context.Context, id string) (Redriven, error) {
	l, err := c.DeadLetters.Get(ctx, id)
	if err != nil {
		return Redriven{}, err
	}
	r := Redriven{EventID: l.EventID}
	ev, err := animus.ReadEvent(l.EventID, l.Body, l.ReceivedAt)
	if err != nil {
		return r, fmt.Errorf("event %s: reading its body: %w", l.EventID, err)
	}
	if ev.Input == nil {
		r.Outcome = telemetry.OutcomeIgnored
		c.remove(ctx, &r)
		return r, nil
	}
	sctx, cancel := context.WithTimeout(ctx, redriveStartTimeout)
	defer cancel()
	runID, err := httpapi.TemporalStarter{Client: c.Client, TaskQueue: c.cfg.TaskQueue}.Start(sctx, *ev.Input)
	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &dup):
		r.Outcome, r.RunID = telemetry.OutcomeDuplicate, dup.RunId
	case err != nil && httpapi.Rejection(err) != "":
		r.Outcome, r.Reason = telemetry.OutcomeRejected, httpapi.Rejection(err)
		l.Reason, l.RejectedAt = r.Reason, time.Now().UTC()
		if err := c.DeadLetters.Put(ctx, l); err != nil {
			r.Note = "the letter's reason was not updated: " + err.Error()
		}
		return r, nil
	case err != nil:
		return r, fmt.Errorf("event %s: starting its workflow: %w", l.EventID, err)
	default:
		r.Outcome, r.RunID = telemetry.OutcomeStarted, runID
	}
	c.remove(ctx, &r)
	return r, nil
}

// remove deletes the letter of a handled event; a failure is a note, not
// an error: the next redrive finds the event a duplicate and removes it.
func (c *Control) remove(ctx context.Context, r *Redriven) {
	if err := c.DeadLetters.Delete(ctx, r.EventID); err != nil && !errors.Is(err, deadletter.ErrNotFound) {
		r.Note = "the letter was not removed: " + err.Error()
	}
}

// Close releases what NewControl opened.
func (c *Control) Close() {
	if c.Client != nil {
		c.Client.Close()
	}
	c.in.close()
}
