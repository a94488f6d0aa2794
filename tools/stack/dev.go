package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/stack"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

// devStack is make dev's stack. Its settings are the user's when set
// (an empty one turns a step off), else make dev's; the optional steps
// go to devpeer, whose host downloads may reach.
func devStack(root string) (stack.Dev, error) {
	peer := getenv("DEVPEER_ADDR", "127.0.0.1:8090")
	host, _, _ := net.SplitHostPort(peer)
	secret, err := secret()
	d := stack.Dev{Root: root, Dir: "data", Temporal: "127.0.0.1:7233", UI: "127.0.0.1:8233", Devpeer: peer,
		Codec: getenv("CODEC_ADDR", "127.0.0.1:8234"), HTTP: getenv("HTTP_ADDR", "127.0.0.1:8080"),
		Metrics: lookup("WORKER_METRICS_ADDR", "127.0.0.1:9091"), Echo: true}
	d.Env = stack.With(os.Environ(), "ANIMUS_WEBHOOK_SECRET="+secret, "MEDIA_DIR="+lookup("MEDIA_DIR", "data/media"),
		"NOTIFY_URL="+lookup("NOTIFY_URL", "http://"+peer+"/notify"), "ALERT_URL="+lookup("ALERT_URL", "http://"+peer+"/alert"),
		"MEDIA_ALLOWED_HOSTS="+lookup("MEDIA_ALLOWED_HOSTS", host))
	return d, err
}

// checkDev fails, saying which, when a port of make dev is taken; before
// make dev, the message says that nothing was started.
func checkDev(root string, check bool) error {
	d, _ := devStack(root)
	st := &stack.Stack{Procs: d.Procs()}
	taken := st.Taken()
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
	case len(taken) > 1 && taken[0].Addr == d.Temporal && taken[1].Addr == d.UI:
		fmt.Println("Another make dev is probably running (its UI: http://localhost:8233). Use it (make send works")
		fmt.Println("against it), or stop it with Ctrl-C in its terminal, then run make dev again.")
	default:
		fmt.Println("Stop what uses them, or move mediaflow's own: HTTP_ADDR, WORKER_METRICS_ADDR, CODEC_ADDR, DEVPEER_ADDR.")
	}
	fmt.Println("Nothing was started and no file was changed.")
	return cli.ErrReported
}

// dev is make dev: in phases, each with its elapsed time, the Temporal CLI
// (found, or built once), mediaflow's programs, then the stack; it runs
// until Ctrl-C (or SIGTERM), or until a process exits, then stops it all.
// Nothing is written before the ports are known to be free.
func dev(ctx context.Context, root string, t0 time.Time) error {
	if err := checkDev(root, false); err != nil {
		return err
	}
	d, err := devStack(root)
	if err != nil {
		return err
	}
	st := &stack.Stack{Dir: d.Dir, Out: os.Stdout, T0: t0}
	if d.CLI, err = temporalCLI(root, st); err != nil {
		return err
	}
	t := time.Now()
	st.Logf("Building mediaflow (server, worker, mediaflowctl, send, devpeer) into bin/...")
	if err := stack.Build(root, "./cmd/server", "./cmd/worker", "./cmd/mediaflowctl", "./tools/send", "./tools/devpeer"); err != nil {
		return err
	}
	st.Logf("Built mediaflow in %s", clock(time.Since(t)))

	t = time.Now()
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
	banner(d, time.Since(t0))
	if err := st.Wait(ctx); err != nil {
		st.Logf("%v (its lines above, and data/*.log); stopping the rest.", err)
		return cli.ErrReported
	}
	// Ctrl-C is how a user stops it: a clean exit, not an error.
	return nil
}

// temporalCLI finds the Temporal CLI (localtemporal.FindCLI) and links
// one from the PATH as bin/temporal, which the docs' commands run; it
// builds bin/temporal when there is none.
func temporalCLI(root string, st *stack.Stack) (string, error) {
	c, err := findCLI(root)
	if err == nil {
		st.Logf("Temporal CLI: %s (%s; dev server %s)", c.Path, c.Source, c.Server)
		return c.Path, nil
	}
	t := time.Now()
	st.Logf("Temporal CLI: %v.", err)
	st.Logf("Building the Temporal CLI %s into bin/ from the Go module proxy, once per clone:", os.Getenv("TEMPORAL_CLI_VERSION"))
	st.Logf("  about 8 min on 2 cores, less with more. (make clean removes it; make clean-data keeps it.)")
	cmd := exec.Command(getenv("MAKE", "make"), "--no-print-directory", "bin/temporal")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the Temporal CLI: %w", err)
	}
	st.Logf("Built the Temporal CLI in %s", clock(time.Since(t)))
	return filepath.Join(root, "bin", "temporal"), nil
}

// findCLI is localtemporal.FindCLI; one found on the PATH is linked as
// bin/temporal.
func findCLI(root string) (localtemporal.CLI, error) {
	c, err := localtemporal.FindCLI(root)
	if err == nil && c.Source == "the PATH" {
		link := filepath.Join(root, "bin", "temporal")
		os.Remove(link) // a link to a CLI that is gone
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return c, err
		}
		if err := os.Symlink(c.Path, link); err != nil {
			return c, err
		}
		c.Source = "the PATH, linked as bin/temporal"
	}
	return c, err
}

func banner(d stack.Dev, ready time.Duration) {
	steps := map[bool]string{true: "(off)"}
	fmt.Printf(`
mediaflow is running (ready in %s):
  webhook      http://%s/webhooks/animus
  Temporal UI  http://localhost:8233 (large payloads decoded by http://%s)
  dead letters bin/mediaflowctl list (docs/recovery.md)
  devpeer      media on http://%s/media/, notifications received on /notify and /alert
  MEDIA_DIR=%s  NOTIFY_URL=%s  ALERT_URL=%s
  logs         data/temporal.log, data/worker.log, data/server.log, data/devpeer.log;
               notifications received: data/notifications.log
`, clock(ready), d.HTTP, d.Codec, d.Devpeer, env(d.Env, "MEDIA_DIR"),
		steps[env(d.Env, "NOTIFY_URL") == ""]+env(d.Env, "NOTIFY_URL"), steps[env(d.Env, "ALERT_URL") == ""]+env(d.Env, "ALERT_URL"))
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
}

// env is key's value in environ.
func env(environ []string, key string) string {
	for _, e := range environ {
		if len(e) > len(key) && e[:len(key)+1] == key+"=" {
			return e[len(key)+1:]
		}
	}
	return ""
}

// clock formats d as m:ss.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
