package stack

import (
	"cmp"
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

	"github.com/jackc/pgx/v5"

	"github.com/mediaflow/mediaflow/internal/pglocal"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
)

// The cluster's fixed addresses, and docker-compose.yml's temporal-setup
// settings.
const (
	ClusterTemporal    = "127.0.0.1:7233"
	Namespace          = "default"
	NamespaceRetention = "72h"
)

// secrets go only to the processes that use them, as in
// docker-compose.yml (a notification URL may hold a token).
var secrets = []string{"ANIMUS_WEBHOOK_SECRET", "DEV_SECRET", "NOTIFY_URL", "ALERT_URL", "NOTIFY_SECRET",
	"POSTGRES_PASSWORD", "MEDIAFLOW_DB_PASSWORD", "PGPASSWORD"}

// Cluster is docker-compose.yml's topology from binaries, on 127.0.0.1:
// PostgreSQL (initdb, then deploy/postgres/init-mediaflow.sh once),
// deploy/temporal/schema.sh, temporal-server (deploy/temporal/config.yaml),
// deploy/temporal/setup.sh, the Web UI, devpeer, and two workers and two
// servers sharing a PostgreSQL job store.
type Cluster struct {
	Root, Dir, CLI string // the repository; state and logs; the Temporal CLI (setup.sh runs it)
	PGBin          string // PostgreSQL's server binaries
	PGPort         int
	UI             bool
	Env            []string // every process's, without the secrets in it
	Secret         string   // the servers' ANIMUS_WEBHOOK_SECRET
	Worker         []string // the workers' own settings: NOTIFY_URL, ALERT_URL, NOTIFY_SECRET, MEDIA_DIR…
	// The passwords of the superuser temporal and of the role mediaflow,
	// set when Dir/postgresql is created.
	PostgresPassword, MediaflowPassword string
}

