package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow"
)

// devServer is the Temporal dev server shared by the package's tests.
var devServer *testsuite.DevServer

func TestMain(m *testing.M) {
	path, err := temporalCLI()
	if err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "e2e: skipped:", err, "(run make test, which installs it)")
		os.Exit(0)
	}
	devServer, err = startDevServer(path, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the Temporal dev server:", err)
		os.Exit(1)
	}
	code := m.Run()
	devServer.Stop()
	os.Exit(code)
}

// startDevServer starts the dev server binary at path with the search
// attributes registered, on hostPort (a free port when empty).
func startDevServer(path, hostPort string) (*testsuite.DevServer, error) {
	return testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:     path,
		ClientOptions:    &client.Options{HostPort: hostPort, Namespace: "default"},
		LogLevel:         "error",
		SearchAttributes: searchAttributes(),
		Stdout:           os.Stderr,
		Stderr:           os.Stderr,
	})
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

// searchAttributes are mediaflow's, for a dev server to register.
func searchAttributes() temporal.SearchAttributes {
	var updates []temporal.SearchAttributeUpdate
	for _, k := range mediaflow.SearchAttributes() {
		updates = append(updates, k.ValueSet(""))
	}
	return temporal.NewSearchAttributes(updates...)
}
