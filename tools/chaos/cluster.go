package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mediaflow/mediaflow/internal/store"
)

// clusterSystem is make cluster's topology (PostgreSQL, temporal-server on
// it, two workers and two servers on a PostgreSQL job store), run by
// scripts/cluster.sh in a directory of the test's own, so the counts hold
// this run's events alone and the operator's data/cluster is left alone.
type clusterSystem struct {
	script       string   // scripts/cluster.sh
	dir          string   // its CLUSTER_DIR
	env          []string // every call's environment: the same settings for start and restart
	urls         []string
	temporalAddr string
	databaseURL  string // mediaflow's job store, with its password
}

func startCluster(ctx context.Context, o options, targetURL string) (*clusterSystem, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	// PostgreSQL runs as the postgres user when this runs as root: it must
	// reach its data directory (MkdirTemp makes the work directory 0700).
	if err := os.Chmod(o.dir, 0o755); err != nil {
		return nil, err
	}
	c := &clusterSystem{script: filepath.Join(root, "scripts", "cluster.sh"), dir: filepath.Join(o.dir, "cluster")}
	c.env = append(os.Environ(), "CLUSTER_DIR="+c.dir, "ANIMUS_WEBHOOK_SECRET="+secret,
		"NOTIFY_URL="+targetURL+"/notify", "ALERT_URL="+targetURL+"/alert", "NOTIFY_SECRET=",
		// The events carry no media_url: no downloads.
		"CLUSTER_MEDIA_DIR=")
	if _, err := os.Stat(filepath.Join(root, "bin", "temporal-ui-server")); err != nil {
		c.env = append(c.env, "CLUSTER_UI=off")
	}

	cmd := exec.CommandContext(ctx, c.script, "start")
	cmd.Env, cmd.Stdout, cmd.Stderr = c.env, os.Stdout, os.Stderr
	// At the deadline, SIGTERM: start then stops what it started.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Minute
	if err := cmd.Run(); err != nil {
		c.failed()
		c.stop()
		return nil, fmt.Errorf("scripts/cluster.sh start: %w", err)
	}

	// The client settings, as scripts/cluster.sh env gives them to anyone.
	env := exec.CommandContext(ctx, "bash", "-c", `eval "$("$0" env)" && printf '%s\n' "$TEMPORAL_ADDRESS" "$CLUSTER_WEBHOOK_URLS" "$CLUSTER_DATABASE_URL" "$CLUSTER_PGPASSWORD"`, c.script)
	env.Env = c.env
	out, err := env.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || len(lines) != 4 {
		c.stop()
		return nil, fmt.Errorf("scripts/cluster.sh env: %v (%q)", err, out)
	}
	c.temporalAddr, c.urls = lines[0], strings.Fields(lines[1])
	u, err := url.Parse(lines[2])
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("scripts/cluster.sh env: CLUSTER_DATABASE_URL: %w", err)
	}
	u.User = url.UserPassword(u.User.Username(), lines[3])
	c.databaseURL = u.String()
	return c, nil
}

// moduleRoot is the directory above the working directory that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("no go.mod above the working directory: run from the repository")
}

func (c *clusterSystem) webhookURLs() []string   { return c.urls }
func (c *clusterSystem) temporalAddress() string { return c.temporalAddr }

// run runs scripts/cluster.sh with args and returns its output.
func (c *clusterSystem) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.script, args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("scripts/cluster.sh %s: %w: %s", strings.Join(args, " "), err, lastLines(out, 10))
	}
	return string(out), nil
}

// fault kills the process name (a name scripts/cluster.sh knows) with
// SIGKILL and starts it again by scripts/cluster.sh restart: PostgreSQL
// after 3 s down, a worker after 1 s, the others at once. Then any other
// process that exited meanwhile is started again, as docker-compose.yml's
// restart policy would, and the note says so.
func (c *clusterSystem) fault(ctx context.Context, name string) (string, error) {
	args := []string{"restart", name, "--kill"}
	what := name + " killed (SIGKILL) and restarted"
	switch {
	case name == "postgresql":
		args = append(args, "--down", "3")
		what = "PostgreSQL killed (SIGKILL), down 3 s, restarted"
	case strings.HasPrefix(name, "worker-"):
		args = append(args, "--down", "1")
	}
	if _, err := c.run(ctx, args...); err != nil {
		return "", err
	}
	exited, err := c.exited(ctx)
	if err != nil {
		return "", err
	}
	for _, n := range exited {
		if _, err := c.run(ctx, "restart", n); err != nil {
			return "", fmt.Errorf("%s had exited: %w", n, err)
		}
		what += "; " + n + " had exited, restarted"
	}
	return what, nil
}

// exited lists the processes scripts/cluster.sh status reports not running.
func (c *clusterSystem) exited(ctx context.Context) ([]string, error) {
	out, err := c.run(ctx, "status")
	if err != nil {
		return nil, err
	}
	var names []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 3 && strings.HasSuffix(sc.Text(), "not running") {
			names = append(names, f[0])
		}
	}
	return names, nil
}

func (c *clusterSystem) countRows(ctx context.Context) (int, error) {
	st, err := store.Open(ctx, c.databaseURL)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.CountJobs(ctx)
}

func (c *clusterSystem) describe(ctx context.Context) setup {
	root, _ := moduleRoot()
	version, _ := exec.Command(filepath.Join(root, "bin", "temporal-server"), "--version").Output()
	pg := "PostgreSQL"
	if conn, err := pgx.Connect(ctx, c.databaseURL); err == nil {
		var v string
		if conn.QueryRow(ctx, "SHOW server_version").Scan(&v) == nil {
			pg += " " + strings.Fields(v)[0]
		}
		conn.Close(ctx)
	}
	return setup{
		Topology:  "cluster",
		Temporal:  strings.TrimSpace(string(version)) + " (temporal-server, deploy/temporal/config.yaml) on " + pg,
		Mediaflow: "two workers, two servers, a PostgreSQL job store (`scripts/cluster.sh`); each delivery goes to either server",
	}
}

// failed prints the end of each process's log.
func (c *clusterSystem) failed() {
	logs, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
	for _, f := range logs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fmt.Printf("--- the end of %s:\n%s\n", f, lastLines(b, 30))
	}
}

func (c *clusterSystem) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := c.run(ctx, "stop"); err != nil {
		fmt.Println(out, err)
	}
}

// lastLines returns the last n lines of b, each cut to 300 bytes.
func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = append(l[:300:300], "…"...)
		}
	}
	return string(bytes.Join(lines, []byte("\n")))
}
