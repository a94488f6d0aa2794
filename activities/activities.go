// Package activities holds mediaflow's side effects. Each activity is
// idempotent, because Temporal runs an activity at least once: a rerun
// leaves the same state as one run. Retry policies are set by the caller
// (workflows); errors that retrying cannot fix are returned as
// non-retryable application errors with the ErrType* types below.
//
// The workflow does not schedule an optional step whose setting is empty
// (MEDIA_DIR, NOTIFY_URL, ALERT_URL); called all the same (by a workflow
// whose history planned it on a worker configured otherwise), it answers
// Skipped.
package activities

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/temporal"

	"github.com/mediaflow/mediaflow"
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
	// ErrTypeForbiddenAddress: the media URL, or a redirect, leads to an
	// address that is not public (loopback, private, link-local, …) and
	// not allowed by MediaAllowedHosts.
	ErrTypeForbiddenAddress = "ForbiddenAddress"
	// ErrTypeInvalidPath: the media's path cannot be made on this file
	// system, the same way on every attempt (a name too long, invalid).
	ErrTypeInvalidPath = "InvalidPath"
	// ErrTypeInvalidResponse: the media host's answer cannot be the whole
	// media (a 206 to a request without Range, an unknown
	// Content-Encoding, …; see DownloadMedia).
	ErrTypeInvalidResponse = "InvalidResponse"
)

// ErrTypeRetryableHTTP is the type of retryable HTTP failures (408, 429,
// 5xx); they carry the target's Retry-After as the next retry delay.
const ErrTypeRetryableHTTP = "RetryableHTTP"

// ErrTypeDeliveryBusy is the type of a retryable notify or alert failure:
// another event of the same job outcome is POSTing it right now; a retry
// finds it delivered (or the POST failed, and sends it).
const ErrTypeDeliveryBusy = "DeliveryBusy"

// ErrTypeDownloadBusy is the type of a retryable download failure: another
// attempt (one that Temporal timed out but that has not stopped yet, or
// another event's) is writing the same partial file.
const ErrTypeDownloadBusy = "DownloadBusy"

// JobStore is the part of store.Store the activities use.
type JobStore interface {
	UpsertJob(ctx context.Context, j store.Job) (stored bool, err error)
	RecordEvent(ctx context.Context, j store.Job) (stored bool, current string, err error)
	RecordMedia(ctx context.Context, jobID, eventID, path string, size int64, sha256 string) (stored bool, current string, err error)
	CurrentEvent(ctx context.Context, jobID string) (string, error)
	Job(ctx context.Context, jobID string) (store.Job, error)
	MarkHandled(ctx context.Context, jobID, eventID string) (bool, error)
	ClaimDelivery(ctx context.Context, d store.Delivery) (store.Claim, error)
	TakeOverDelivery(ctx context.Context, d store.Delivery, from string) (bool, error)
	ReleaseDelivery(ctx context.Context, d store.Delivery) error
	RecordDelivery(ctx context.Context, d store.Delivery) error
}

// Signaler sends a signal to a workflow: a Temporal client.
type Signaler interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// Activities holds the activities' dependencies; the worker registers a
// *Activities and workflows call its methods through a nil pointer.
type Activities struct {
	Store JobStore
	// HTTP is the client for notifications and alerts (default
	// NewHTTPClient()). Per-request timeouts come from contexts.
	HTTP *http.Client
	// MediaDir is where DownloadMedia saves files; empty skips it.
	MediaDir string
	// MediaAllowedHosts lists the host names, IPs and CIDR prefixes whose
	// non-public addresses downloads may reach (MEDIA_ALLOWED_HOSTS; see
	// NewMediaClient). Empty: public addresses only.
	MediaAllowedHosts []string
	// MediaHTTP, when set, is the client for downloads instead of
	// NewMediaClient(MediaAllowedHosts); it must guard addresses itself.
	MediaHTTP *http.Client
	// MediaMaxBytes bounds one download, in bytes; 0: no bound. The worker
	// sets MEDIA_MAX_BYTES (internal/config holds its default).
	MediaMaxBytes int64
	// NotifyURL and AlertURL receive the JSON summaries; empty skips them.
	NotifyURL string
	AlertURL  string
	// NotifySecret ("whsec_…"), when set, signs notifications and alerts
	// the Standard Webhooks way (webhook-id/-timestamp/-signature).
	NotifySecret string
	// Jobs, when set, is mediaflow_jobs_total{status} (see
	// telemetry.WorkerMetrics): RecordEvent (and RecordJob) count each
	// job they record.
	Jobs *prometheus.CounterVec
	// Deliveries, when set, is mediaflow_deliveries_total{receiver,
	// result}: Notify and Alert count each attempt, delivered or failed.
	Deliveries *prometheus.CounterVec
	// Temporal signals job watches (TellWatch); the worker's client.
	Temporal Signaler

	media struct { // mediaClient's, made once
		once   sync.Once
		client *http.Client
		err    error
	}
}

