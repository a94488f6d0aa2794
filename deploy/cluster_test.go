package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// make cluster (tools/internal/stack) runs docker-compose.yml's topology
// from binaries, with these files: these tests keep them and compose the
// same (tools/internal/stack's tests check its own settings).

// makeVariable returns the value of `NAME := value` in the Makefile.
func makeVariable(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*:=\s*(\S+)\s*$`).FindSubmatch(raw)
	require.NotNil(t, m, "Makefile: %s := … not found", name)
	return string(m[1])
}

// serverFlagVariables are read by temporal-server's command line (the
// environment variables of its flags), not by its config template.
var serverFlagVariables = map[string]bool{"TEMPORAL_ALLOW_NO_AUTH": true}

func TestClusterVersions(t *testing.T) {
	p := loadCompose(t, true)
	require.Equal(t, "v"+imageTag(service(t, p, "temporal").Image), makeVariable(t, "TEMPORAL_SERVER_VERSION"),
		"the Makefile's temporal-server and temporal-sql-tool must be docker-compose.yml's temporalio/server")
	require.Equal(t, "v"+imageTag(service(t, p, "temporal-ui").Image), makeVariable(t, "TEMPORAL_UI_VERSION"),
		"the Makefile's temporal-ui-server must be docker-compose.yml's temporalio/ui")
}

func TestClusterTemporalConfig(t *testing.T) {
	p := loadCompose(t, true)
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "temporal", "config.yaml"))
	require.NoError(t, err)
	cfg := string(raw)

	// The server renders the file as a template only with this marker.
	require.True(t, strings.HasPrefix(cfg, "# enable-template\n"))
	// config.yaml reads every variable the compose service sets, where the
	// image's embedded template reads it, but temporal-server's flags.
	for k := range service(t, p, "temporal").Environment {
		if !serverFlagVariables[k] {
			require.True(t, strings.Contains(cfg, `(env "`+k+`")`), "config.yaml does not read %s, which docker-compose.yml's temporal service sets", k)
		}
	}
	shards := env(t, service(t, p, "temporal"), "NUM_HISTORY_SHARDS")
	require.True(t, strings.Contains(cfg, `{{ default "`+shards+`" (env "NUM_HISTORY_SHARDS") }}`),
		"the shard count cannot change once the cluster exists")
	// Membership ports are a smallint column in Temporal's schema.
	ports := regexp.MustCompile(`default "(\d+)" \(env "[A-Z_]+_(?:GRPC|HTTP|MEMBERSHIP)_PORT"\)`).FindAllStringSubmatch(cfg, -1)
	require.Len(t, ports, 9, "the frontend's gRPC, HTTP and membership ports, gRPC and membership for the others")
	for _, m := range ports {
		port, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		require.Less(t, port, 32768, "ports below 32768 (membership ports are a smallint column)")
	}
}

func TestClusterUI(t *testing.T) {
	p := loadCompose(t, true)
	ui := service(t, p, "temporal-ui")
	// The image's config/docker.yaml reads it; otherwise the UI fetches
	// Temporal's news from the internet.
	require.Equal(t, "true", env(t, ui, "TEMPORAL_DISABLE_NEWS_FETCH"))
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "temporal", "ui-server.yaml"))
	require.NoError(t, err)
	require.Regexp(t, `(?m)^disableNewsFetch: true$`, string(raw))
	require.Regexp(t, `(?m)^temporalGrpcAddress: 127\.0\.0\.1:7233$`, string(raw))
	require.Regexp(t, `(?m)^host: 127\.0\.0\.1$`, string(raw), "no login: loopback only, as compose publishes it")
	require.Regexp(t, `(?m)^port: `+ui.Ports[0].Published+`$`, string(raw), "compose's published port")
}
