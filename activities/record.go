package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/store"
)

// RecordEvent writes the event as its job's row (one row per job ID),
// first of the event's steps, unless the row already holds a newer event:
// then the event is Stale, names that event, and the workflow does
// nothing more for it (no download, notification or alert). Events for one
// job are ordered by the envelope's timestamp (the time the server
// received the event when it has none). The media columns stay empty until
// RecordMedia. Idempotent: a rerun writes the same row. Short, so the
// workflow runs it as a local activity. Database errors are retryable; an
// event without job data is a non-retryable InvalidData error. A written
// job is counted in Jobs once per event: not again when the row already
// held the event (a re-run, a retried attempt).
func (a *Activities) RecordEvent(ctx context.Context, ev mediaflow.MediaCompletedInput) (Recorded, error) {
	if ev.Job.JobID == "" || len(ev.Job.Raw) == 0 {
		return Recorded{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("event %s has no job data", ev.EventID), ErrTypeInvalidData, nil)
	}
	row := jobRow(ev)
	// The row already holding this event: a re-run of the event (its
	// workflow failed, or this attempt's earlier success was lost), not a
	// job to count again. One run of an event at a time (its workflow ID).
	prior, err := a.Store.CurrentEvent(ctx, row.JobID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Recorded{}, err
	}
	stored, current, err := a.Store.RecordEvent(ctx, row)
	if err != nil {
		return Recorded{}, err
	}
	if !stored {
		return Recorded{Stale: true, NewerEventID: current}, nil
	}
	if prior != ev.EventID {
		a.countJob(row.Status)
	}
	return Recorded{}, nil
}

// MediaRecord is RecordMedia's argument: the event and where its media was
// saved.
type MediaRecord struct {
	EventID string `json:"event_id"`
	JobID   string `json:"job_id"`
	Media   Media  `json:"media"`
}

// RecordMedia writes where DownloadMedia saved the event's media into the
// job's row, if the row still holds the event; when a newer event took the
// row meanwhile (two events for one job processed at once) it writes
// nothing and the event is Stale: the saved file is not paired with another
// event's URL, and no notification follows. Idempotent; short (a local
// activity); database errors are retryable.
func (a *Activities) RecordMedia(ctx context.Context, in MediaRecord) (Recorded, error) {
	stored, current, err := a.Store.RecordMedia(ctx, in.JobID, in.EventID, in.Media.Path, in.Media.Size, in.Media.SHA256)
	if err != nil {
		return Recorded{}, err
	}
	if !stored {
		return Recorded{Stale: true, NewerEventID: current}, nil
	}
	return Recorded{}, nil
}
