package localtemporal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
)

// MinDevServer is the oldest dev server accepted from a `temporal` on the
// PATH: 1.29, the first whose Worker Versioning (deployments) the worker
// relies on; Temporal CLI v1.5.0 embeds it. The flags make dev passes to
// `server start-dev` (--ui-codec-endpoint, --search-attribute, --headless)
// are older.
var MinDevServer = [3]int{1, 29, 0}

// CLI is a Temporal CLI on this machine.
type CLI struct {
	Path   string // absolute
	Server string // the dev server it embeds, "1.29.1"
	Source string // where it was found: "TEMPORAL_CLI", "bin/temporal" or "the PATH"
}

// FindCLI returns the Temporal CLI that make dev, readme-check and the e2e
// tests use: $TEMPORAL_CLI when set, else root/bin/temporal (what make
// installs), else a `temporal` on the PATH whose dev server is
// MinDevServer or newer. It fails, naming what it found, when there is
// none of these.
func FindCLI(root string) (CLI, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		return inspect(p, "TEMPORAL_CLI")
	}
	local := filepath.Join(root, "bin", "temporal")
	if _, err := os.Stat(local); err == nil {
		return inspect(local, "bin/temporal")
	}
	p, err := exec.LookPath("temporal")
	if err != nil {
		return CLI{}, fmt.Errorf("no %s and no temporal on the PATH", local)
	}
	c, err := inspect(p, "the PATH")
	if err != nil {
		return c, err
	}
	var v [3]int
	fmt.Sscanf(c.Server, "%d.%d.%d", &v[0], &v[1], &v[2]) // checked by serverVersion
	if slices.Compare(v[:], MinDevServer[:]) < 0 {
		return CLI{}, fmt.Errorf("no %s, and the temporal on the PATH (%s) embeds dev server %s, older than %d.%d",
			local, p, c.Server, MinDevServer[0], MinDevServer[1])
	}
	return c, nil
}

var serverVersion = regexp.MustCompile(`Server (\d+\.\d+\.\d+)`)

// inspect reads the dev server version from `path --version`
// ("temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)").
func inspect(path, source string) (CLI, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return CLI{}, err
	}
	out, err := exec.Command(abs, "--version").Output()
	if err != nil {
		return CLI{}, fmt.Errorf("%s --version: %w", abs, err)
	}
	m := serverVersion.FindSubmatch(out)
	if m == nil {
		return CLI{}, fmt.Errorf("%s --version names no dev server: %q", abs, out)
	}
	return CLI{Path: abs, Server: string(m[1]), Source: source}, nil
}

// Root is the repository: the first directory holding go.mod at or above
// the working directory.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("no go.mod at or above the working directory: run from the repository")
}
