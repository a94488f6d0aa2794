package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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

// Claim is who holds the delivery of an outcome to a receiver: the event
// that delivered it (HTTPStatus its receiver's answer) or, while
// HTTPStatus is 0, the event whose POST is under way, since At.
type Claim struct {
	EventID    string
	HTTPStatus int
	At         time.Time
}

// ClaimDelivery claims the delivery of d's outcome to d's receiver for
// d.EventID, unless an event claimed or delivered it before, and returns
// the claim that holds: d.EventID's when it is new. A claim keeps a second
// event ID of the same outcome from POSTing it while the first's POST is
// under way (RecordDelivery then marks it delivered, ReleaseDelivery
// drops it when the POST failed).
func (s *Store) ClaimDelivery(ctx context.Context, d Delivery) (Claim, error) {
	const claim = `
INSERT INTO deliveries (job_id, receiver, status, outcome, event_id, http_status)
VALUES ($1, $2, $3, $4, $5, 0)
ON CONFLICT (job_id, receiver, status, outcome) DO NOTHING`
	const read = `
SELECT event_id, http_status, delivered_at FROM deliveries
WHERE job_id = $1 AND receiver = $2 AND status = $3 AND outcome = $4`
	var (
		c  Claim
		at any
	)
	err := s.withConn(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, claim, d.JobID, d.Receiver, d.Status, d.Outcome, d.EventID); err != nil {
			return err
		}
		return conn.QueryRowContext(ctx, read, d.JobID, d.Receiver, d.Status, d.Outcome).Scan(&c.EventID, &c.HTTPStatus, &at)
	})
	if err != nil {
		return Claim{}, fmt.Errorf("claiming the delivery of job %s: %w", d.JobID, err)
	}
	c.At = timeOf(at, sqliteTimestamp)
	return c, nil
}

// TakeOverDelivery gives the claim of d's outcome that event from holds,
// not delivered, to d.EventID (an abandoned claim: its worker was lost
// mid-POST); false when from no longer holds it undelivered.
func (s *Store) TakeOverDelivery(ctx context.Context, d Delivery, from string) (bool, error) {
	const q = `
UPDATE deliveries SET event_id = $5, delivered_at = CURRENT_TIMESTAMP
WHERE job_id = $1 AND receiver = $2 AND status = $3 AND outcome = $4 AND event_id = $6 AND http_status = 0`
	var took bool
	err := s.withConn(ctx, func(c *sql.Conn) error {
		res, err := c.ExecContext(ctx, q, d.JobID, d.Receiver, d.Status, d.Outcome, d.EventID, from)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		took = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claiming the delivery of job %s: %w", d.JobID, err)
	}
	return took, nil
}

// ReleaseDelivery drops d.EventID's claim of d's outcome, if it holds one
// not delivered: its POST failed, another event may send the outcome.
func (s *Store) ReleaseDelivery(ctx context.Context, d Delivery) error {
	const q = `
DELETE FROM deliveries
WHERE job_id = $1 AND receiver = $2 AND status = $3 AND outcome = $4 AND event_id = $5 AND http_status = 0`
	err := s.withConn(ctx, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, q, d.JobID, d.Receiver, d.Status, d.Outcome, d.EventID)
		return err
	})
	if err != nil {
		return fmt.Errorf("releasing the delivery of job %s: %w", d.JobID, err)
	}
	return nil
}

// RecordDelivery records d as delivered; the first delivery of an
// outcome stays. It marks d.EventID's claim delivered, or any claim not
// delivered (d's POST got through though its claim was taken over).
func (s *Store) RecordDelivery(ctx context.Context, d Delivery) error {
	const q = `
INSERT INTO deliveries (job_id, receiver, status, outcome, event_id, http_status)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (job_id, receiver, status, outcome) DO UPDATE SET
    event_id = excluded.event_id, http_status = excluded.http_status, delivered_at = CURRENT_TIMESTAMP
WHERE deliveries.http_status = 0`
	err := s.withConn(ctx, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, q, d.JobID, d.Receiver, d.Status, d.Outcome, d.EventID, d.HTTPStatus)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording the delivery of job %s: %w", d.JobID, err)
	}
	return nil
}
