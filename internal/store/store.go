// Package store keeps one row per Animus job in SQL: SQLite
// (modernc.org/sqlite, no cgo) by default, PostgreSQL when DATABASE_URL
// says postgres://. Migrations are embedded and applied by goose at Open.
// Every statement runs through Store.withConn, which drops connections
// that a fresh one would do better than (read-only, lost, failed over), so
// the store recovers from a database that was down or read-only without a
// restart of the worker.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mediaflow/mediaflow"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// ErrNotFound is returned by Store.Job when no row has that job ID.
var ErrNotFound = errors.New("job not found")

// Job is one row: the latest event received for an Animus job.
type Job struct {
	JobID   string
	EventID string
	// Status is mediaflow.ClassifyStatus of RawStatus ("completed",
	// "failed"; the workflow records no other).
	Status    mediaflow.JobStatus
	RawStatus string
	MediaURL  string
	// Results, Error, CustomPayload and Data are JSON as received; nil for
	// an absent or null value (Data is never nil).
	Results       json.RawMessage
	Error         json.RawMessage
	CustomPayload json.RawMessage
	Data          json.RawMessage
	// EventTimestamp is the envelope's timestamp as sent.
	EventTimestamp string
	// EventAt orders events for one job: the event's own timestamp, or when
	// it was received if it has none. An upsert older than the row is
	// ignored.
	EventAt time.Time
	// MediaPath, MediaSize (bytes) and MediaSHA256 (hex) describe the
	// downloaded media; empty when it was not downloaded.
	MediaPath   string
	MediaSize   int64
	MediaSHA256 string
	// HandledAt is when the event's outcome became final (MarkHandled);
	// zero while its steps run.
	HandledAt time.Time
}

// Store is a SQL database holding the jobs table.
type Store struct {
	db      *sql.DB
	dialect goose.Dialect
}

