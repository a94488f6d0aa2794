package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mediaflow/mediaflow/internal/dbtest"
)

// sqliteCode is the primary SQLite result code of err, 0 if it has none.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() & 0xff
	}
	return 0
}

// pgCode is the SQLSTATE of err, "" if it has none.
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// TestSQLiteWritableAgain: a SQLite file that cannot be written fails
// writes; once it can be written again, the next write succeeds on the
// same Store, without reopening it. Files are made unwritable with
// dbtest.Unwritable (the immutable attribute, as tests run as root).
func TestSQLiteWritableAgain(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// atOpen: the file is unwritable when the Store is opened (the
		// worker started so); otherwise it becomes so while open.
		atOpen bool
	}{
		{name: "unwritable when opened", atOpen: true},
		{name: "unwritable while open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "jobs.db")
			u := "sqlite://" + path
			s, err := Open(ctx, u)
			require.NoError(t, err)
			job := sampleJob(time.Date(2026, 11, 20, 14, 3, 28, 0, time.UTC))
			_, err = s.UpsertJob(ctx, job)
			require.NoError(t, err)

			var writable func()
			if tc.atOpen {
				require.NoError(t, s.Close())
				writable = dbtest.Unwritable(t, path)
				// The migrations are applied: a read-only file opens.
				s, err = Open(ctx, u)
				require.NoError(t, err)
			} else {
				// Its WAL and directory too. Not its shared-memory file
				// (-shm), which SQLite maps into memory: a store into a
				// page it cannot write is a SIGBUS, which the race
				// detector's runtime does not survive.
				writable = dbtest.Unwritable(t, path, path+"-wal", dir)
			}
			defer s.Close()

			later := job
			later.EventID, later.EventAt = "msg_2", job.EventAt.Add(time.Second)
			_, err = s.UpsertJob(ctx, later)
			require.Error(t, err)
			require.Contains(t, []int{sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR}, sqliteCode(err), "%v", err)
			// A read in between, as a query of the row would, is served or
			// fails; either way it must not leave a read-only connection
			// behind for the next write.
			s.Job(ctx, job.JobID)

			writable()
			stored, err := s.UpsertJob(ctx, later)
			require.NoError(t, err, "the next write after the file is writable again")
			require.True(t, stored)
			got, err := s.Job(ctx, job.JobID)
			require.NoError(t, err)
			require.Equal(t, "msg_2", got.EventID)
		})
	}
}

// TestOpenSQLiteUnwritable: the store opens a read-only SQLite file whose
// migrations are applied (the worker starts; writes recover later), but
// not one with migrations to apply, nor one it cannot open at all (a
// read-only directory where its WAL files cannot be made): the worker
// exits with the reason rather than run on a schema it cannot check.
func TestOpenSQLiteUnwritable(t *testing.T) {
	ctx := context.Background()

	t.Run("migrations to apply", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "jobs.db")
		db, _, err := openSQLite(path)
		require.NoError(t, err)
		sub, err := fs.Sub(migrations, "migrations/sqlite")
		require.NoError(t, err)
		p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
		require.NoError(t, err)
		_, err = p.UpTo(ctx, 1)
		require.NoError(t, err)
		require.NoError(t, db.Close())

		writable := dbtest.Unwritable(t, path)
		_, err = Open(ctx, "sqlite://"+path)
		require.ErrorContains(t, err, "migrations")
		require.Equal(t, sqlite3.SQLITE_READONLY, sqliteCode(err), "%v", err)

		writable()
		s, err := Open(ctx, "sqlite://"+path)
		require.NoError(t, err)
		s.Close()
	})

	t.Run("directory read-only", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "jobs.db")
		s, err := Open(ctx, "sqlite://"+path)
		require.NoError(t, err)
		require.NoError(t, s.Close())

		writable := dbtest.Unwritable(t, path, dir)
		_, err = Open(ctx, "sqlite://"+path)
		require.ErrorContains(t, err, path)
		require.ErrorContains(t, err, "directory")
		require.Equal(t, sqlite3.SQLITE_CANTOPEN, sqliteCode(err), "%v", err)

		writable()
		s, err = Open(ctx, "sqlite://"+path)
		require.NoError(t, err)
		s.Close()
	})
}

