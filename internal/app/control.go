package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/deadletter"
	"github.com/mediaflow/mediaflow/internal/ingest"
	"github.com/mediaflow/mediaflow/internal/recovery"
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
	// Operator finds, re-runs and pauses (package recovery).
	*recovery.Operator

	cfg     config.Control
	in      instrumented
	ingest  *ingest.Ingester
	starter ingest.TemporalStarter
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
	c.starter = ingest.TemporalStarter{Client: c.Client, TaskQueue: cfg.TaskQueue}
	c.Operator = &recovery.Operator{Client: c.Client, DataConverter: in.temporal.DataConverter, Namespace: in.temporal.Namespace,
		TaskQueue: cfg.TaskQueue, Starter: c.starter}
	c.ingest = ingest.New(ingest.Options{
		Starter:      c.starter,
		DeadLetters:  c.DeadLetters,
		StartTimeout: redriveStartTimeout,
	})
	return c, nil
}

// Redriven is what Redrive did with one dead letter.
type Redriven struct {
	EventID string
	// Outcome is what a delivery of the letter's event would have been
	// answered: started or duplicate (the letter is removed: the event is
	// handled), ignored (not a media.completed event: removed), rejected
	// (Temporal refuses it still: the letter is kept, its reason and time
	// updated).
	Outcome ingest.Outcome
	// RunID is the run started, or the run that had handled the event
	// (duplicate).
	RunID string
	// Reason is Temporal's reason of a rejection; Note says what else
	// happened (a letter that could not be removed).
	Reason string
	Note   string
}

// Redrive handles event id's dead letter as the server would have handled
// its delivery (ingest.Ingester.Handle): the body read again with its
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
	a := c.ingest.Handle(ctx, ingest.Delivery{EventID: l.EventID, Body: l.Body, ReceivedAt: l.ReceivedAt, Header: l.Headers})
	r := Redriven{EventID: l.EventID, Outcome: a.Outcome, RunID: a.RunID, Reason: a.Refusal}
	switch a.Outcome {
	case ingest.Started, ingest.Duplicate, ingest.Ignored:
		c.remove(ctx, &r)
		return r, nil
	case ingest.Rejected:
		return r, nil // the letter is kept, rewritten with the new reason
	case ingest.BadRequest:
		return r, fmt.Errorf("event %s: reading its body: %s", l.EventID, a.Problem)
	}
	return r, fmt.Errorf("event %s: starting its workflow: %w", l.EventID, a.Cause)
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