// Open connects to the database named by url and applies pending
// migrations. url is "postgres://…" / "postgresql://…" for PostgreSQL, or
// "sqlite://path", "file:path" or a bare path for SQLite (the directory is
// created). A database that can be read but not written opens when its
// migrations are applied: writes fail until it can be written again, then
// succeed without reopening (see withConn). Open fails when the database
// cannot be reached or read, or has migrations to apply and cannot be
// written. Errors name the database kind (and a SQLite file's path) but
// not a PostgreSQL URL, which may hold a password.
func Open(ctx context.Context, url string) (*Store, error) {
	var (
		s    Store
		err  error
		kind string // for errors: "postgres" or "sqlite <path>"
	)
	switch {
	case IsPostgres(url):
		s.dialect, kind = goose.DialectPostgres, "postgres"
		s.db, err = openPostgres(url)
	default:
		var path string
		s.dialect = goose.DialectSQLite3
		s.db, path, err = openSQLite(url)
		kind = "sqlite " + path
	}
	if err != nil {
		return nil, err
	}
	s.db.SetMaxIdleConns(maxIdleConns)
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		var sqliteErr *sqlite.Error
		if errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqlite3.SQLITE_CANTOPEN {
			// The file exists or could be created (its directory is made
			// above): most likely its -wal and -shm files could not be.
			return nil, fmt.Errorf("%s: opening the database (its directory must be writable too, for the -wal and -shm files beside it): %w", kind, err)
		}
		return nil, fmt.Errorf("%s: connecting: %w", kind, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	// Connections of the migrations may be read-only ones (the database
	// opened read-only): the store starts from none.
	s.resetIdle()
	return &s, nil
}

// IsPostgres reports whether url names PostgreSQL ("postgres://…",
// "postgresql://…"); Open takes any other as SQLite.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// SQLitePath is the file a SQLite url names: "sqlite://path", "file:path",
// "file:///absolute/path" (or "file://localhost/…": a file URI's only
// authority) or a bare path, any "?query" dropped.
func SQLitePath(url string) string {
	path := strings.TrimPrefix(url, "sqlite://")
	if rest, ok := strings.CutPrefix(path, "file://"); ok {
		path = strings.TrimPrefix(rest, "localhost")
	} else {
		path = strings.TrimPrefix(path, "file:")
	}
	path, _, _ = strings.Cut(path, "?")
	return path
}

func openSQLite(url string) (db *sql.DB, path string, err error) {
	if path = SQLitePath(url); path == "" {
		return nil, "", errors.New("sqlite: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, "", fmt.Errorf("sqlite: %w", err)
	}
	// WAL lets readers (a user's sqlite3 shell) work beside the worker; the
	// busy timeout absorbs their locks.
	db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: %w", err)
	}
	// One writer at a time is all SQLite allows; one connection makes
	// concurrent activities queue here instead of failing with SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	return db, path, nil
}

func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	if s.dialect == goose.DialectPostgres {
		dir = "migrations/postgres"
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	var opts []goose.ProviderOption
	if s.dialect == goose.DialectPostgres {
		// Workers starting together on a new database migrate one at a time.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.dialect, s.db, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// eventAtLayout is fixed width so SQLite's text comparison orders it.
const eventAtLayout = "2006-01-02T15:04:05.000000Z"

// UpsertJob writes j as the row for j.JobID, final (handled), and reports
// whether it did: the record step of workflows from before RecordEvent.
// Writing the same event again writes the same row; an event as recent as
// the row's or more replaces it; an older one is ignored (stored false).
// Both dialects run the same statement.
func (s *Store) UpsertJob(ctx context.Context, j Job) (stored bool, err error) {
	const q = `
INSERT INTO jobs (job_id, event_id, status, raw_status, media_url, results, error, custom_payload, data, event_timestamp, event_at,
                  media_path, media_size, media_sha256, handled_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, CURRENT_TIMESTAMP)
ON CONFLICT (job_id) DO UPDATE SET
    event_id = excluded.event_id, status = excluded.status, raw_status = excluded.raw_status,
    media_url = excluded.media_url, results = excluded.results, error = excluded.error,
    custom_payload = excluded.custom_payload, data = excluded.data,
    event_timestamp = excluded.event_timestamp, event_at = excluded.event_at,
    media_path = excluded.media_path, media_size = excluded.media_size, media_sha256 = excluded.media_sha256,
    handled_at = excluded.handled_at, updated_at = CURRENT_TIMESTAMP
WHERE excluded.event_at >= jobs.event_at`
	err = s.withConn(ctx, func(c *sql.Conn) error {
		res, err := c.ExecContext(ctx, q,
			j.JobID, j.EventID, j.Status, j.RawStatus, j.MediaURL,
			jsonArg(j.Results), jsonArg(j.Error), jsonArg(j.CustomPayload), string(j.Data),
			j.EventTimestamp, j.EventAt.UTC().Format(eventAtLayout),
			nullString(j.MediaPath), nullInt(j.MediaSize, j.MediaPath != ""), nullString(j.MediaSHA256))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		stored = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("upserting job %s: %w", j.JobID, err)
	}
	return stored, nil
}

// Job returns the row for jobID, or ErrNotFound.
func (s *Store) Job(ctx context.Context, jobID string) (Job, error) {
	const q = `
SELECT job_id, event_id, status, raw_status, media_url, results, error, custom_payload, data, event_timestamp, event_at,
       media_path, media_size, media_sha256, handled_at
FROM jobs WHERE job_id = $1`
	var (
		j                              Job
		results, jobErr, payload, data sql.NullString
		mediaPath, mediaSHA            sql.NullString
		mediaSize                      sql.NullInt64
		eventAt, handledAt             any
	)
	err := s.withConn(ctx, func(c *sql.Conn) error {
		return c.QueryRowContext(ctx, q, jobID).Scan(&j.JobID, &j.EventID, &j.Status, &j.RawStatus, &j.MediaURL,
			&results, &jobErr, &payload, &data, &j.EventTimestamp, &eventAt, &mediaPath, &mediaSize, &mediaSHA, &handledAt)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("reading job %s: %w", jobID, err)
	}
	j.Results, j.Error, j.CustomPayload, j.Data = rawJSON(results), rawJSON(jobErr), rawJSON(payload), rawJSON(data)
	j.MediaPath, j.MediaSize, j.MediaSHA256 = mediaPath.String, mediaSize.Int64, mediaSHA.String
	j.EventAt = timeOf(eventAt, eventAtLayout)
	j.HandledAt = timeOf(handledAt, sqliteTimestamp)
	return j, nil
}

// sqliteTimestamp is the layout of SQLite's CURRENT_TIMESTAMP.
const sqliteTimestamp = "2006-01-02 15:04:05"

// timeOf reads a timestamp column: a time.Time (PostgreSQL), text in
// layout (SQLite), or NULL (zero).
func timeOf(v any, layout string) time.Time {
	switch v := v.(type) {
	case time.Time:
		return v.UTC()
	case string:
		t, _ := time.Parse(layout, v)
		return t
	}
	return time.Time{}
}

// CountJobs returns the number of rows.
func (s *Store) CountJobs(ctx context.Context) (int, error) {
	var n int
	err := s.withConn(ctx, func(c *sql.Conn) error {
		return c.QueryRowContext(ctx, `SELECT count(*) FROM jobs`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("counting jobs: %w", err)
	}
	return n, nil
}

func jsonArg(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullInt(n int64, valid bool) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: valid} }

func rawJSON(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return nil
	}
	return json.RawMessage(s.String)
}