// Procs are the cluster's processes and steps, in order.
func (c Cluster) Procs() ([]Proc, error) {
	pgUser, err := pglocal.User()
	if err != nil {
		return nil, err
	}
	data, port, bin := filepath.Join(c.Dir, "postgresql"), strconv.Itoa(c.PGPort), filepath.Join(c.Root, "bin")
	env := With(TemporalClient(Without(c.Env, secrets...), ClusterTemporal), "GRPC_ENABLE_TXT_SERVICE_CONFIG=false",
		"PATH="+bin+":"+filepath.Dir(c.CLI)+":"+os.Getenv("PATH"))
	pg := With(env, "PGHOST="+data, "PGPORT="+port, "PGUSER=temporal", "PG_BIN="+c.PGBin, "POSTGRES_PASSWORD="+c.PostgresPassword)
	sh := func(name, script string, env []string) Proc {
		return Proc{Name: name, Once: true, Env: env, Args: []string{"sh", "-c", script, name, c.Root}}
	}
	procs := []Proc{
		// Over TCP a password (scram-sha-256, as in the postgres image); on
		// the socket in the data directory (mode 0700), trust.
		{Name: "initdb", Once: true, User: pgUser, Env: pg, Args: []string{"sh", "-c", `[ -f "$PGHOST/PG_VERSION" ] || printf '%s\n' "$POSTGRES_PASSWORD" | ` +
			`"$PG_BIN/initdb" -D "$PGHOST" -U temporal --pwfile=/dev/stdin --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8`}},
		{Name: "postgresql", User: pgUser, Env: env, Ports: []Port{{"127.0.0.1:" + port, "PostgreSQL (PG_PORT)"}},
			Args: []string{filepath.Join(c.PGBin, "postgres"), "-D", data, "-c", "listen_addresses=127.0.0.1", "-p", port, "-k", data},
			Ready: func(ctx context.Context) error {
				conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=temporal dbname=postgres", data, port))
				if err == nil {
					conn.Close(ctx)
				}
				return err
			}},
		// mediaflow's role and database, by the script the postgres image
		// runs when its data volume is created (docker-compose.yml mounts it).
		sh("postgresql-init", `psql -d postgres -tAc "select 1 from pg_roles where rolname = 'mediaflow'" | grep -q 1 || sh "$1/deploy/postgres/init-mediaflow.sh"`, With(pg, "POSTGRES_USER=temporal", "MEDIAFLOW_DB_PASSWORD="+c.MediaflowPassword)),
		sh("temporal-schema", `sh "$1/deploy/temporal/schema.sh"`, With(env, "SQL_PLUGIN=postgres12", "SQL_HOST=127.0.0.1",
			"SQL_PORT="+port, "SQL_USER=temporal", "SQL_PASSWORD="+c.PostgresPassword)),
		// docker-compose.yml's temporal service's environment, which
		// deploy/temporal/config.yaml reads.
		{Name: "temporal-server", Args: []string{filepath.Join(bin, "temporal-server"), "--config-file", c.Root + "/deploy/temporal/config.yaml", "start"},
			Env: With(env, "DB=postgres12", "DB_PORT="+port, "POSTGRES_SEEDS=127.0.0.1", "POSTGRES_USER=temporal",
				"POSTGRES_PWD="+c.PostgresPassword, "BIND_ON_IP=127.0.0.1", "NUM_HISTORY_SHARDS=4",
				"DYNAMIC_CONFIG_FILE_PATH="+c.Root+"/deploy/temporal/dynamicconfig.yaml", "TEMPORAL_ALLOW_NO_AUTH=true"),
			Ready: TemporalReady(ClusterTemporal), Ports: ports("temporal-server", 7233, 7243, 7234, 7235, 7239, 6933, 6934, 6935, 6939)},
		sh("temporal-setup", `sh "$1/deploy/temporal/setup.sh"`, With(env, "NAMESPACE_RETENTION="+NamespaceRetention,
			"SEARCH_ATTRIBUTES="+strings.Join(SearchAttributes(), " "))),
	}
	if c.UI {
		procs = append(procs, Proc{Name: "temporal-ui", Env: env, Ready: HTTPReady("http://127.0.0.1:8233/healthz"),
			Args:  []string{filepath.Join(bin, "temporal-ui-server"), "--root", c.Root, "--config", "deploy/temporal", "--env", "ui-server", "start"},
			Ports: ports("Temporal Web UI", 8233)})
	}
	procs = append(procs, Proc{Name: "devpeer", Env: env, Ready: HTTPReady("http://127.0.0.1:8090/healthz"), Ports: ports("devpeer", 8090),
		Args: []string{filepath.Join(bin, "devpeer"), "--addr", "127.0.0.1:8090", "--log", filepath.Join(c.Dir, "notifications.log")}})
	for n := 1; n <= 2; n++ {
		metrics := fmt.Sprintf("127.0.0.1:%d", 9090+n)
		// No password in the URL: pgx reads PGPASSWORD (as in docker-compose.yml).
		procs = append(procs, Proc{Name: fmt.Sprint("worker-", n), Args: []string{filepath.Join(bin, "worker")}, Grace: 40 * time.Second,
			Env: With(env, append(c.Worker, "DATABASE_URL="+c.DatabaseURL(), "PGPASSWORD="+c.MediaflowPassword,
				"WORKER_METRICS_ADDR="+metrics)...),
			Ready: HTTPReady("http://" + metrics + "/metrics"), Ports: ports("worker metrics", 9090+n)})
	}
	for n := 1; n <= 2; n++ {
		codec, p := "", ports("mediaflow server", 8079+n)
		if n == 1 { // the codec endpoint the UI calls (deploy/temporal/ui-server.yaml)
			codec, p = "127.0.0.1:8234", append(p, ports("codec endpoint", 8234)...)
		}
		procs = append(procs, Proc{Name: fmt.Sprint("server-", n), Args: []string{filepath.Join(bin, "server")}, Grace: 25 * time.Second,
			Env:   With(env, "ANIMUS_WEBHOOK_SECRET="+c.Secret, "HTTP_ADDR="+c.server(n), "CODEC_ADDR="+codec),
			Ready: HTTPReady("http://" + c.server(n) + "/readyz"), Ports: p})
	}
	return procs, nil
}

// WebhookURLs are the servers' webhook URLs.
func (c Cluster) WebhookURLs() []string {
	return []string{"http://" + c.server(1) + "/webhooks/animus", "http://" + c.server(2) + "/webhooks/animus"}
}

// DatabaseURL is mediaflow's job store, without its password (PGPASSWORD).
func (c Cluster) DatabaseURL() string {
	return fmt.Sprintf("postgres://mediaflow@127.0.0.1:%d/mediaflow?sslmode=disable", c.PGPort)
}

func (c Cluster) server(n int) string { return fmt.Sprintf("127.0.0.1:%d", 8079+n) }

func ports(what string, ports ...int) []Port {
	var out []Port
	for _, p := range ports {
		out = append(out, Port{fmt.Sprintf("127.0.0.1:%d", p), what})
	}
	return out
}

// Prepare makes Dir and the PostgreSQL data directory, owned by the user
// PostgreSQL runs as.
func (c Cluster) Prepare() error {
	data := filepath.Join(c.Dir, "postgresql")
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	u, err := pglocal.User()
	if err != nil || u == nil {
		return err
	}
	return os.Chown(data, int(u.Uid), int(u.Gid))
}