// RecordInput is RecordJob's argument: the event and what DownloadMedia
// did with its media (zero when it did nothing).
type RecordInput struct {
	Event mediaflow.MediaCompletedInput `json:"event"`
	Media Media                         `json:"media"`
}

// Recorded is what RecordEvent, RecordMedia (and RecordJob) did.
type Recorded struct {
	// Stale is true when the row already held a newer event for the job,
	// so this one was not written; NewerEventID names it (not set by
	// RecordJob).
	Stale        bool   `json:"stale,omitempty"`
	NewerEventID string `json:"newer_event_id,omitempty"`
}

// RecordJob upserts the job's row (one row per job ID) from the event and
// the downloaded media: the record step of workflows started before
// RecordEvent and RecordMedia replaced it (kept while their histories
// may still run). Idempotent: a rerun writes the same row once.
// Events for one job are ordered by the envelope's timestamp (the time the
// server received the event when it has none): an event older than the
// row's is not written (Stale). Database errors are retryable; an event
// without a job ID is a non-retryable InvalidData error. A written job is
// counted in Jobs.
func (a *Activities) RecordJob(ctx context.Context, in RecordInput) (Recorded, error) {
	ev := in.Event
	if ev.Job.JobID == "" || len(ev.Job.Raw) == 0 {
		return Recorded{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("event %s has no job data", ev.EventID), ErrTypeInvalidData, nil)
	}
	row := jobRow(ev)
	row.MediaPath, row.MediaSize, row.MediaSHA256 = in.Media.Path, in.Media.Size, in.Media.SHA256
	stored, err := a.Store.UpsertJob(ctx, row)
	if err != nil {
		return Recorded{}, err
	}
	if stored {
		a.countJob(row.Status)
	}
	return Recorded{Stale: !stored}, nil
}

// jobRow is the row an event makes. Events for one job are ordered by the
// envelope's timestamp (eventTime), or the time the server received the
// event when it has none that parses.
func jobRow(ev mediaflow.MediaCompletedInput) store.Job {
	eventAt, ok := eventTime(ev.EventTimestamp)
	if !ok {
		eventAt = ev.ReceivedAt
	}
	return store.Job{
		JobID:          ev.Job.JobID,
		EventID:        ev.EventID,
		Status:         ev.JobStatus(),
		RawStatus:      ev.Job.Status,
		MediaURL:       ev.Job.MediaURL,
		Results:        ev.Job.Results,
		Error:          ev.Job.Error,
		CustomPayload:  ev.Job.CustomPayload,
		Data:           ev.Job.Raw,
		EventTimestamp: ev.EventTimestamp,
		EventAt:        eventAt,
	}
}

// countJob counts a recorded job in Jobs. It counts here, once the row is
// written, rather than when the workflow completes, because the activity is
// where a job becomes a row; the price is at-least-once: an attempt that
// succeeded but whose completion did not reach Temporal (worker lost,
// timeout at that very moment) is run again and counts the job twice.
// That is rare, and the row itself is written once. Only the two
// classified statuses are labels: the workflow never records another.
func (a *Activities) countJob(status mediaflow.JobStatus) {
	if a.Jobs == nil || !status.Known() {
		return
	}
	a.Jobs.WithLabelValues(string(status)).Inc()
}

// timestampLayouts are the ISO 8601 spellings of an envelope timestamp
// that eventTime reads: RFC 3339, with a "T" or a space, a zone written
// "+01:00", "+0100" or "Z", or none (read as UTC: one sender writes all of
// a job's timestamps alike, so their order is right whatever the zone).
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
}

// eventTime reads an envelope timestamp as an instant; ok is false when it
// is none of timestampLayouts. Falling back to the receive time for a
// timestamp that is only written otherwise would order an older event,
// received last, after a newer one.
func eventTime(ts string) (t time.Time, ok bool) {
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, ts); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
