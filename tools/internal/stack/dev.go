package stack

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/mediaflow/mediaflow/tools/internal/cli"
)

// Dev is the dev server stack, on 127.0.0.1: the Temporal dev server with
// mediaflow's search attributes, devpeer, the worker and the server.
type Dev struct {
	Root, Dir, CLI string // the repository (bin/: the programs); logs and state; the Temporal CLI
	// The addresses: the dev server's gRPC frontend and Web UI ("": none),
	// the server's codec endpoint for the UI, devpeer ("": none), the
	// server's HTTP_ADDR and the worker's WORKER_METRICS_ADDR ("" or
	// "off": none).
	Temporal, UI, Codec, Devpeer, HTTP, Metrics string
	InMemory                                    bool     // the dev server's state in memory, not in Dir/temporal.db
	Env                                         []string // devpeer's, the worker's and the server's; Dev adds the addresses
	Echo                                        bool     // their lines on the stack's Out too
}

// Procs are the dev server, devpeer, the worker and the server.
func (d Dev) Procs() []Proc {
	_, port, _ := net.SplitHostPort(d.Temporal)
	args := []string{d.CLI, "server", "start-dev", "--ip", "127.0.0.1", "--port", port, "--log-level", "warn"}
	for _, sa := range SearchAttributes() {
		args = append(args, "--search-attribute", sa)
	}
	ports := []Port{{d.Temporal, "Temporal (gRPC)"}}
	if d.UI == "" {
		args = append(args, "--headless")
	} else {
		_, ui, _ := net.SplitHostPort(d.UI)
		args = append(args, "--ui-port", ui, "--ui-codec-endpoint", "http://"+d.Codec)
		ports = append(ports, Port{d.UI, "Temporal Web UI"})
	}
	if !d.InMemory {
		args = append(args, "--db-filename", filepath.Join(d.Dir, "temporal.db"))
	}
	env := With(TemporalClient(d.Env, d.Temporal), "HTTP_ADDR="+d.HTTP, "WORKER_METRICS_ADDR="+d.Metrics, "CODEC_ADDR="+d.Codec)
	procs := []Proc{{Name: "temporal", Args: args, Env: env, Ready: TemporalReady(d.Temporal), Ports: ports}}
	if d.Devpeer != "" {
		procs = append(procs, Proc{Name: "devpeer", Env: env, Echo: d.Echo,
			Args:  []string{d.bin("devpeer"), "--addr", d.Devpeer, "--log", filepath.Join(d.Dir, "notifications.log")},
			Ready: HTTPReady("http://" + d.Devpeer + "/healthz"), Ports: []Port{{d.Devpeer, "devpeer (DEVPEER_ADDR)"}}})
	}
	worker := Proc{Name: "worker", Args: []string{d.bin("worker")}, Env: env, Echo: d.Echo, Grace: 40 * time.Second}
	if on(d.Metrics) {
		worker.Ready = HTTPReady("http://" + Local(d.Metrics) + "/metrics")
		worker.Ports = []Port{{Local(d.Metrics), "worker metrics (WORKER_METRICS_ADDR)"}}
	}
	server := Proc{Name: "server", Args: []string{d.bin("server")}, Env: env, Echo: d.Echo, Grace: 25 * time.Second,
		Ready: HTTPReady("http://" + Local(d.HTTP) + "/readyz"), Ports: []Port{{Local(d.HTTP), "mediaflow server (HTTP_ADDR)"}}}
	if on(d.Codec) {
		server.Ports = append(server.Ports, Port{Local(d.Codec), "codec endpoint (CODEC_ADDR)"})
	}
	return append(procs, worker, server)
}

func (d Dev) bin(name string) string { return filepath.Join(d.Root, "bin", name) }

// makeDev is make dev's stack: the user's settings when set (an empty one
// turns an optional step off), else make dev's; the optional steps go to
// devpeer, whose host downloads may then reach.
func makeDev(root string) Dev {
	peer := cmp.Or(os.Getenv("DEVPEER_ADDR"), "127.0.0.1:8090")
	host, _, _ := net.SplitHostPort(peer)
	return Dev{Root: root, Dir: "data", Temporal: "127.0.0.1:7233", UI: "127.0.0.1:8233", Devpeer: peer, Echo: true,
		Codec: cmp.Or(os.Getenv("CODEC_ADDR"), "127.0.0.1:8234"), HTTP: cmp.Or(os.Getenv("HTTP_ADDR"), "127.0.0.1:8080"),
		Metrics: lookup("WORKER_METRICS_ADDR", "127.0.0.1:9091"),
		Env: With(os.Environ(), "ANIMUS_WEBHOOK_SECRET="+cmp.Or(os.Getenv("ANIMUS_WEBHOOK_SECRET"), os.Getenv("DEV_SECRET")),
			"MEDIA_DIR="+lookup("MEDIA_DIR", "data/media"), "MEDIA_ALLOWED_HOSTS="+lookup("MEDIA_ALLOWED_HOSTS", host),
			"NOTIFY_URL="+lookup("NOTIFY_URL", "http://"+peer+"/notify"), "ALERT_URL="+lookup("ALERT_URL", "http://"+peer+"/alert"),
			// The build just made takes the new workflows.
			"WORKER_VERSIONING="+lookup("WORKER_VERSIONING", "latest"))}
}

