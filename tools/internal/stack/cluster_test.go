package stack

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
)

// composeService is docker-compose.yml's service name, ${…} as written.
func composeService(t *testing.T, name string) types.ServiceConfig {
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithInterpolation(false), cli.WithoutEnvironmentResolution)
	require.NoError(t, err)
	p, err := opts.LoadProject(context.Background())
	require.NoError(t, err)
	s, err := p.GetService(name)
	require.NoError(t, err)
	return s
}

// TestClusterAsCompose: make cluster's temporal-server gets every variable
// docker-compose.yml's temporal service sets (the flags' with the same
// value), and its setup step the namespace and retention of compose's
// temporal-setup.
func TestClusterAsCompose(t *testing.T) {
	procs, err := Cluster{Root: "/r", Dir: "/d", CLI: "/bin/temporal", PGPort: 5433}.Procs()
	require.NoError(t, err)
	byName := map[string]Proc{}
	for _, p := range procs {
		byName[p.Name] = p
	}
	server := byName["temporal-server"].Env
	for k, v := range composeService(t, "temporal").Environment {
		require.Contains(t, strings.Join(server, "\n")+"\n", k+"=", "temporal-server lacks %s, which docker-compose.yml sets", k)
		if k == "TEMPORAL_ALLOW_NO_AUTH" || k == "NUM_HISTORY_SHARDS" || k == "DB" {
			require.Contains(t, server, k+"="+*v)
		}
	}
	setup := composeService(t, "temporal-setup").Environment
	require.Equal(t, *setup["NAMESPACE_RETENTION"], NamespaceRetention)
	require.Equal(t, *setup["TEMPORAL_NAMESPACE"], Namespace)
	require.Contains(t, byName["temporal-setup"].Env, "SEARCH_ATTRIBUTES="+*setup["SEARCH_ATTRIBUTES"])
}

// TestClusterSecrets: each secret reaches only the processes that use it.
func TestClusterSecrets(t *testing.T) {
	procs, err := Cluster{Env: []string{"ANIMUS_WEBHOOK_SECRET=leak", "NOTIFY_URL=leak", "KEEP=1"}, Secret: "whsec_s",
		Worker: []string{"NOTIFY_URL=http://n"}, PostgresPassword: "pg", MediaflowPassword: "mf"}.Procs()
	require.NoError(t, err)
	for _, p := range procs {
		env := strings.Join(p.Env, "\n")
		require.NotContains(t, env, "leak", p.Name)
		require.Contains(t, p.Env, "KEEP=1", p.Name)
		require.Equal(t, strings.HasPrefix(p.Name, "server-"), strings.Contains(env, "whsec_s"), p.Name)
		require.Equal(t, strings.HasPrefix(p.Name, "worker-"), strings.Contains(env, "NOTIFY_URL=http://n"), p.Name)
		require.Equal(t, strings.HasPrefix(p.Name, "worker-"), strings.Contains(env, "PGPASSWORD=mf"), p.Name)
		require.Equal(t, p.Name == "temporal-server" || p.Name == "temporal-schema" || strings.HasPrefix(p.Name, "initdb") ||
			p.Name == "postgresql-init", strings.Contains(env, "=pg\n") || strings.HasSuffix(env, "=pg"), p.Name)
	}
}
