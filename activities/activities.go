// Package activities holds mediaflow's side effects. Each activity is
// idempotent, because Temporal runs an activity at least once: a rerun
// leaves the same state as one run. Retry policies are set by the caller
// (workflows); errors that retrying cannot fix are returned as
// non-retryable application errors with the ErrType* types below.
//
// An optional step whose setting is empty (MEDIA_DIR, NOTIFY_URL,
// ALERT_URL) is still called by the workflow and answers Skipped, so the
// workflow stays the same whatever the worker's configuration.
package activities

import (
	"context"
	"fmt"
	"net/http"

	"go.temporal.io/sdk/temporal"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/animus"
	"github.com/mediaflow/mediaflow/internal/store"
)

// Application error types of non-retryable failures, for retry policies'
// NonRetryableErrorTypes and for reading failures in the Temporal UI.
const (
	// ErrTypeInvalidData: the event lacks what the activity needs.
	ErrTypeInvalidData = "InvalidData"
	// ErrTypeInvalidURL: not an http or https URL, or a redirect to
	// another scheme.
	ErrTypeInvalidURL = "InvalidURL"
	// ErrTypeHTTPStatus: the target answered a status that retrying
	// cannot fix (4xx other than 408 and 429, or 3xx for a POST).
	ErrTypeHTTPStatus = "HTTPStatus"
	// ErrTypeMediaTooLarge: the media is larger than MediaMaxBytes.
	ErrTypeMediaTooLarge = "MediaTooLarge"
)

// ErrTypeRetryableHTTP is the type of retryable HTTP failures (408, 429,
// 5xx); they carry the target's Retry-After as the next retry delay.
const ErrTypeRetryableHTTP = "RetryableHTTP"

// DefaultMediaMaxBytes bounds a download when MediaMaxBytes is 0: 5 GiB.
const DefaultMediaMaxBytes = 5 << 30

// JobStore is the part of store.Store the activities use.
type JobStore interface {
	UpsertJob(ctx context.Context, j store.Job) error
}

// Activities holds the activities' dependencies; the worker registers a
// *Activities and workflows call its methods through a nil pointer.
type Activities struct {
	Store JobStore
	// HTTP is the client for downloads and notifications (default
	// NewHTTPClient()). Per-request timeouts come from contexts.
	HTTP *http.Client
	// MediaDir is where DownloadMedia saves files; empty skips it.
	MediaDir string
	// MediaMaxBytes bounds one download, in bytes (default 5 GiB).
	MediaMaxBytes int64
	// NotifyURL and AlertURL receive the JSON summaries; empty skips them.
	NotifyURL string
	AlertURL  string
	// NotifySecret ("whsec_…"), when set, signs notifications and alerts
	// the Standard Webhooks way (webhook-id/-timestamp/-signature).
	NotifySecret string
}

// RecordInput is RecordJob's argument: the event and what DownloadMedia
// did with its media (zero when it did nothing).
type RecordInput struct {
	Event mediaflow.MediaCompletedInput `json:"event"`
	Media Media                         `json:"media"`
}

// RecordJob upserts the job's row (one row per job ID) from the event and
// the downloaded media. Idempotent: a rerun writes the same row once, and
// an event older than the row is ignored (store.UpsertJob). Database
// errors are retryable; an event without a job ID is a non-retryable
// InvalidData error.
func (a *Activities) RecordJob(ctx context.Context, in RecordInput) error {
	ev := in.Event
	if ev.Job.JobID == "" || len(ev.Job.Raw) == 0 {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("event %s has no job data", ev.EventID), ErrTypeInvalidData, nil)
	}
	return a.Store.UpsertJob(ctx, store.Job{
		JobID:          ev.Job.JobID,
		EventID:        ev.EventID,
		Status:         animus.StatusLabel(ev.Job.Status),
		RawStatus:      ev.Job.Status,
		MediaURL:       ev.Job.MediaURL,
		Results:        ev.Job.Results,
		Error:          ev.Job.Error,
		CustomPayload:  ev.Job.CustomPayload,
		Data:           ev.Job.Raw,
		EventTimestamp: ev.EventTimestamp,
		ReceivedAt:     ev.ReceivedAt,
		MediaPath:      in.Media.Path,
		MediaSize:      in.Media.Size,
		MediaSHA256:    in.Media.SHA256,
	})
}
