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
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

// Main runs tools/stack's command line (its doc comment) in the repository
// around the working directory, and returns the error for cli.ExitCode.
func Main(ctx context.Context, args []string) error {
	root, err := localtemporal.Root()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	t0 := time.Now()
	if s, err := strconv.ParseInt(os.Getenv("STACK_T0"), 10, 64); err == nil {
		t0 = time.Unix(s, 0)
	}
	switch strings.Join(args[:min(len(args), 2)], " ") {
	case "dev":
		return dev(ctx, root, t0)
	case "check":
		return checkDev(makeDev(root), true)
	case "temporal":
		c, err := findCLI(root)
		if err == nil {
			fmt.Println(c.Path)
		}
		return err
	case "bench start", "bench stop":
		return bench(ctx, root, t0, args[1])
	}
	if len(args) > 0 && args[0] == "cluster" {
		return cluster(ctx, root, t0, args[1:])
	}
	return usage("dev|check|temporal|cluster [COMMAND]|bench start|stop")
}

func usage(s string) error {
	fmt.Fprintln(os.Stderr, "usage: stack", s, "(go doc ./tools/stack)")
	return cli.ErrUsage
}

// bench runs a dev server stack in $STACK_DIR, headless and in memory, on
// free ports, without devpeer; the worker and the server get this
// process's environment. start prints its exports.
func bench(ctx context.Context, root string, t0 time.Time, cmd string) error {
	d := Dev{Root: root, Dir: os.Getenv("STACK_DIR"), Temporal: FreeAddr(), HTTP: FreeAddr(), Metrics: FreeAddr(), InMemory: true, Env: os.Environ()}
	if d.Dir == "" {
		return usage("bench start|stop, with STACK_DIR set")
	}
	c, err := localtemporal.FindCLI(root)
	d.CLI = c.Path
	st := &Stack{Dir: d.Dir, Procs: d.Procs(), Out: os.Stderr, T0: t0}
	switch {
	case cmd == "stop":
		st.Stop()
		return nil
	case err != nil:
		return err
	}
	if err := st.Start(ctx); err != nil {
		st.Stop()
		return err
	}
	fmt.Print(exports(st, d.Temporal, "http://"+d.HTTP+"/webhooks/animus"))
	return nil
}

// exports are shell lines that point a client at a stack: Temporal's
// settings, STACK_WEBHOOK_URLS (comma-separated, as loadgen -url takes
// them) and STACK_PIDS (name=pid,…, as loadgen -cpu takes them).
func exports(st *Stack, temporal string, urls ...string) string {
	var pids []string
	for _, n := range st.Names() {
		if st.Running(n) {
			pids = append(pids, fmt.Sprintf("%s=%d", n, st.Pid(n)))
		}
	}
	return fmt.Sprintf("export TEMPORAL_ADDRESS=%s TEMPORAL_NAMESPACE=%s TEMPORAL_CONFIG_FILE=/dev/null\n"+
		"export STACK_WEBHOOK_URLS=%s\nexport STACK_PIDS=%s\n", temporal, Namespace, strings.Join(urls, ","), strings.Join(pids, ","))
}

// findCLI is localtemporal.FindCLI; one found on the PATH is linked as
// bin/temporal, which the docs' commands run.
func findCLI(root string) (localtemporal.CLI, error) {
	c, err := localtemporal.FindCLI(root)
	if err == nil && c.Source == "the PATH" {
		link := filepath.Join(root, "bin", "temporal")
		os.Remove(link) // a link to a CLI that is gone
		os.MkdirAll(filepath.Dir(link), 0o755)
		if err := os.Symlink(c.Path, link); err != nil {
			return c, err
		}
		c.Source = "the PATH, linked as bin/temporal"
	}
	return c, err
}

// SearchAttributes are mediaflow.SearchAttributes() as Temporal's tools
// take them: "AnimusJobID=Keyword", ….
func SearchAttributes() []string {
	var out []string
	for _, k := range mediaflow.SearchAttributes() {
		out = append(out, k.GetName()+"=Keyword")
	}
	return out
}

// Build builds packages into root/bin.
func Build(root string, packages ...string) error {
	cmd := exec.Command("go", append([]string{"build", "-o", "bin/"}, packages...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", strings.Join(packages, " "), err)
	}
	return nil
}

// With is env with each of kv ("KEY=value") set, replacing KEY's value.
func With(env []string, kv ...string) []string {
	for _, s := range kv {
		key, _, _ := strings.Cut(s, "=")
		env = append(Without(env, key), s) // Without copies env
	}
	return env
}

// Without is env without keys.
func Without(env []string, keys ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(e string) bool {
		key, _, _ := strings.Cut(e, "=")
		return slices.Contains(keys, key)
	})
}

// env is key's value in environ.
func env(environ []string, key string) string {
	for _, e := range environ {
		if v, ok := strings.CutPrefix(e, key+"="); ok {
			return v
		}
	}
	return ""
}

// lookup is the variable's value, or def when it is unset: an empty value
// counts (it turns an optional step off).
func lookup(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// TemporalClient is env with the client settings of the Temporal at addr:
// whatever a shell or a Temporal CLI profile (Temporal Cloud, say) would
// bring is dropped, temporal-server's own flags included.
func TemporalClient(env []string, addr string) []string {
	env = slices.DeleteFunc(slices.Clone(env), func(e string) bool {
		return slices.ContainsFunc([]string{"TEMPORAL_TLS", "TEMPORAL_API_KEY=", "TEMPORAL_PROFILE=", "TEMPORAL_ROOT=",
			"TEMPORAL_CONFIG_DIR=", "TEMPORAL_ENVIRONMENT=", "TEMPORAL_AVAILAB", "TEMPORAL_SERVER_CONFIG_FILE_PATH="},
			func(p string) bool { return strings.HasPrefix(e, p) })
	})
	return With(env, "TEMPORAL_ADDRESS="+addr, "TEMPORAL_NAMESPACE="+Namespace, "TEMPORAL_CONFIG_FILE=/dev/null")
}

// Local is addr as a client on this machine reaches it (":8080" and
// "0.0.0.0:8080" are 127.0.0.1:8080).
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
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
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

// TemporalReady is a Ready that wants the Temporal frontend at addr to say
// SERVING to its health check.
func TemporalReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := localtemporal.Dial(ctx, addr, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
}
