package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mediaflow/mediaflow"
)

// RecordEvent writes j's event as the row for j.JobID unless the row
// already holds a newer event (by EventAt), and reports which event the row
// holds afterwards: j.EventID when it was written, else the newer one's ID
// (stored false). j's media columns are ignored: RecordMedia writes them
// once the media is saved, and MarkHandled marks the outcome final.
// Writing the same event again keeps the media and the mark the row
// already has for it; another event clears them. Both dialects run
// the same statements.
func (s *Store) RecordEvent(ctx context.Context, j Job) (stored bool, current string, err error) {
	const q = `
INSERT INTO jobs (job_id, event_id, status, raw_status, media_url, results, error, custom_payload, data, event_timestamp, event_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (job_id) DO UPDATE SET
    event_id = excluded.event_id, status = excluded.status, raw_status = excluded.raw_status,
    media_url = excluded.media_url, results = excluded.results, error = excluded.error,
    custom_payload = excluded.custom_payload, data = excluded.data,
    event_timestamp = excluded.event_timestamp, event_at = excluded.event_at,
    media_path = CASE WHEN jobs.event_id = excluded.event_id THEN jobs.media_path END,
    media_size = CASE WHEN jobs.event_id = excluded.event_id THEN jobs.media_size END,
    media_sha256 = CASE WHEN jobs.event_id = excluded.event_id THEN jobs.media_sha256 END,
    handled_at = CASE WHEN jobs.event_id = excluded.event_id THEN jobs.handled_at END,
    updated_at = CURRENT_TIMESTAMP
WHERE excluded.event_at >= jobs.event_at`
	stored, current, err = s.writeOrCurrent(ctx, j.JobID, q,
		j.JobID, j.EventID, j.Status, j.RawStatus, j.MediaURL,
		jsonArg(j.Results), jsonArg(j.Error), jsonArg(j.CustomPayload), string(j.Data),
		j.EventTimestamp, j.EventAt.UTC().Format(eventAtLayout))
	if err != nil {
		return false, "", fmt.Errorf("recording event %s of job %s: %w", j.EventID, j.JobID, err)
	}
	if stored {
		current = j.EventID
	}
	return stored, current, nil
}

// RecordMedia writes where the media of event eventID was saved into jobID's
// row, if the row still holds that event; otherwise (a newer event took
// the row meanwhile) it writes nothing and returns the row's event ID
// (stored false). size is in bytes, sha256 hex.
func (s *Store) RecordMedia(ctx context.Context, jobID, eventID, path string, size int64, sha256 string) (stored bool, current string, err error) {
	const q = `
UPDATE jobs SET media_path = $3, media_size = $4, media_sha256 = $5, updated_at = CURRENT_TIMESTAMP
WHERE job_id = $1 AND event_id = $2`
	stored, current, err = s.writeOrCurrent(ctx, jobID, q, jobID, eventID, nullString(path), nullInt(size, path != ""), nullString(sha256))
	if err != nil {
		return false, "", fmt.Errorf("recording media of job %s: %w", jobID, err)
	}
	if stored {
		current = eventID
	}
	return stored, current, nil
}

// writeOrCurrent runs the conditional write q with args on one connection
// and reports whether it changed a row; when it did not, it reads the ID of
// the event jobID's row holds instead ("" when there is no row).
func (s *Store) writeOrCurrent(ctx context.Context, jobID, q string, args ...any) (stored bool, current string, err error) {
	err = s.withConn(ctx, func(c *sql.Conn) error {
		res, err := c.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n > 0 {
			stored = n > 0
			return err
		}
		current, err = currentEvent(ctx, c, jobID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
	return stored, current, err
}

// CurrentEvent returns the ID of the event jobID's row holds, or
// ErrNotFound.
func (s *Store) CurrentEvent(ctx context.Context, jobID string) (id string, err error) {
	err = s.withConn(ctx, func(c *sql.Conn) error {
		id, err = currentEvent(ctx, c, jobID)
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("reading job %s: %w", jobID, err)
	}
	return id, err
}

func currentEvent(ctx context.Context, c *sql.Conn, jobID string) (string, error) {
	var id string
	err := c.QueryRowContext(ctx, `SELECT event_id FROM jobs WHERE job_id = $1`, jobID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return id, err
}

// MarkHandled marks the outcome of event eventID final in jobID's row (its
// media saved and recorded), if the row still holds that event; it reports
// whether it did. Marking it again changes nothing.
func (s *Store) MarkHandled(ctx context.Context, jobID, eventID string) (bool, error) {
	const q = `
UPDATE jobs SET handled_at = CURRENT_TIMESTAMP
WHERE job_id = $1 AND event_id = $2 AND handled_at IS NULL`
	var marked bool
	err := s.withConn(ctx, func(c *sql.Conn) error {
		res, err := c.ExecContext(ctx, q, jobID, eventID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		marked = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("marking job %s handled: %w", jobID, err)
	}
	return marked, nil
}

// Delivery is one outcome of a job delivered to a receiver.
type Delivery struct {
	JobID string
	// Receiver is "notify" or "alert".
	Receiver string
	Status   mediaflow.JobStatus
	// Outcome names the outcome among the job's (its event timestamp as
	// an instant): the same for every event that reports it.
	Outcome string
	// EventID is the event whose notice was delivered; HTTPStatus the
	// receiver's answer.
	EventID    string
	HTTPStatus int
}

// Delivered returns the event ID and HTTP status of the delivery that d's
// outcome already had to d's receiver, or "" when it had none.
func (s *Store) Delivered(ctx context.Context, d Delivery) (eventID string, httpStatus int, err error) {
	const q = `
SELECT event_id, http_status FROM deliveries
WHERE job_id = $1 AND receiver = $2 AND status = $3 AND outcome = $4`
	err = s.withConn(ctx, func(c *sql.Conn) error {
		return c.QueryRowContext(ctx, q, d.JobID, d.Receiver, d.Status, d.Outcome).Scan(&eventID, &httpStatus)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("reading the deliveries of job %s: %w", d.JobID, err)
	}
	return eventID, httpStatus, nil
}

// RecordDelivery records d; the first delivery of an outcome stays.
func (s *Store) RecordDelivery(ctx context.Context, d Delivery) error {
	const q = `
INSERT INTO deliveries (job_id, receiver, status, outcome, event_id, http_status)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (job_id, receiver, status, outcome) DO NOTHING`
	err := s.withConn(ctx, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, q, d.JobID, d.Receiver, d.Status, d.Outcome, d.EventID, d.HTTPStatus)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording the delivery of job %s: %w", d.JobID, err)
	}
	return nil
}
