package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/dbtest"
)

// TestMain gives the tests TEST_POSTGRES_URL: a cluster of their own when
// PostgreSQL is installed and the variable is unset.
func TestMain(m *testing.M) { os.Exit(dbtest.WithPostgres(m.Run)) }

// openStores returns a fresh store per database kind: SQLite always,
// PostgreSQL when TEST_POSTGRES_URL is set (dbtest.WithPostgres; CI fails
// without it so PostgreSQL is never silently skipped there).
func openStores(t testing.TB) map[string]*Store {
	t.Helper()
	ctx := context.Background()
	stores := map[string]*Store{}
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "sub", "jobs.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	stores["sqlite"] = s

	pgURL := dbtest.PostgresURL(t)
	if pgURL == "" {
		t.Log("PostgreSQL not installed: not tested")
		return stores
	}
	stores["postgres"] = openPostgresSchema(t, pgURL)
	return stores
}

// openPostgresSchema opens a store in a schema of its own, dropped at the
// end, so tests do not see each other's rows.
func openPostgresSchema(t testing.TB, pgURL string) *Store {
	t.Helper()
	ctx := context.Background()
	schema := fmt.Sprintf("test_%d", time.Now().UnixNano())
	admin, err := openPostgres(pgURL)
	require.NoError(t, err)
	defer admin.Close()
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		db, _ := openPostgres(pgURL)
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	u, err := url.Parse(pgURL)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := Open(ctx, u.String())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func sampleJob(receivedAt time.Time) Job {
	return Job{
		JobID:          "7c0e6f2a-3b1d-4e8f-9a52-1d6c2b7e4f10",
		EventID:        "msg_1",
		Status:         "completed",
		RawStatus:      "COMPLETED",
		MediaURL:       "https://media.example.com/a.mp4",
		Results:        json.RawMessage(`[{"timestamp": "00:00:04", "tags": ["keynote"]}]`),
		CustomPayload:  json.RawMessage(`{"z": 1,  "a": {"nested": [1, 2]}}`),
		Data:           json.RawMessage(`{"job_id": "7c0e6f2a-3b1d-4e8f-9a52-1d6c2b7e4f10", "percent_complete": 100}`),
		EventTimestamp: "2026-11-20T14:03:27Z",
		EventAt:        receivedAt,
	}
}

func TestStore(t *testing.T) {
	for kind, s := range openStores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2026, 11, 20, 14, 3, 28, 123456000, time.UTC)
			first := sampleJob(t0)

			_, err := s.Job(ctx, first.JobID)
			require.ErrorIs(t, err, ErrNotFound)

			// A rerun of the same activity writes the same row once.
			for range 2 {
				stored, err := s.UpsertJob(ctx, first)
				require.NoError(t, err)
				require.True(t, stored)
			}
			n, err := s.CountJobs(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)

			got, err := s.Job(ctx, first.JobID)
			require.NoError(t, err)
			require.False(t, got.HandledAt.IsZero(), "a row written whole is final")
			got.HandledAt = time.Time{}
			require.Equal(t, first, got, "JSON must come back byte for byte")

			// A later event for the same job replaces the row.
			later := first
			later.EventID, later.Status, later.RawStatus = "msg_2", "failed", "failed"
			later.Results, later.Error = nil, json.RawMessage(`"decoder crashed"`)
			later.MediaPath, later.MediaSize, later.MediaSHA256 = "/media/j/a.mp4", 5<<30, "ab12"
			later.EventAt = t0.Add(time.Second)
			stored, err := s.UpsertJob(ctx, later)
			require.NoError(t, err)
			require.True(t, stored)
			got, err = s.Job(ctx, first.JobID)
			require.NoError(t, err)
			got.HandledAt = time.Time{}
			require.Equal(t, later, got)

			// An older event recorded late (its deliveries failed until
			// after the newer one got through) is ignored.
			stored, err = s.UpsertJob(ctx, first)
			require.NoError(t, err)
			require.False(t, stored)
			got, err = s.Job(ctx, first.JobID)
			require.NoError(t, err)
			require.Equal(t, "msg_2", got.EventID)

			n, err = s.CountJobs(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
		})
	}
}

func TestOpenTwiceKeepsRows(t *testing.T) {
	ctx := context.Background()
	url := "sqlite://" + filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(ctx, url)
	require.NoError(t, err)
	_, err = s.UpsertJob(ctx, sampleJob(time.Now()))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = Open(ctx, url)
	require.NoError(t, err, "migrations must be applied once")
	defer s.Close()
	n, err := s.CountJobs(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestOpenPostgresHidesPassword(t *testing.T) {
	_, err := Open(context.Background(), "postgres://user:hunter2@127.0.0.1:1/db?connect_timeout=1")
	require.ErrorContains(t, err, "postgres: connecting")
	require.NotContains(t, err.Error(), "hunter2")
}

// TestSQLitePath: the three spellings of a SQLite DATABASE_URL name the
// same file, a query (pragmas) apart, and Open writes where they say.
func TestSQLitePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "jobs.db")
	for _, u := range []string{"sqlite://" + path, "file:" + path + "?mode=rwc", "file://" + path, "file://localhost" + path, path} {
		require.Equal(t, path, SQLitePath(u), u)
	}
	s, err := Open(context.Background(), "file:"+path+"?_pragma=foo")
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.FileExists(t, path)
}