// settings are what a cluster's start records in its directory for the
// commands after it: its PostgreSQL port and UI, and a digest of mediaflow's
// settings (no secret is written down).
type settings struct {
	PGPort int    `json:"pg_port"`
	UI     bool   `json:"ui"`
	Digest string `json:"digest"`
}

// makeCluster is make cluster's stack, its settings from the environment
// (docs/production.md); recorded takes PG_PORT and CLUSTER_UI from what the
// start recorded, which it returns (zero: none).
func makeCluster(root string, recorded bool) (c Cluster, set settings, err error) {
	dir := os.Getenv("CLUSTER_DIR")
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, cmp.Or(dir, "data/cluster"))
	}
	if c.PGPort, err = strconv.Atoi(cmp.Or(os.Getenv("PG_PORT"), "5433")); err != nil {
		return c, set, fmt.Errorf("PG_PORT: %w", err)
	}
	c.UI = os.Getenv("CLUSTER_UI") != "off"
	if raw, err := os.ReadFile(filepath.Join(dir, "settings")); err == nil && recorded && json.Unmarshal(raw, &set) == nil {
		c.PGPort, c.UI = set.PGPort, set.UI
	}
	cliPath, _ := findCLI(root)
	c = Cluster{Root: root, Dir: dir, CLI: cliPath.Path, PGBin: pglocal.Bin(), PGPort: c.PGPort, UI: c.UI,
		Secret:            cmp.Or(os.Getenv("ANIMUS_WEBHOOK_SECRET"), os.Getenv("DEV_SECRET")),
		PostgresPassword:  cmp.Or(os.Getenv("POSTGRES_PASSWORD"), "cluster-local-only"),
		MediaflowPassword: cmp.Or(os.Getenv("MEDIAFLOW_DB_PASSWORD"), "cluster-local-only"),
		Env:               With(os.Environ(), "LOG_FORMAT="+cmp.Or(os.Getenv("LOG_FORMAT"), "json"), "BLOB_URL="+cmp.Or(os.Getenv("BLOB_URL"), "file://"+dir+"/blobs")),
		Worker: []string{"NOTIFY_URL=" + lookup("NOTIFY_URL", "http://127.0.0.1:8090/notify"), "ALERT_URL=" + lookup("ALERT_URL", "http://127.0.0.1:8090/alert"),
			"NOTIFY_SECRET=" + os.Getenv("NOTIFY_SECRET"), "MEDIA_DIR=" + lookup("CLUSTER_MEDIA_DIR", dir+"/media"),
			"MEDIA_ALLOWED_HOSTS=" + lookup("MEDIA_ALLOWED_HOSTS", "127.0.0.1"),
			// The build just made takes the new workflows.
			"WORKER_VERSIONING=" + lookup("WORKER_VERSIONING", "latest")}}
	return c, set, nil
}

// settings are what start records for the commands after it.
func (c Cluster) settings() settings {
	digest := sha256.Sum256([]byte(strings.Join(append(c.Worker, c.Secret, env(c.Env, "BLOB_URL")), "\n")))
	return settings{PGPort: c.PGPort, UI: c.UI, Digest: fmt.Sprintf("%x", digest)}
}

// cluster runs a command of make cluster (docs/production.md).
func cluster(ctx context.Context, root string, t0 time.Time, args []string) error {
	cmd := "run"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	c, recorded, err := makeCluster(root, cmd != "run" && cmd != "start")
	if err != nil {
		return err
	}
	procs, err := c.Procs()
	if err != nil {
		return err
	}
	st := &Stack{Dir: c.Dir, Procs: procs, Out: os.Stdout, T0: t0, Append: true}
	switch cmd {
	case "run", "start":
		if err := clusterStart(ctx, c, st); err != nil {
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
		}
		clusterStop(st)
		return map[bool]error{true: cli.ErrReported}[err != nil]
	case "stop":
		clusterStop(st)
	case "clean":
		clusterStop(st)
		fmt.Println("Removed", c.Dir)
		return os.RemoveAll(c.Dir)
	case "status":
		for _, n := range st.Names() {
			pid := "-"
			if p := st.Pid(n); p != 0 {
				pid = strconv.Itoa(p)
			}
			fmt.Printf("%-16s %-8s %s\n", n, pid, map[bool]string{true: "running", false: "not running"}[st.Running(n)])
		}
	case "env":
		fmt.Print(exports(st, ClusterTemporal, c.WebhookURLs()...))
		fmt.Printf("export STACK_DATABASE_URL=%q STACK_PGPASSWORD=%q\n", c.DatabaseURL(), c.MediaflowPassword)
	case "restart":
		fs := flag.NewFlagSet("restart", flag.ContinueOnError)
		kill := fs.Bool("kill", false, "SIGKILL, not SIGTERM")
		down := fs.Float64("down", 0, "seconds it stays down")
		if len(args) == 0 || fs.Parse(args[1:]) != nil || fs.NArg() > 0 {
			return usage("restart NAME [--kill] [--down SECONDS]; NAME one of: " + strings.Join(st.Names(), ", "))
		}
		switch {
		case len(st.pids()) == 0:
			return errors.New("the cluster is not running (make cluster-start)")
		case recorded.Digest != c.settings().Digest && (strings.HasPrefix(args[0], "worker-") || strings.HasPrefix(args[0], "server-")):
			// A server restarted with another secret would refuse every delivery.
			return fmt.Errorf("restart %s: ANIMUS_WEBHOOK_SECRET, NOTIFY_URL, ALERT_URL, NOTIFY_SECRET, CLUSTER_MEDIA_DIR, MEDIA_ALLOWED_HOSTS or BLOB_URL differ from start's; run restart with the environment start had", args[0])
		}
		return st.Restart(ctx, args[0], *kill, time.Duration(*down*float64(time.Second)))
	default:
		return usage("cluster [run|start|stop|status|env|clean|restart NAME [--kill] [--down SECONDS]]")
	}
	return nil
}

