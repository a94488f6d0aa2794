package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// The cluster's fixed addresses and docker-compose.yml's temporal-setup
// settings.
const (
	ClusterTemporal    = "127.0.0.1:7233"
	clusterUI          = "127.0.0.1:8233"
	clusterDevpeer     = "127.0.0.1:8090"
	clusterCodec       = "127.0.0.1:8234"
	Namespace          = "default"
	NamespaceRetention = "72h"
	// Workers and servers are worker-1… and server-1….
	Workers, Servers = 2, 2
)

// secrets go only to the processes that use them, as in
// docker-compose.yml (a notification URL may hold a token).
var secrets = []string{"ANIMUS_WEBHOOK_SECRET", "DEV_SECRET", "NOTIFY_URL", "ALERT_URL", "NOTIFY_SECRET",
	"POSTGRES_PASSWORD", "MEDIAFLOW_DB_PASSWORD", "PGPASSWORD"}

// Cluster is docker-compose.yml's topology from binaries, on 127.0.0.1:
// PostgreSQL, temporal-server on it (deploy/temporal/config.yaml, after
// deploy/temporal/schema.sh; then deploy/temporal/setup.sh), its Web UI,
// devpeer, and mediaflow's workers and servers sharing a PostgreSQL job
// store.
type Cluster struct {
	Root, Dir string
	CLI       string // the Temporal CLI, which deploy/temporal/setup.sh runs
	PGBin     string // PostgreSQL's server binaries
	PGPort    int
	UI        bool
	// Env is every process's environment; the secrets in it are dropped.
	Env []string
	// Secret is the servers' ANIMUS_WEBHOOK_SECRET; Worker the workers' own
	// settings (NOTIFY_URL, ALERT_URL, NOTIFY_SECRET, MEDIA_DIR, …).
	Secret string
	Worker []string
	// The passwords of the temporal superuser and the mediaflow role, set
	// when Dir/postgresql is created.
	PostgresPassword, MediaflowPassword string
}

// Procs are PostgreSQL, the schema step, temporal-server, the setup step,
// the UI, devpeer, the workers and the servers.
func (c Cluster) Procs() ([]Proc, error) {
	pgUser, err := postgresUser()
	if err != nil {
		return nil, err
	}
	data, port := filepath.Join(c.Dir, "postgresql"), strconv.Itoa(c.PGPort)
	env := With(TemporalClient(Without(c.Env, secrets...), ClusterTemporal), "GRPC_ENABLE_TXT_SERVICE_CONFIG=false",
		"PATH="+c.bin("")+":"+filepath.Dir(c.CLI)+":"+os.Getenv("PATH"))
	created := false
	procs := []Proc{{
		Name: "postgresql", User: pgUser, StopSignal: syscall.SIGINT, Env: env, Ports: []Port{{"127.0.0.1:" + port, "PostgreSQL (PG_PORT)"}},
		Args:  []string{filepath.Join(c.PGBin, "postgres"), "-D", data, "-c", "listen_addresses=127.0.0.1", "-p", port, "-k", data},
		Setup: func() (err error) { created, err = c.initdb(data, pgUser); return err },
		Ready: func(ctx context.Context) error {
			conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=temporal dbname=postgres", data, port))
			if err != nil {
				return err
			}
			conn.Close(ctx)
			if created {
				// mediaflow's role and database, by the script the postgres
				// image runs on its first start (docker-compose.yml mounts it).
				created = false
				return c.run("initdb", With(env, "PGHOST="+data, "PGPORT="+port, "POSTGRES_USER=temporal",
					"MEDIAFLOW_DB_PASSWORD="+c.MediaflowPassword), "sh", c.file("deploy/postgres/init-mediaflow.sh"))
			}
			return nil
		},
	}, {
		Name: "temporal-schema", Once: true, Args: []string{"sh", c.file("deploy/temporal/schema.sh")},
		Env: With(env, "SQL_PLUGIN=postgres12", "SQL_HOST=127.0.0.1", "SQL_PORT="+port, "SQL_USER=temporal", "SQL_PASSWORD="+c.PostgresPassword),
	}, {
		// docker-compose.yml's temporal service's environment, which
		// deploy/temporal/config.yaml reads.
		Name: "temporal-server", Args: []string{c.bin("temporal-server"), "--config-file", c.file("deploy/temporal/config.yaml"), "start"},
		Env: With(env, "DB=postgres12", "DB_PORT="+port, "POSTGRES_SEEDS=127.0.0.1", "POSTGRES_USER=temporal",
			"POSTGRES_PWD="+c.PostgresPassword, "BIND_ON_IP=127.0.0.1", "NUM_HISTORY_SHARDS=4",
			"DYNAMIC_CONFIG_FILE_PATH="+c.file("deploy/temporal/dynamicconfig.yaml"), "TEMPORAL_ALLOW_NO_AUTH=true"),
		Ready: TemporalReady(ClusterTemporal), Ports: temporalPorts(),
	}, {
		Name: "temporal-setup", Once: true, Args: []string{"sh", c.file("deploy/temporal/setup.sh")},
		Env: With(env, "NAMESPACE_RETENTION="+NamespaceRetention, "SEARCH_ATTRIBUTES="+strings.Join(SearchAttributes(), " ")),
	}}
	if c.UI {
		procs = append(procs, Proc{Name: "temporal-ui", Env: env, Ready: HTTPReady("http://" + clusterUI + "/healthz"),
			Args:  []string{c.bin("temporal-ui-server"), "--root", c.Root, "--config", "deploy/temporal", "--env", "ui-server", "start"},
			Ports: []Port{{clusterUI, "Temporal Web UI"}}})
	}
	procs = append(procs, Proc{Name: "devpeer", Env: env, App: true, Ready: HTTPReady("http://" + clusterDevpeer + "/healthz"),
		Args:  []string{c.bin("devpeer"), "--addr", clusterDevpeer, "--log", filepath.Join(c.Dir, "notifications.log")},
		Ports: []Port{{clusterDevpeer, "devpeer"}}})
	for n := 1; n <= Workers; n++ {
		metrics := fmt.Sprintf("127.0.0.1:%d", 9090+n)
		procs = append(procs, Proc{Name: fmt.Sprintf("worker-%d", n), Args: []string{c.bin("worker")}, App: true, Grace: 40 * time.Second,
			// No password in the URL: pgx reads PGPASSWORD (as in docker-compose.yml).
			Env:   With(env, append(c.Worker, "DATABASE_URL="+c.DatabaseURL(), "PGPASSWORD="+c.MediaflowPassword, "WORKER_METRICS_ADDR="+metrics)...),
			Ready: HTTPReady("http://" + metrics + "/metrics"), Ports: []Port{{metrics, "worker metrics"}}})
	}
	for n := 1; n <= Servers; n++ {
		codec, ports := "", []Port{{c.server(n), "mediaflow server"}}
		if n == 1 {
			// The codec endpoint the UI calls (deploy/temporal/ui-server.yaml).
			codec, ports = clusterCodec, append(ports, Port{clusterCodec, "codec endpoint"})
		}
		procs = append(procs, Proc{Name: fmt.Sprintf("server-%d", n), Args: []string{c.bin("server")}, App: true, Grace: 25 * time.Second,
			Env:   With(env, "ANIMUS_WEBHOOK_SECRET="+c.Secret, "HTTP_ADDR="+c.server(n), "CODEC_ADDR="+codec),
			Ready: HTTPReady("http://" + c.server(n) + "/readyz"), Ports: ports})
	}
	return procs, nil
}

