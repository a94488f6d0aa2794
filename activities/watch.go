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

// TellWatch signals the job's watch (workflow mediaflow.WatchID(job ID))
// with the outcome; a job nobody watches (no such workflow, or it already
// closed) is not an error, and no watch is created. Idempotent: a watch
// ignores an outcome it already has. Short (a local activity); Temporal
// errors are retryable.
func (a *Activities) TellWatch(ctx context.Context, o mediaflow.JobOutcome) (Told, error) {
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

// LookupJob returns the outcome the job's row holds (its newest event), or
// nil when no event of the job was recorded: a watch started after its
// job's event completes at once with it. Short (a local activity);
// database errors are retryable.
func (a *Activities) LookupJob(ctx context.Context, jobID string) (*mediaflow.JobOutcome, error) {
	row, err := a.Store.Job(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) {
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