func clusterStart(ctx context.Context, c Cluster, st *Stack) error {
	var missing []string
	for _, b := range []string{"temporal-server", "temporal-sql-tool", "temporal-ui-server"} {
		if _, err := os.Stat(filepath.Join(c.Root, "bin", b)); err != nil && (c.UI || b != "temporal-ui-server") {
			missing = append(missing, "bin/"+b)
		}
	}
	switch {
	case c.PGBin == "":
		return errors.New("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
	case c.CLI == "" || len(missing) > 0:
		if c.CLI == "" {
			missing = append(missing, "a Temporal CLI")
		}
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
		fmt.Println(". make dev, or a cluster already running (make cluster-stop)?")
		return cli.ErrReported
	}
	raw, _ := json.Marshal(c.settings())
	if err := c.Prepare(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "settings"), raw, 0o644); err != nil {
		return err
	}
	dir, t := c.Dir, time.Now()
	if rel, err := filepath.Rel(c.Root, dir); err == nil && !strings.HasPrefix(rel, "..") {
		dir = rel
	}
	st.Logf("Building mediaflow (server, worker, mediaflowctl, devpeer) into bin/...")
	if err := Build(c.Root, "./cmd/server", "./cmd/worker", "./cmd/mediaflowctl", "./tools/devpeer"); err != nil {
		return err
	}
	st.Logf("Built in %.1f s; starting PostgreSQL on 127.0.0.1:%d, Temporal, the UI, devpeer, 2 workers, 2 servers (logs: %s/NAME.log)",
		time.Since(t).Seconds(), c.PGPort, dir)
	if err := st.Start(ctx); err != nil {
		return err
	}
	st.Logf("The cluster is ready:")
	fmt.Printf(`  webhooks    %s
  Temporal    %s (bin/temporal workflow list), namespace %s (%s retention)   UI %s
  PostgreSQL  127.0.0.1:%d  psql -h 127.0.0.1 -p %[6]d -U temporal  (mediaflow's jobs: -U mediaflow mediaflow)
  worker metrics  http://127.0.0.1:9091/metrics  http://127.0.0.1:9092/metrics
  devpeer     media on http://127.0.0.1:8090/media/; notifications received: %[7]s/notifications.log
  blob store  %[8]s (codec endpoint for the UI: http://127.0.0.1:8234)
  logs        %[7]s/*.log   pids %[7]s/pids
`, strings.Join(c.WebhookURLs(), "  "), ClusterTemporal, Namespace, NamespaceRetention,
		map[bool]string{true: "http://127.0.0.1:8233", false: "off (CLUSTER_UI=off)"}[c.UI], c.PGPort, dir, env(c.Env, "BLOB_URL"))
	if c.Secret == os.Getenv("DEV_SECRET") {
		fmt.Printf("  secret      %s (dev only)\n", c.Secret)
	}
	return nil
}

func clusterStop(st *Stack) {
	if len(st.pids()) == 0 {
		fmt.Println("Nothing to stop.")
		return
	}
	t := time.Now()
	st.Logf("Stopping the servers, the workers, devpeer, the UI, temporal-server, then PostgreSQL...")
	st.Stop()
	st.Logf("Stopped (%.1f s)", time.Since(t).Seconds())
}
