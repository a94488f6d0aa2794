package stack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

// Dev is the dev server topology, on 127.0.0.1: the Temporal dev server
// with mediaflow's search attributes, devpeer, the worker and the server.
type Dev struct {
	Root string // the repository, whose bin/ holds mediaflow's programs
	Dir  string // logs, temporal.db, devpeer's notifications.log
	CLI  string // the Temporal CLI
	// The addresses: the dev server's gRPC frontend and Web UI ("": none),
	// the server's codec endpoint for the UI, devpeer ("": none), the
	// server's HTTP_ADDR and the worker's WORKER_METRICS_ADDR ("" or
	// "off": none).
	Temporal, UI, Codec, Devpeer, HTTP, Metrics string
	// InMemory keeps the dev server's state in memory, not in temporal.db.
	InMemory bool
	// Env is the environment of devpeer, the worker and the server, to
	// which Dev adds the addresses and the dev server's client settings.
	Env []string
	// Echo prints devpeer's, the worker's and the server's lines too.
	Echo bool
}

// Procs are the dev server, then devpeer, the worker and the server.
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
		procs = append(procs, Proc{Name: "devpeer", Env: env, App: true, Echo: d.Echo,
			Args:  []string{d.bin("devpeer"), "--addr", d.Devpeer, "--log", filepath.Join(d.Dir, "notifications.log")},
			Ready: HTTPReady("http://" + d.Devpeer + "/healthz"), Ports: []Port{{d.Devpeer, "devpeer (DEVPEER_ADDR)"}}})
	}
	worker := Proc{Name: "worker", Args: []string{d.bin("worker")}, Env: env, App: true, Echo: d.Echo, Grace: 40 * time.Second}
	if on(d.Metrics) {
		worker.Ready = HTTPReady("http://" + Local(d.Metrics) + "/metrics")
		worker.Ports = []Port{{Local(d.Metrics), "worker metrics (WORKER_METRICS_ADDR)"}}
	}
	server := Proc{Name: "server", Args: []string{d.bin("server")}, Env: env, App: true, Echo: d.Echo, Grace: 25 * time.Second,
		Ready: HTTPReady("http://" + Local(d.HTTP) + "/readyz"), Ports: []Port{{Local(d.HTTP), "mediaflow server (HTTP_ADDR)"}}}
	if on(d.Codec) {
		server.Ports = append(server.Ports, Port{Local(d.Codec), "codec endpoint (CODEC_ADDR)"})
	}
	return append(procs, worker, server)
}

func (d Dev) bin(name string) string { return filepath.Join(d.Root, "bin", name) }

// SearchAttributes are mediaflow's search attributes as Temporal's tools
// take them: "AnimusJobID=Keyword", ….
func SearchAttributes() []string {
	var out []string
	for _, k := range mediaflow.SearchAttributes() {
		out = append(out, k.GetName()+"=Keyword")
	}
	return out
}

// Build builds packages (./cmd/server, …) into root/bin.
func Build(root string, packages ...string) error {
	cmd := exec.Command("go", append([]string{"build", "-o", "bin/"}, packages...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", strings.Join(packages, " "), err)
	}
	return nil
}

// With returns env with each of kv ("KEY=value") set, replacing the
// earlier value of KEY.
func With(env []string, kv ...string) []string {
	out := slices.Clone(env)
	for _, s := range kv {
		key, _, _ := strings.Cut(s, "=")
		out = slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, key+"=") })
		out = append(out, s)
	}
	return out
}

// Without returns env without the given keys.
func Without(env []string, keys ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(e string) bool {
		key, _, _ := strings.Cut(e, "=")
		return slices.Contains(keys, key)
	})
}

// TemporalClient returns env with the client settings of the Temporal at
// addr: whatever TEMPORAL_* settings a shell or a Temporal CLI profile
// (Temporal Cloud, say) would bring are dropped.
func TemporalClient(env []string, addr string) []string {
	env = slices.DeleteFunc(slices.Clone(env), func(e string) bool {
		return slices.ContainsFunc(foreignTemporal, func(p string) bool { return strings.HasPrefix(e, p) })
	})
	return With(env, "TEMPORAL_ADDRESS="+addr, "TEMPORAL_NAMESPACE=default", "TEMPORAL_CONFIG_FILE=/dev/null")
}

// foreignTemporal are the prefixes of the settings TemporalClient drops:
// the client's, and temporal-server's own flags.
var foreignTemporal = []string{"TEMPORAL_TLS", "TEMPORAL_API_KEY=", "TEMPORAL_PROFILE=", "TEMPORAL_ROOT=",
	"TEMPORAL_CONFIG_DIR=", "TEMPORAL_ENVIRONMENT=", "TEMPORAL_AVAILAB", "TEMPORAL_SERVER_CONFIG_FILE_PATH="}

// Local is addr as a client on this machine reaches it: ":8080" and
// "0.0.0.0:8080" are 127.0.0.1:8080.
func Local(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func on(addr string) bool { return addr != "" && !strings.EqualFold(addr, "off") }

// FreeAddr is a 127.0.0.1 address whose port is free now.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// HTTPReady is a Ready that wants a 2xx from a GET of url.
func HTTPReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	}
}

// TemporalReady is a Ready that wants the Temporal frontend at addr to
// answer its health check (SERVING).
func TemporalReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := localtemporal.Dial(ctx, addr, "default", 0)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
}