// checkDev fails, naming them, when ports of make dev are taken; before a
// make dev (check false) it adds what to do, and that nothing changed.
func checkDev(d Dev, check bool) error {
	taken := (&Stack{Procs: d.Procs()}).Taken()
	if len(taken) == 0 {
		return nil
	}
	fmt.Println("These ports that make dev uses are taken:")
	for _, p := range taken {
		fmt.Printf("  %s  %s\n", p.Addr, p.What)
	}
	switch {
	case check:
		fmt.Println("make dev is probably running: stop it first (Ctrl-C in its terminal).")
		return cli.ErrReported
	case len(taken) > 1 && taken[1].Addr == d.UI:
		fmt.Print("Another make dev is probably running (its UI: http://localhost:8233). Use it (make send works\n" +
			"against it), or stop it with Ctrl-C in its terminal, then run make dev again.\n")
	default:
		fmt.Println("Stop what uses them, or move mediaflow's own: HTTP_ADDR, WORKER_METRICS_ADDR, CODEC_ADDR, DEVPEER_ADDR.")
	}
	fmt.Println("Nothing was started and no file was changed.")
	return cli.ErrReported
}

// dev is make dev, in phases with their elapsed time: the Temporal CLI
// (found, else built once), mediaflow's programs, then the stack, until
// Ctrl-C (or SIGTERM) or until a process exits; then it stops it all.
// Nothing is written before the ports are known to be free.
func dev(ctx context.Context, root string, t0 time.Time) error {
	d := makeDev(root)
	if err := checkDev(d, false); err != nil {
		return err
	}
	st := &Stack{Dir: d.Dir, Out: os.Stdout, T0: t0}
	c, err := findCLI(root)
	if err != nil {
		t := time.Now()
		st.Logf("Temporal CLI: %v.", err)
		st.Logf("Building the Temporal CLI %s into bin/ from the Go module proxy, once per clone:", os.Getenv("TEMPORAL_CLI_VERSION"))
		st.Logf("  about 8 min on 2 cores, less with more. (make clean removes it; make clean-data keeps it.)")
		cmd := exec.Command("make", "--no-print-directory", "bin/temporal")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building the Temporal CLI: %w", err)
		}
		st.Logf("Built the Temporal CLI in %s", clock(time.Since(t)))
		c.Path = filepath.Join(root, "bin", "temporal")
	} else {
		st.Logf("Temporal CLI: %s (%s; dev server %s)", c.Path, c.Source, c.Server)
	}
	t := time.Now()
	st.Logf("Building mediaflow (server, worker, mediaflowctl, send, devpeer) into bin/...")
	if err := Build(root, "./cmd/server", "./cmd/worker", "./cmd/mediaflowctl", "./tools/send", "./tools/devpeer"); err != nil {
		return err
	}
	st.Logf("Built mediaflow in %s", clock(time.Since(t)))
	t, d.CLI = time.Now(), c.Path
	st.Procs = d.Procs()
	st.Logf("Starting the Temporal dev server (log: data/temporal.log only), devpeer, the worker and the server...")
	defer func() {
		fmt.Println()
		st.Logf("Stopping: the server, the worker and devpeer, then Temporal...")
		st.Stop()
		st.Logf("Stopped. Logs are in data/*.log.")
	}()
	if err := st.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	st.Logf("Started in %s", clock(time.Since(t)))
	fmt.Printf(`
mediaflow is running (ready in %s):
  webhook      http://%s/webhooks/animus
  Temporal UI  http://localhost:8233 (large payloads decoded by http://%s)
  dead letters bin/mediaflowctl list (docs/operating.md)
  devpeer      media on http://%s/media/, notifications received on /notify and /alert
  MEDIA_DIR=%s  NOTIFY_URL=%s  ALERT_URL=%s
  logs         data/temporal.log, data/worker.log, data/server.log, data/devpeer.log;
               notifications received: data/notifications.log
`, clock(time.Since(t0)), d.HTTP, d.Codec, d.Devpeer, env(d.Env, "MEDIA_DIR"), cmp.Or(env(d.Env, "NOTIFY_URL"), "(off)"), cmp.Or(env(d.Env, "ALERT_URL"), "(off)"))
	if s := env(d.Env, "ANIMUS_WEBHOOK_SECRET"); s == os.Getenv("DEV_SECRET") {
		fmt.Printf("  secret       %s (dev only)\n", s)
	}
	fmt.Print(`
Next, in another terminal:
  make send        a signed sample event, as Svix sends it; its media comes from devpeer
  make jobs        the job's row (data/mediaflow.db)
  then open http://localhost:8233: the workflow is there, completed.
More: docs/local-dev.md. Ctrl-C stops everything.

`)
	if err := st.Wait(ctx); err != nil {
		st.Logf("%v (its lines above, and data/*.log); stopping the rest.", err)
		return cli.ErrReported
	}
	return nil // Ctrl-C is how a user stops it: a clean exit, not an error
}
