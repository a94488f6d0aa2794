package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mediaflow/mediaflow/internal/pglocal"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/tools/internal/stack"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

// system is the topology under test, run by tools/internal/stack in the
// test's own directory (so the counts hold this run's events alone): the
// dev server with one worker and one server on SQLite, or make cluster's
// (temporal-server on PostgreSQL, two workers and two servers sharing a
// PostgreSQL job store). Notifications and alerts go to the test's target.
type system struct {
	st        *stack.Stack
	urls      []string
	temporal  string
	database  string // mediaflow's job store, with its password
	rec       record // what it is, for the report
	serverURL string // the dev server topology's server, for the overload phase
}

func startSystem(ctx context.Context, o options, targetURL string) (*system, error) {
	root, err := localtemporal.Root()
	if err != nil {
		return nil, err
	}
	cli, err := localtemporal.FindCLI(root)
	if err != nil {
		return nil, err
	}
	if err := stack.Build(root, "./cmd/server", "./cmd/worker", "./tools/devpeer"); err != nil {
		return nil, err
	}
	// The events carry no media_url: no downloads.
	env := stack.With(os.Environ(), "LOG_LEVEL=warn", "TEMPORAL_TASK_QUEUE=", "OTEL_EXPORTER_OTLP_ENDPOINT=", "MEDIA_DIR=",
		"BLOB_URL=file://"+filepath.Join(o.dir, "blobs"))
	notify := []string{"NOTIFY_URL=" + targetURL + "/notify", "ALERT_URL=" + targetURL + "/alert", "NOTIFY_SECRET="}
	s := &system{st: &stack.Stack{Dir: o.dir, Out: os.Stdout, T0: time.Now(), Append: true}}
	if o.cluster {
		// As root, PostgreSQL runs as postgres: it must reach its data
		// directory (MkdirTemp makes the work directory 0700).
		if err := os.Chmod(o.dir, 0o755); err != nil {
			return nil, err
		}
		_, uiErr := os.Stat(filepath.Join(root, "bin", "temporal-ui-server"))
		c := stack.Cluster{Root: root, Dir: filepath.Join(o.dir, "cluster"), CLI: cli.Path, PGBin: pglocal.Bin(), PGPort: 5433,
			UI: uiErr == nil, Env: stack.With(env, "LOG_FORMAT=json"), Secret: secret, Worker: notify,
			PostgresPassword: "chaos-local-only", MediaflowPassword: "chaos-local-only"}
		if s.st.Procs, err = c.Procs(); err != nil {
			return nil, err
		}
		if err := c.Prepare(); err != nil {
			return nil, err
		}
		s.st.Dir, s.urls, s.temporal = c.Dir, c.WebhookURLs(), stack.ClusterTemporal
		s.database = strings.Replace(c.DatabaseURL(), "mediaflow@", "mediaflow:"+c.MediaflowPassword+"@", 1)
		s.rec = record{Topology: "cluster", Temporal: clusterVersion(root),
			Mediaflow: "two workers, two servers, a PostgreSQL job store (`make cluster`'s); each delivery goes to either server"}
	} else {
		d := stack.Dev{Root: root, Dir: o.dir, CLI: cli.Path, Temporal: stack.FreeAddr(), HTTP: stack.FreeAddr(), Metrics: stack.FreeAddr(),
			Env: stack.With(env, append(notify, "ANIMUS_WEBHOOK_SECRET="+secret, "DATABASE_URL=sqlite://"+filepath.Join(o.dir, "jobs.db"))...)}
		s.st.Procs, s.urls, s.temporal = d.Procs(), []string{"http://" + d.HTTP + "/webhooks/animus"}, d.Temporal
		s.database, s.serverURL = "sqlite://"+filepath.Join(o.dir, "jobs.db"), "http://"+d.HTTP
		s.rec = record{Topology: "dev server", Temporal: "Temporal CLI, dev server " + cli.Server + ", a database file",
			Mediaflow: "one worker, one server (`bin/worker`, `bin/server`), SQLite job store"}
	}
	if err := s.st.Start(ctx); err != nil {
		s.failed()
		s.st.Stop()
		return nil, err
	}
	return s, nil
}

// clusterVersion names temporal-server's version and PostgreSQL's.
func clusterVersion(root string) string {
	server, _ := exec.Command(filepath.Join(root, "bin", "temporal-server"), "--version").Output()
	pg, _ := exec.Command(filepath.Join(pglocal.Bin(), "postgres"), "--version").Output()
	// "postgres (PostgreSQL) 15.18 (Debian …)"
	return strings.TrimSpace(string(server)) + " (temporal-server, deploy/temporal/config.yaml) on PostgreSQL " +
		strings.Join(strings.Fields(string(pg))[2:3], "")
}

// fault kills the process name with SIGKILL and starts it again:
// PostgreSQL after 3 s down, a worker after 1 s, the others at once. Then
// any other process that exited meanwhile is started again, as
// docker-compose.yml's restart policy would, and the note says so.
func (s *system) fault(ctx context.Context, name string) (string, error) {
	down, what := time.Duration(0), name+" killed (SIGKILL) and restarted"
	switch {
	case name == "postgresql":
		down, what = 3*time.Second, "PostgreSQL killed (SIGKILL), down 3 s, restarted"
	case strings.HasPrefix(name, "worker"):
		down = time.Second
	}
	if err := s.st.Restart(ctx, name, true, down); err != nil {
		return "", err
	}
	for _, n := range s.st.Names() {
		if !s.st.Running(n) {
			if err := s.st.Restart(ctx, n, false, 0); err != nil {
				return "", fmt.Errorf("%s had exited: %w", n, err)
			}
			what += "; " + n + " had exited, restarted"
		}
	}
	return what, nil
}

func (s *system) countRows(ctx context.Context) (int, error) {
	st, err := store.Open(ctx, s.database)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.CountJobs(ctx)
}

// failed prints the end of each process's log.
func (s *system) failed() {
	logs, _ := filepath.Glob(filepath.Join(s.st.Dir, "*.log"))
	for _, f := range logs {
		b, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		fmt.Printf("--- the end of %s:\n%s\n", f, strings.Join(lines[max(len(lines)-30, 0):], "\n"))
	}
}
