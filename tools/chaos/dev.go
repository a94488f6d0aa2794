package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mediaflow/mediaflow/internal/store"
)

// devSystem is the laptop topology: a Temporal dev server with a database
// file, one worker on SQLite and one server, each a child process of the
// test.
type devSystem struct {
	o                        options
	temporal, worker, server *proc
	temporalAddr, httpAddr   string
}

func startDev(ctx context.Context, o options, targetURL string) (*devSystem, error) {
	for _, b := range []string{"temporal", "server", "worker"} {
		if _, err := os.Stat(filepath.Join(o.binDir, b)); err != nil {
			return nil, fmt.Errorf("%s missing in %s (run make build and make temporal-cli)", b, o.binDir)
		}
	}
	c := &devSystem{o: o, temporalAddr: freeAddr(), httpAddr: freeAddr()}
	bin := func(name string) string { p, _ := filepath.Abs(filepath.Join(o.binDir, name)); return p }
	_, port, _ := net.SplitHostPort(c.temporalAddr)
	c.temporal = &proc{name: "temporal", path: bin("temporal"), dir: o.dir, args: []string{
		"server", "start-dev", "--ip", "127.0.0.1", "--port", port, "--headless",
		"--db-filename", filepath.Join(o.dir, "temporal.db"), "--log-level", "warn",
		"--search-attribute", "AnimusJobID=Keyword", "--search-attribute", "AnimusJobStatus=Keyword"}}
	// The test's own dev server, whatever TEMPORAL_* this shell or a
	// Temporal config file would bring (an empty value counts as unset).
	common := []string{"TEMPORAL_ADDRESS=" + c.temporalAddr, "TEMPORAL_NAMESPACE=default", "LOG_LEVEL=warn",
		"TEMPORAL_CONFIG_FILE=/dev/null", "TEMPORAL_PROFILE=", "TEMPORAL_API_KEY=", "TEMPORAL_TLS=",
		"TEMPORAL_TASK_QUEUE=", "OTEL_EXPORTER_OTLP_ENDPOINT="}
	c.worker = &proc{name: "worker", path: bin("worker"), dir: o.dir, env: append(common,
		"DATABASE_URL=sqlite://"+filepath.Join(o.dir, "jobs.db"), "WORKER_METRICS_ADDR=off",
		"NOTIFY_URL="+targetURL+"/notify", "ALERT_URL="+targetURL+"/alert")}
	c.server = &proc{name: "server", path: bin("server"), dir: o.dir, env: append(common,
		"ANIMUS_WEBHOOK_SECRET="+secret, "HTTP_ADDR="+c.httpAddr)}

	if err := c.temporal.start(); err != nil {
		return nil, err
	}
	// The worker needs Temporal up to start.
	tc, err := dialTemporal(ctx, c.temporalAddr)
	if err != nil {
		c.stop()
		return nil, err
	}
	tc.Close()
	for _, p := range []*proc{c.worker, c.server} {
		if err := p.start(); err != nil {
			c.stop()
			return nil, err
		}
	}
	if err := c.ready(ctx); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *devSystem) webhookURLs() []string {
	return []string{"http://" + c.httpAddr + "/webhooks/animus"}
}
func (c *devSystem) temporalAddress() string { return c.temporalAddr }

// ready waits until the server reports Temporal reachable.
func (c *devSystem) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return waitHTTP(ctx, "http://"+c.httpAddr+"/readyz")
}

// fault kills "worker" (back after a second), "server" or "temporal" (the
// dev server) with SIGKILL and starts it again.
func (c *devSystem) fault(ctx context.Context, name string) (string, error) {
	switch name {
	case "worker":
		return "worker killed (SIGKILL) and restarted", c.restart(ctx, c.worker, syscall.SIGKILL, time.Second)
	case "server":
		return "server killed (SIGKILL) and restarted", c.restart(ctx, c.server, syscall.SIGKILL, 0)
	case "temporal":
		return "Temporal dev server killed (SIGKILL) and restarted", c.restart(ctx, c.temporal, syscall.SIGKILL, 0)
	}
	return "", fmt.Errorf("no process %q here (worker, server, temporal)", name)
}

// restart stops p with sig, waits pause, starts it again and waits until
// the whole system is ready.
func (c *devSystem) restart(ctx context.Context, p *proc, sig syscall.Signal, pause time.Duration) error {
	p.stop(sig)
	time.Sleep(pause)
	if err := p.start(); err != nil {
		return err
	}
	return c.ready(ctx)
}

func (c *devSystem) countRows(ctx context.Context) (int, error) {
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(c.o.dir, "jobs.db"))
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.CountJobs(ctx)
}

func (c *devSystem) describe(context.Context) setup {
	version, _ := exec.Command(filepath.Join(c.o.binDir, "temporal"), "--version").Output()
	return setup{
		Topology:  "dev server",
		Temporal:  strings.TrimSpace(string(version)) + ", a database file",
		Mediaflow: "one worker, one server (`bin/worker`, `bin/server`), SQLite job store",
	}
}

func (c *devSystem) failed() {
	fmt.Println("logs:", c.o.dir)
}

func (c *devSystem) stop() {
	for _, p := range []*proc{c.server, c.worker, c.temporal} {
		if p != nil {
			p.stop(syscall.SIGTERM)
		}
	}
}
