package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/stack"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

// settings are what a cluster's start records in CLUSTER_DIR/settings, for
// the commands after it: its port and UI, and a digest of mediaflow's
// settings (no secret is written down).
type settings struct {
	PGPort int    `json:"pg_port"`
	UI     bool   `json:"ui"`
	Digest string `json:"digest"`
}

// clusterStack is make cluster's stack, its settings from the environment
// (docs/cluster.md), PG_PORT and CLUSTER_UI as its start recorded them;
// set is what start records (or recorded), digest the digest of this
// environment's mediaflow settings.
func clusterStack(root string, t0 time.Time, recorded bool) (c stack.Cluster, st *stack.Stack, set settings, digest string, err error) {
	dir := abs(root, getenv("CLUSTER_DIR", "data/cluster"))
	port, err := strconv.Atoi(getenv("PG_PORT", "5433"))
	if err != nil {
		return c, nil, set, "", fmt.Errorf("PG_PORT: %w", err)
	}
	set = settings{PGPort: port, UI: getenv("CLUSTER_UI", "on") != "off"}
	if raw, err := os.ReadFile(filepath.Join(dir, "settings")); err == nil && recorded {
		json.Unmarshal(raw, &set)
	}
	s, _ := secret()
	c = stack.Cluster{Root: root, Dir: dir, PGBin: stack.PGBin(), PGPort: set.PGPort, UI: set.UI, Secret: s,
		PostgresPassword:  getenv("POSTGRES_PASSWORD", "cluster-local-only"),
		MediaflowPassword: getenv("MEDIAFLOW_DB_PASSWORD", "cluster-local-only"),
		Env:               stack.With(os.Environ(), "LOG_FORMAT="+getenv("LOG_FORMAT", "json"), "BLOB_URL="+getenv("BLOB_URL", "file://"+dir+"/blobs")),
		Worker: []string{"NOTIFY_URL=" + lookup("NOTIFY_URL", "http://127.0.0.1:8090/notify"), "ALERT_URL=" + lookup("ALERT_URL", "http://127.0.0.1:8090/alert"),
			"NOTIFY_SECRET=" + os.Getenv("NOTIFY_SECRET"), "MEDIA_DIR=" + lookup("CLUSTER_MEDIA_DIR", filepath.Join(dir, "media")),
			"MEDIA_ALLOWED_HOSTS=" + lookup("MEDIA_ALLOWED_HOSTS", "127.0.0.1")}}
	if cli, err := localtemporal.FindCLI(root); err == nil {
		c.CLI = cli.Path
	}
	digest = fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(append(c.Worker, s, env(c.Env, "BLOB_URL")), "\n"))))
	if set.Digest == "" {
		set.Digest = digest
	}
	procs, err := c.Procs()
	return c, &stack.Stack{Dir: dir, Procs: procs, Out: os.Stdout, T0: t0, Append: true}, set, digest, err
}

// cluster runs a command of make cluster.
func cluster(ctx context.Context, root string, t0 time.Time, args []string) error {
	cmd := "run"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	c, st, set, digest, err := clusterStack(root, t0, cmd != "run" && cmd != "start")
	if err != nil {
		return err
	}
	switch cmd {
	case "run", "start":
		if err := clusterStart(ctx, c, st, set); err != nil {
			if !errors.Is(err, cli.ErrReported) {
				fmt.Printf("%v\nStart failed: stopping what started.\n", err)
				clusterStop(st)
			}
			return cli.ErrReported
		}
		if cmd == "start" {
			return nil
		}
		fmt.Println("\nCtrl-C stops everything. Faults: make cluster-restart NAME=temporal-server ARGS=--kill (in another terminal).")
		err := st.Wait(ctx)
		if err != nil {
			st.Logf("%v. Stopping the rest.", err)
			err = cli.ErrReported
		}
		clusterStop(st)
		return err
	case "stop":
		clusterStop(st)
	case "status":
		for _, n := range st.Names() {
			if st.Running(n) {
				fmt.Printf("%-16s %-8d running\n", n, st.Pid(n))
			} else {
				fmt.Printf("%-16s %-8s not running\n", n, "-")
			}
		}
	case "env":
		fmt.Print(exports(st, stack.ClusterTemporal, c.WebhookURLs()...))
		fmt.Printf("export STACK_DATABASE_URL=%q STACK_PGPASSWORD=%q\n", c.DatabaseURL(), c.MediaflowPassword)
	case "restart":
		return clusterRestart(ctx, st, set.Digest != digest, args)
	case "clean":
		clusterStop(st)
		fmt.Println("Removed", c.Dir)
		return os.RemoveAll(c.Dir)
	default:
		fmt.Fprintln(os.Stderr, "usage: stack cluster [run|start|stop|status|env|clean|restart NAME [--kill] [--down SECONDS]]")
		return cli.ErrUsage
	}
	return nil
}

