package activities

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/store"
)

// Told is what TellWatch did.
type Told struct {
	// Watch is true when the job had a running watch, now told.
	Watch bool `json:"watch,omitempty"`
}

// TellWatch marks the outcome final in the job's row (the event's steps
// that the outcome reports are done: its media is saved and recorded),
// then signals the job's watch (workflow mediaflow.WatchID(job ID)) with
// it; a job nobody watches (no such workflow, or it already closed) is not
// an error, and no watch is created. In that order, a watch that starts at
// any moment gets the whole outcome: from the row once it is final, else
// from this signal, which reaches it because it started before it read the
// row. A row that holds a newer event is not marked (that event marks it).
// Idempotent: a watch ignores an outcome it already has. Short (a local
// activity); database and Temporal errors are retryable.
func (a *Activities) TellWatch(ctx context.Context, o mediaflow.JobOutcome) (Told, error) {
	if a.Store != nil {
		if _, err := a.Store.MarkHandled(ctx, o.JobID, o.EventID); err != nil {
			return Told{}, err
		}
	}
	if a.Temporal == nil {
		return Told{}, nil
	}
	err := a.Temporal.SignalWorkflow(ctx, mediaflow.WatchID(o.JobID), "", mediaflow.SignalJobOutcome, o)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return Told{}, nil
	case err != nil:
		return Told{}, err
	}
	return Told{Watch: true}, nil
}

// LookupJob returns the final outcome the job's row holds (its newest
// event, once TellWatch marked it), or nil when no event of the job was
// recorded, or its steps are still running: a watch started after its
// job's event was handled completes at once with it, one started while the
// event is being handled waits for its TellWatch signal. Short (a local
// activity); database errors are retryable.
func (a *Activities) LookupJob(ctx context.Context, jobID string) (*mediaflow.JobOutcome, error) {
	row, err := a.Store.Job(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) || err == nil && row.HandledAt.IsZero() {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &mediaflow.JobOutcome{
		JobID:          row.JobID,
		EventID:        row.EventID,
		Status:         row.Status,
		EventTimestamp: row.EventTimestamp,
		MediaPath:      row.MediaPath,
		Error:          row.Error,
	}, nil
}
