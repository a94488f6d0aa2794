package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/dbtest"
	"github.com/mediaflow/mediaflow/internal/searchattr"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

// temporalAddress is the Temporal frontend the package's tests use: a dev
// server started for them, or the one E2E_TEMPORAL_ADDRESS names (a
// cluster such as make cluster's). Each test's worker polls a task queue of
// its own there, so a cluster's own workers never take its tasks.
var temporalAddress string

// namespace is where the tests start workflows, on either Temporal.
const namespace = "default"

// deployment is the Worker Deployment of the tests' workers (versioned, as
// the binaries are by default): one per run, so that a cluster's own
// workers, deployment "mediaflow", never route the tests' workflows, and a
// run leaves one deployment behind on a cluster (its limit is 100).
var deployment = "e2e-" + rand.Text()

// searchAttributes are the attributes mediaflow's workflows set (all
// Keyword): Temporal refuses a start, or fails a watch's task, when the
// namespace lacks one.
var searchAttributes = mediaflow.SearchAttributes()

func TestMain(m *testing.M) {
	if path := os.Getenv(sqliteLockerEnv); path != "" {
		if err := sqliteLocker(path); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: sqlite locker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if addr := os.Getenv("E2E_TEMPORAL_ADDRESS"); addr != "" {
		if err := checkTemporal(addr); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: E2E_TEMPORAL_ADDRESS=%s: %v\n", addr, err)
			os.Exit(1)
		}
		temporalAddress = addr
		os.Exit(dbtest.WithPostgres(m.Run))
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
	code := dbtest.WithPostgres(m.Run)
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
		// Every test's task queues join the tests' one deployment version
		// (deployment): more than the default 100.
		ExtraArgs: []string{"--dynamic-config-value", "matching.maxTaskQueuesInDeploymentVersion=1000"},
		Stdout:    os.Stderr,
		Stderr:    os.Stderr,
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

// temporalCLI finds the Temporal CLI as make dev does
// (localtemporal.FindCLI): $TEMPORAL_CLI, bin/temporal, or a temporal on
// the PATH with a recent enough dev server.
func temporalCLI() (string, error) {
	root, err := localtemporal.Root()
	if err != nil {
		return "", err
	}
	c, err := localtemporal.FindCLI(root)
	return c.Path, err
}
