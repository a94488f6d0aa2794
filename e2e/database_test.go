package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the test's own session
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/dbtest"
	"github.com/mediaflow/mediaflow/internal/store"
)

// outage is a database in trouble: its URL, what breaks it once the app
// runs (nil when it is broken from the start) and what mends it.
type outage struct {
	url         string
	brk, mend   func()
	description string
}

// TestDatabaseOutage: events are delivered while the store cannot write;
// RecordEvent fails and is retried; once the database can write again,
// every event completes, recorded once (none lost), with the same worker:
// no restart. On SQLite the file is read-only when the worker starts (the
// reported case: it stayed read-only for the worker until a restart); on
// PostgreSQL the server is stopped and started again, and, on
// TEST_POSTGRES_URL's cluster, the database is read-only for the sessions
// of the worker's pool when it starts (as a standby after a failover).
func TestDatabaseOutage(t *testing.T) {
	outages := map[string]func(t *testing.T) outage{
		"sqlite read-only": sqliteReadOnly,
		"postgres stopped": postgresStopped,
	}
	if u := os.Getenv("TEST_POSTGRES_URL"); u != "" {
		outages["postgres read-only"] = func(t *testing.T) outage { return postgresReadOnly(t, u) }
	} else if os.Getenv("CI") != "" {
		t.Fatal("TEST_POSTGRES_URL is not set in CI")
	}
	for name, setup := range outages {
		t.Run(name, func(t *testing.T) {
			o := setup(t)
			a := newApp(t, func(c *appConfig) {
				c.env["DATABASE_URL"] = o.url
				// Retried every 100 to 500 ms, 40 times at most: enough for
				// the outage below, and a recovery that does not happen
				// fails the test within seconds instead of 20 minutes.
				c.options.Local.RetryPolicy = &temporal.RetryPolicy{
					InitialInterval:    100 * time.Millisecond,
					BackoffCoefficient: 2,
					MaximumInterval:    500 * time.Millisecond,
					MaximumAttempts:    40,
				}
			})
			if o.brk != nil {
				o.brk()
			}

			const events = 5
			ids := make([]string, events)
			for i := range ids {
				ids[i] = newEventID()
				body := eventFor("job-db-"+ids[i], "FAILED", "")
				require.Equal(t, "started", deliver(t, a.url, ids[i], body, secret).body["status"])
			}
			waitRecordFailed(t, a, events)

			o.mend()
			for _, id := range ids {
				res, err := a.result(t, id)
				require.NoError(t, err, "event %s after %s", id, o.description)
				require.Contains(t, res.Steps, "record: stored")
			}
			n, err := a.store.CountJobs(context.Background())
			require.NoError(t, err)
			require.Equal(t, events, n, "every event recorded once")
		})
	}
}

// waitRecordFailed waits until RecordEvent, the local activity that
// records an event, has failed at least n times on the app's worker.
func waitRecordFailed(t *testing.T, a *testApp, n int) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		failed := testutil.ToFloat64(a.worker.ActivityAttempts.WithLabelValues("RecordEvent", "error"))
		assert.GreaterOrEqual(c, failed, float64(n), "failed RecordEvent attempts")
	}, 30*time.Second, 50*time.Millisecond)
}

// sqliteReadOnly: a database file with its migrations applied, not
// writable when the worker opens it (dbtest.Unwritable; the tests run as
// root, whom file modes do not stop).
func sqliteReadOnly(t *testing.T) outage {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := store.Open(context.Background(), "sqlite://"+path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	writable := dbtest.Unwritable(t, path)
	return outage{url: "sqlite://" + path, mend: writable, description: "the file became writable"}
}

// postgresStopped: a cluster of the test's own, stopped once the worker
// runs and started again.
func postgresStopped(t *testing.T) outage {
	pg := dbtest.NewPostgres(t)
	return outage{url: pg.URL, brk: pg.Stop, mend: pg.Start, description: "PostgreSQL started again"}
}

// postgresReadOnly: a database of its own on the cluster at pgURL, whose
// sessions default to read-only transactions when the worker starts
// (writes fail with SQLSTATE 25006), and to read-write again later (for
// new sessions only, as a failover that is over).
func postgresReadOnly(t *testing.T, pgURL string) outage {
	ctx := context.Background()
	admin, err := sql.Open("pgx", pgURL)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("e2e_readonly_%d", time.Now().UnixNano())
	_, err = admin.ExecContext(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name + " WITH (FORCE)") })
	u, err := url.Parse(pgURL)
	require.NoError(t, err)
	u.Path = "/" + name
	s, err := store.Open(ctx, u.String()) // applies the migrations
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = admin.ExecContext(ctx, "ALTER DATABASE "+name+" SET default_transaction_read_only = on")
	require.NoError(t, err)
	return outage{url: u.String(), description: "the database became writable", mend: func() {
		_, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" RESET default_transaction_read_only")
		require.NoError(t, err)
	}}
}

// TestWorkerStartWithoutDatabase: a worker whose database cannot be
// reached or opened at start does not start; its error (the line
// cmd/worker prints before exiting 1) says which and why, without the
// password of DATABASE_URL. Events wait in Temporal meanwhile: no worker
// runs their activities, so none of RecordJob's retries are spent. (A
// read-only database whose migrations are applied does start: see
// TestDatabaseOutage.)
func TestWorkerStartWithoutDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.db")
	s, err := store.Open(context.Background(), "sqlite://"+path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	dbtest.Unwritable(t, path, dir)

	for _, tc := range []struct {
		name, url, want string
	}{
		{"postgres unreachable", "postgres://mediaflow:hunter2@127.0.0.1:1/mediaflow?connect_timeout=5", "database: postgres: connecting: "},
		{"sqlite directory read-only", "sqlite://" + path, "database: sqlite " + path + ": opening the database (its directory must be writable too"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.LoadWorker(config.Environ{
				"TEMPORAL_ADDRESS":     temporalAddress,
				"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
				"DATABASE_URL":         tc.url,
			})
			require.NoError(t, err)
			w, err := app.NewWorker(context.Background(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				w.Close()
			}
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
}
