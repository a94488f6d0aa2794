package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/searchattr"
)

// temporalAddress is the Temporal frontend the package's tests use: a dev
// server started for them, or the one E2E_TEMPORAL_ADDRESS names (a
// cluster such as make cluster's). Each test's worker polls a task queue of
// its own there, so a cluster's own workers never take its tasks.
var temporalAddress string

// namespace is where the tests start workflows, on either Temporal.
const namespace = "default"

// searchAttributes are the attributes mediaflow's workflows set (all
// Keyword): Temporal refuses a start, or fails a watch's task, when the
// namespace lacks one.
var searchAttributes = mediaflow.SearchAttributes()

func TestMain(m *testing.M) {
	if addr := os.Getenv("E2E_TEMPORAL_ADDRESS"); addr != "" {
		if err := checkTemporal(addr); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: E2E_TEMPORAL_ADDRESS=%s: %v\n", addr, err)
			os.Exit(1)
		}
		temporalAddress = addr
		os.Exit(m.Run())
	}
	path, err := temporalCLI()
	if err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "e2e: skipped:", err, "(run make test, which installs it)")
		os.Exit(0)
	}
	devServer, err := startDevServer(path, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the Temporal dev server:", err)
		os.Exit(1)
	}
	temporalAddress = devServer.FrontendHostPort()
	code := m.Run()
	devServer.Stop()
	os.Exit(code)
}

// startDevServer starts the dev server binary at path with the search
// attributes registered, on hostPort (a free port when empty).
func startDevServer(path, hostPort string) (*testsuite.DevServer, error) {
	attrs := make([]temporal.SearchAttributeUpdate, len(searchAttributes))
	for i, k := range searchAttributes {
		attrs[i] = k.ValueSet("")
	}
	return testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:     path,
		ClientOptions:    &client.Options{HostPort: hostPort, Namespace: namespace},
		LogLevel:         "error",
		SearchAttributes: temporal.NewSearchAttributes(attrs...),
		Stdout:           os.Stderr,
		Stderr:           os.Stderr,
	})
}

// checkTemporal fails unless the Temporal frontend at addr answers within
// 30 s and its namespace has every search attribute with its type: a
// cluster is set up beforehand (make cluster runs deploy/temporal/setup.sh),
// the tests do not change it.
func checkTemporal(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: namespace,
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return fmt.Errorf("no Temporal frontend answers: %w", err)
	}
	defer c.Close()
	// The same check the worker makes at start; its error names the
	// command that registers what is missing.
	return searchattr.Check(ctx, c.OperatorService(), namespace, searchAttributes)
}

// temporalCLI finds the Temporal CLI: $TEMPORAL_CLI, else bin/temporal at
// the module root (where make installs it).
func temporalCLI() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	dir, _ := os.Getwd()
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "bin", "temporal")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("no Temporal CLI at %s", p)
			}
			return p, nil
		}
	}
	return "", fmt.Errorf("no go.mod above the working directory")
}