// WebhookURLs are the servers' webhook URLs.
func (c Cluster) WebhookURLs() []string {
	var urls []string
	for n := 1; n <= Servers; n++ {
		urls = append(urls, "http://"+c.server(n)+"/webhooks/animus")
	}
	return urls
}

// DatabaseURL is mediaflow's job store, without its password (PGPASSWORD).
func (c Cluster) DatabaseURL() string {
	return fmt.Sprintf("postgres://mediaflow@127.0.0.1:%d/mediaflow?sslmode=disable", c.PGPort)
}

func (c Cluster) server(n int) string    { return fmt.Sprintf("127.0.0.1:%d", 8079+n) }
func (c Cluster) bin(name string) string { return filepath.Join(c.Root, "bin", name) }
func (c Cluster) file(rel string) string { return filepath.Join(c.Root, rel) }

// temporalPorts are temporal-server's, from deploy/temporal/config.yaml:
// the frontend's gRPC and HTTP, history, matching and worker, and their
// membership ports.
func temporalPorts() []Port {
	var ports []Port
	for _, p := range []int{7233, 7243, 7234, 7235, 7239, 6933, 6934, 6935, 6939} {
		ports = append(ports, Port{fmt.Sprintf("127.0.0.1:%d", p), "temporal-server"})
	}
	return ports
}

// initdb creates PostgreSQL's data directory when it has none, with the
// superuser temporal: a password over TCP (scram-sha-256, as in the
// postgres image), trust on the socket in the data directory (mode 0700).
func (c Cluster) initdb(data string, as *syscall.Credential) (bool, error) {
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err == nil {
		return false, nil
	}
	pw := filepath.Join(c.Dir, "pwfile")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return false, err
	}
	if err := os.WriteFile(pw, []byte(c.PostgresPassword+"\n"), 0o600); err != nil {
		return false, err
	}
	defer os.Remove(pw)
	if as != nil {
		// initdb refuses to run as root.
		for _, p := range []string{data, pw} {
			if err := os.Chown(p, int(as.Uid), int(as.Gid)); err != nil {
				return false, err
			}
		}
	}
	cmd := exec.Command(filepath.Join(c.PGBin, "initdb"), "-D", data, "-U", "temporal", "--pwfile="+pw,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as}
	return true, c.runCmd("initdb", cmd)
}

// run runs a command to completion, its output appended to Dir/log.log.
func (c Cluster) run(log string, env []string, args ...string) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	return c.runCmd(log, cmd)
}

func (c Cluster) runCmd(log string, cmd *exec.Cmd) error {
	path := filepath.Join(c.Dir, log+".log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w; the end of %s:\n%s", strings.Join(cmd.Args, " "), err, path, tail(path))
	}
	return nil
}

// postgresUser is the postgres user when this runs as root (PostgreSQL
// refuses root), else nil: the current user.
func postgresUser() (*syscall.Credential, error) {
	if os.Getuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user (apt-get install postgresql): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// PGBin is PG_BIN, else the newest /usr/lib/postgresql/*/bin that has
// initdb ("" for none).
func PGBin() string {
	if b := os.Getenv("PG_BIN"); b != "" {
		return b
	}
	best, bestV := "", -1
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	for _, d := range dirs {
		if v, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(d)))); err == nil && v > bestV {
			best, bestV = filepath.Dir(d), v
		}
	}
	return best
}