// TestPostgresRestart: the PostgreSQL server is stopped under an open
// Store (pg_ctl -m fast, as an operator's restart or a failover does) and
// started again: writes fail while it is down and succeed afterwards on
// the same Store. It runs on a cluster of its own (dbtest.NewPostgres),
// not TEST_POSTGRES_URL's, which other packages' tests use meanwhile.
func TestPostgresRestart(t *testing.T) {
	ctx := context.Background()
	pg := dbtest.NewPostgres(t)
	// The cluster trusts local connections: the password is not needed,
	// only there to be kept out of errors.
	u, err := url.Parse(pg.URL)
	require.NoError(t, err)
	u.User = url.UserPassword("postgres", "hunter2")
	s, err := Open(ctx, u.String())
	require.NoError(t, err)
	defer s.Close()
	job := sampleJob(time.Date(2026, 11, 20, 14, 3, 28, 0, time.UTC))
	_, err = s.UpsertJob(ctx, job)
	require.NoError(t, err)

	pg.Stop()
	later := job
	later.EventID, later.EventAt = "msg_2", job.EventAt.Add(time.Second)
	_, err = s.UpsertJob(ctx, later)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")

	pg.Start()
	stored, err := s.UpsertJob(ctx, later)
	require.NoError(t, err, "the next write after the server is back")
	require.True(t, stored)
	got, err := s.Job(ctx, job.JobID)
	require.NoError(t, err)
	require.Equal(t, "msg_2", got.EventID)
}

// TestPostgresReadOnly: sessions that reach a server that cannot write
// (a standby after a failover; here a database whose sessions default to
// read-only transactions) fail writes with SQLSTATE 25006; once new
// sessions can write, the next write succeeds on the same Store. The
// Store opens while the database is read-only and its migrations are
// applied (the worker starts).
func TestPostgresReadOnly(t *testing.T) {
	pgURL := dbtest.PostgresURL(t)
	if pgURL == "" {
		t.Skip("PostgreSQL not installed: not tested")
	}
	ctx := context.Background()
	admin, err := openPostgres(pgURL)
	require.NoError(t, err)
	defer admin.Close()
	// A database of its own: the setting below applies to its sessions only.
	name := fmt.Sprintf("readonly_%d", time.Now().UnixNano())
	_, err = admin.ExecContext(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name + " WITH (FORCE)") })
	u, err := url.Parse(pgURL)
	require.NoError(t, err)
	u.Path = "/" + name
	s, err := Open(ctx, u.String())
	require.NoError(t, err)
	require.NoError(t, s.Close())

	_, err = admin.ExecContext(ctx, "ALTER DATABASE "+name+" SET default_transaction_read_only = on")
	require.NoError(t, err)
	s, err = Open(ctx, u.String())
	require.NoError(t, err, "a read-only database with its migrations applied opens")
	defer s.Close()
	job := sampleJob(time.Date(2026, 11, 20, 14, 3, 28, 0, time.UTC))
	_, err = s.UpsertJob(ctx, job)
	require.Error(t, err)
	require.Equal(t, "25006", pgCode(err), "%v", err)
	_, err = s.CountJobs(ctx)
	require.NoError(t, err, "reads work")

	_, err = admin.ExecContext(ctx, "ALTER DATABASE "+name+" RESET default_transaction_read_only")
	require.NoError(t, err)
	stored, err := s.UpsertJob(ctx, job)
	require.NoError(t, err, "the next write after the database can write again")
	require.True(t, stored)
}

// TestFreshConnFixes pins the classification of errors that are hard to
// cause on demand (a crash, a protocol violation): the connection is
// discarded for connection-level codes, kept for statement-level ones.
func TestFreshConnFixes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "08006"}, true},  // connection_failure
		{&pgconn.PgError{Code: "08P01"}, true},  // protocol_violation
		{&pgconn.PgError{Code: "25006"}, true},  // read_only_sql_transaction
		{&pgconn.PgError{Code: "57P01"}, true},  // admin_shutdown
		{&pgconn.PgError{Code: "57P02"}, true},  // crash_shutdown
		{&pgconn.PgError{Code: "57P03"}, true},  // cannot_connect_now
		{&pgconn.PgError{Code: "23505"}, false}, // unique_violation
		{&pgconn.PgError{Code: "40001"}, false}, // serialization_failure
		{&pgconn.PgError{Code: "42P01"}, false}, // undefined_table
		{fmt.Errorf("upserting: %w", &pgconn.PgError{Code: "57P01"}), true},
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{sql.ErrNoRows, false},
		{errors.New("attempt to write a readonly database"), false}, // text is not a code
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			if got := freshConnFixes(tc.err); got != tc.want {
				t.Errorf("freshConnFixes(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
