package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the test's own session
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow"
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

// outageLength is how long each database outage of TestDatabaseOutage
// lasts: long past a local activity's StartToClose (30 s), well within
// the shipped DATABASE_RETRY_WINDOW (20 min).
const outageLength = 2 * time.Minute

// TestDatabaseOutage: events are delivered while the store cannot write,
// for two minutes; RecordEvent fails and is retried with the options that
// ship; once the database can write again, every event completes,
// recorded once (none lost), with the same worker: no restart. The
// outages: a SQLite file locked by another process (a backup, a long
// migration), a SQLite file read-only when the worker starts (the reported
// case: it stayed read-only for the worker until a restart), a PostgreSQL
// server stopped and started again, and, on TEST_POSTGRES_URL's cluster,
// a database read-only for the sessions of the worker's pool when it
// starts (as a standby after a failover). They run side by side.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	outages := map[string]func(t *testing.T) outage{
		"sqlite locked":    sqliteLocked,
		"sqlite read-only": sqliteReadOnly,
		"postgres stopped": postgresStopped,
	}
	if u := dbtest.PostgresURL(t); u != "" {
		outages["postgres read-only"] = func(t *testing.T) outage { return postgresReadOnly(t, u) }
	}
	for name, setup := range outages {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := setup(t)
			a := newApp(t, func(c *appConfig) { c.env["DATABASE_URL"] = o.url })
			if o.brk != nil {
				o.brk()
			}
			down := time.Now()

			const events = 5
			ids := make([]string, events)
			for i := range ids {
				ids[i] = newEventID()
				body := eventFor("job-db-"+ids[i], "FAILED", "")
				require.Equal(t, "started", deliver(t, a.url, ids[i], body, secret).body["status"])
			}
			waitRecordFailed(t, a, events)

			time.Sleep(time.Until(down.Add(outageLength)))
			o.mend()
			for _, id := range ids {
				res, err := a.resultWithin(t, id, 3*time.Minute)
				require.NoError(t, err, "event %s after %s", id, o.description)
				require.Equal(t, mediaflow.StepResult{Step: mediaflow.StepRecord, Outcome: mediaflow.StepStored}, res.Steps[0])
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

// sqliteLocked: a database file that another process (this test binary,
// run as sqliteLocker) holds locked for writing, in an open transaction,
// from when the worker runs until mend ends it.
func sqliteLocked(t *testing.T) outage {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := store.Open(context.Background(), "sqlite://"+path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	var locker *exec.Cmd
	var release io.WriteCloser
	return outage{url: "sqlite://" + path, description: "the other process let go of its lock",
		brk: func() {
			locker = exec.Command(os.Args[0])
			locker.Env = append(os.Environ(), sqliteLockerEnv+"="+path)
			locker.Stderr = os.Stderr
			release, err = locker.StdinPipe()
			require.NoError(t, err)
			out, err := locker.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, locker.Start())
			t.Cleanup(func() { locker.Process.Kill(); locker.Wait() })
			line, err := bufio.NewReader(out).ReadString('\n')
			require.NoError(t, err, "the locker did not lock")
			require.Equal(t, "locked\n", line)
		},
		mend: func() {
			require.NoError(t, release.Close())
			require.NoError(t, locker.Wait())
		},
	}
}

// sqliteLockerEnv names the SQLite file the test binary locks when it runs
// as sqliteLocker (see TestMain).
const sqliteLockerEnv = "E2E_SQLITE_LOCK"

// sqliteLocker holds the SQLite file at path locked for writing (BEGIN
// IMMEDIATE: other writers wait, then fail with SQLITE_BUSY), says
// "locked" on stdout, and lets go when stdin closes.
func sqliteLocker(path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	_, err = conn.ExecContext(context.Background(), "ROLLBACK")
	return err
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
