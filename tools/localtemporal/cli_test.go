package localtemporal

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeCLI writes an executable dir/temporal whose --version says server.
func fakeCLI(t *testing.T, dir, server string) string {
	t.Helper()
	p := filepath.Join(dir, "temporal")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho 'temporal version 1.5.1 (Server "+server+", UI 2.42.1)'\n"), 0o755))
	return p
}

// TestFindCLI: TEMPORAL_CLI, then bin/temporal, then a temporal on the
// PATH, the last only when its dev server is 1.29 or newer.
func TestFindCLI(t *testing.T) {
	root, path := t.TempDir(), t.TempDir()
	t.Setenv("TEMPORAL_CLI", "")
	t.Setenv("PATH", path)

	_, err := FindCLI(root)
	require.ErrorContains(t, err, "no temporal on the PATH")

	fakeCLI(t, path, "1.28.3")
	_, err = FindCLI(root)
	require.ErrorContains(t, err, "embeds dev server 1.28.3, older than 1.29")

	onPath := fakeCLI(t, path, "1.29.0")
	c, err := FindCLI(root)
	require.NoError(t, err)
	require.Equal(t, CLI{Path: onPath, Server: "1.29.0", Source: "the PATH"}, c)

	local := fakeCLI(t, filepath.Join(root, "bin"), "1.29.1")
	c, err = FindCLI(root)
	require.NoError(t, err)
	require.Equal(t, CLI{Path: local, Server: "1.29.1", Source: "bin/temporal"}, c)

	t.Setenv("TEMPORAL_CLI", fakeCLI(t, t.TempDir(), "1.31.0"))
	c, err = FindCLI(root)
	require.NoError(t, err)
	require.Equal(t, "TEMPORAL_CLI", c.Source)
	require.Equal(t, "1.31.0", c.Server)
}