func clusterStart(ctx context.Context, c stack.Cluster, st *stack.Stack, set settings) error {
	var missing []string
	for _, b := range []string{"temporal-server", "temporal-sql-tool", "temporal-ui-server"} {
		if _, err := os.Stat(filepath.Join(c.Root, "bin", b)); err != nil && (c.UI || b != "temporal-ui-server") {
			missing = append(missing, "bin/"+b)
		}
	}
	if c.CLI == "" {
		missing = append(missing, "the Temporal CLI (bin/temporal)")
	}
	if c.PGBin == "" {
		return errors.New("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: make cluster-tools builds them (CLUSTER_UI=off: no UI)", strings.Join(missing, ", "))
	}
	for _, n := range st.Names() {
		if st.Running(n) {
			fmt.Printf("%s is running (pid %d): make cluster-stop first.\n", n, st.Pid(n))
			return cli.ErrReported
		}
	}
	if taken := st.Taken(); len(taken) > 0 {
		fmt.Print("Ports in use:")
		for _, p := range taken {
			fmt.Printf(" %s (%s)", p.Addr, p.What)
		}
		fmt.Println("; make dev, or a cluster already running? make cluster-stop stops a cluster.")
		return cli.ErrReported
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	raw, _ := json.Marshal(set)
	if err := os.WriteFile(filepath.Join(c.Dir, "settings"), raw, 0o644); err != nil {
		return err
	}
	t := time.Now()
	st.Logf("Building mediaflow (server, worker, mediaflowctl, devpeer) into bin/...")
	if err := stack.Build(c.Root, "./cmd/server", "./cmd/worker", "./cmd/mediaflowctl", "./tools/devpeer"); err != nil {
		return err
	}
	dir := c.Dir
	if rel, err := filepath.Rel(c.Root, dir); err == nil && !strings.HasPrefix(rel, "..") {
		dir = rel
	}
	st.Logf("Built in %.1f s; starting PostgreSQL on 127.0.0.1:%d, temporal-server, the UI, devpeer, %d workers, %d servers (logs: %s/NAME.log)",
		time.Since(t).Seconds(), c.PGPort, stack.Workers, stack.Servers, dir)
	if err := st.Start(ctx); err != nil {
		return err
	}
	ui := "http://127.0.0.1:8233"
	if !c.UI {
		ui = "off (CLUSTER_UI=off)"
	}
	st.Logf("The cluster is ready:")
	fmt.Printf(`  webhooks    %s
  Temporal    %s (bin/temporal workflow list), namespace %s (%s retention)   UI %s
  PostgreSQL  127.0.0.1:%d  psql -h 127.0.0.1 -p %d -U temporal  (mediaflow's jobs: -U mediaflow mediaflow)
  worker metrics  http://127.0.0.1:9091/metrics  http://127.0.0.1:9092/metrics
  devpeer     media on http://127.0.0.1:8090/media/; notifications received: %s/notifications.log
  blob store  %s (codec endpoint for the UI: http://127.0.0.1:8234)
  logs        %s/*.log   pids %s/pids
`, strings.Join(c.WebhookURLs(), "  "), stack.ClusterTemporal, stack.Namespace, stack.NamespaceRetention, ui, c.PGPort, c.PGPort,
		dir, env(c.Env, "BLOB_URL"), dir, dir)
	if c.Secret == os.Getenv("DEV_SECRET") {
		fmt.Printf("  secret      %s (dev only)\n", c.Secret)
	}
	return nil
}

func clusterStop(st *stack.Stack) {
	if _, err := os.Stat(filepath.Join(st.Dir, "pids")); err != nil {
		fmt.Println("Nothing to stop.")
		return
	}
	t := time.Now()
	st.Logf("Stopping the servers, the workers, devpeer, the UI, temporal-server, then PostgreSQL...")
	st.Stop()
	st.Logf("Stopped (%.1f s)", time.Since(t).Seconds())
}

// clusterRestart is restart NAME [--kill] [--down SECONDS]; it refuses
// mediaflow settings other than start's: a server restarted with another
// secret would refuse every delivery.
func clusterRestart(ctx context.Context, st *stack.Stack, changed bool, args []string) error {
	fs := flag.NewFlagSet("restart", flag.ContinueOnError)
	kill := fs.Bool("kill", false, "SIGKILL rather than SIGTERM")
	down := fs.Float64("down", 0, "seconds it stays down")
	if len(args) == 0 || fs.Parse(args[1:]) != nil || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: stack cluster restart NAME [--kill] [--down SECONDS]; NAME one of:", strings.Join(st.Names(), ", "))
		return cli.ErrUsage
	}
	name := args[0]
	if _, err := os.Stat(filepath.Join(st.Dir, "pids")); err != nil {
		return errors.New("the cluster is not running (make cluster-start)")
	}
	if changed && (strings.HasPrefix(name, "worker-") || strings.HasPrefix(name, "server-")) {
		return fmt.Errorf("restart %s: ANIMUS_WEBHOOK_SECRET, NOTIFY_URL, ALERT_URL, NOTIFY_SECRET, CLUSTER_MEDIA_DIR, MEDIA_ALLOWED_HOSTS or BLOB_URL differ from start's; run restart with the environment start had", name)
	}
	return st.Restart(ctx, name, *kill, time.Duration(*down*float64(time.Second)))
}
