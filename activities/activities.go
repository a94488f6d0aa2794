// Package activities holds mediaflow's side effects. Each activity is
// idempotent, because Temporal runs an activity at least once: a rerun
// leaves the same state as one run. Retry policies are set by the caller
// (workflows); errors that retrying cannot fix are returned as
// non-retryable application errors with the ErrType* types below.
package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/animus"
	"github.com/mediaflow/mediaflow/internal/store"
)

// Application error types of non-retryable failures, for retry policies'
// NonRetryableErrorTypes and for reading failures in the Temporal UI.
const (
	ErrTypeInvalidData = "InvalidData"
)

// JobStore is the part of store.Store the activities use.
type JobStore interface {
	UpsertJob(ctx context.Context, j store.Job) error
}

// Activities holds the activities' dependencies; the worker registers a
// *Activities and workflows call its methods through a nil pointer.
type Activities struct {
	Store JobStore
}

// RecordJob upserts the job's row (one row per job ID) from the event.
// Idempotent: a rerun writes the same row once, and an event older than
// the row is ignored (store.UpsertJob). Database errors are retryable;
// an event without a job ID is a non-retryable InvalidData error.
func (a *Activities) RecordJob(ctx context.Context, in mediaflow.MediaCompletedInput) error {
	if in.Job.JobID == "" || len(in.Job.Raw) == 0 {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("event %s has no job data", in.EventID), ErrTypeInvalidData, nil)
	}
	return a.Store.UpsertJob(ctx, store.Job{
		JobID:          in.Job.JobID,
		EventID:        in.EventID,
		Status:         animus.StatusLabel(in.Job.Status),
		RawStatus:      in.Job.Status,
		MediaURL:       in.Job.MediaURL,
		Results:        in.Job.Results,
		Error:          in.Job.Error,
		CustomPayload:  in.Job.CustomPayload,
		Data:           in.Job.Raw,
		EventTimestamp: in.EventTimestamp,
		ReceivedAt:     in.ReceivedAt,
	})
}
