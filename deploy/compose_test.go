package deploy

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/config"
)

// Paths from this package's directory, where go test runs.
const (
	repoRoot    = ".."
	composeFile = "../docker-compose.yml"
	envExample  = "../.env.example"
)

// svixRetryWindow is how long Svix keeps retrying one event (Svix's schedule:
// immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). A redelivery is a
// duplicate only while the first run is within the namespace's retention.
const svixRetryWindow = 5*time.Second + 5*time.Minute + 30*time.Minute + 2*time.Hour + 5*time.Hour + 10*time.Hour + 10*time.Hour

// loadCompose loads docker-compose.yml as `docker compose` would, with
// .env.example standing in for the operator's .env (so the test needs no
// real secret), and without reading the services' env_file: the test sees
// only what the compose file itself sets. With interpolate false, ${…}
// references stay as written.
func loadCompose(t *testing.T, interpolate bool) *types.Project {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnvFiles(filepath.Join(root, ".env.example")),
		cli.WithDotEnv,
		// .env.example leaves the secret empty, which ${…:?} refuses: the
		// operator fills it in. Stand in for that.
		cli.WithEnv([]string{"ANIMUS_WEBHOOK_SECRET=filled-in-by-the-operator"}),
		cli.WithInterpolation(interpolate),
		cli.WithoutEnvironmentResolution,
	)
	require.NoError(t, err)
	p, err := opts.LoadProject(context.Background())
	require.NoError(t, err, "docker-compose.yml does not load")
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	require.NoError(t, err)
	return s
}

func env(t *testing.T, s types.ServiceConfig, key string) string {
	t.Helper()
	v, ok := s.Environment[key]
	require.True(t, ok && v != nil, "service %s: environment %s is not set", s.Name, key)
	return *v
}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t, true)
	want := []string{"postgresql", "server", "temporal", "temporal-schema", "temporal-setup", "temporal-ui", "worker"}
	got := p.ServiceNames()
	slices.Sort(got)
	require.Equal(t, want, got)
}

func TestComposePorts(t *testing.T) {
	p := loadCompose(t, true)
	type mapping struct {
		published string
		target    uint32
		hostIP    string // "" = every interface
	}
	tests := []struct {
		service string
		ports   []mapping
	}{
		// The webhook for all; its codec endpoint, which decodes event
		// data for whoever reaches it, for the UI's browser on loopback.
		{"server", []mapping{{"8080", 8080, ""}, {"8234", 8234, "127.0.0.1"}}},
		// No login on the UI nor on Temporal's gRPC: loopback only.
		{"temporal-ui", []mapping{{"8233", 8080, "127.0.0.1"}}},
		{"temporal", []mapping{{"7233", 7233, "127.0.0.1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.service, func(t *testing.T) {
			s := service(t, p, tc.service)
			var got []mapping
			for _, p := range s.Ports {
				got = append(got, mapping{p.Published, p.Target, p.HostIP})
			}
			require.ElementsMatch(t, tc.ports, got)
		})
	}
	for _, name := range []string{"postgresql", "worker", "temporal-schema", "temporal-setup"} {
		require.Empty(t, service(t, p, name).Ports, "%s publishes nothing", name)
	}

	// The server listens where the port mapping and its health check look,
	// and serves the codec where the UI's browser is sent.
	s := service(t, p, "server")
	_, port, err := net.SplitHostPort(env(t, s, "HTTP_ADDR"))
	require.NoError(t, err)
	require.Equal(t, "8080", port)
	_, port, err = net.SplitHostPort(env(t, s, "CODEC_ADDR"))
	require.NoError(t, err)
	require.Equal(t, "8234", port)
	require.Equal(t, "http://localhost:8234", env(t, service(t, p, "temporal-ui"), "TEMPORAL_CODEC_ENDPOINT"))
}

// TestComposeBlobStore: the server and the worker use one blob store; by
// default a file:// directory on a named volume that both mount, which the
// image makes writable for its user.
func TestComposeBlobStore(t *testing.T) {
	p := loadCompose(t, true)
	server, worker := service(t, p, "server"), service(t, p, "worker")
	blobURL := env(t, server, "BLOB_URL")
	require.Equal(t, blobURL, env(t, worker, "BLOB_URL"))
	u, err := url.Parse(blobURL)
	require.NoError(t, err)
	require.Equal(t, "file", u.Scheme)
	mount := func(s types.ServiceConfig) string {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Target == u.Path {
				return v.Source
			}
		}
		return ""
	}
	require.NotEmpty(t, mount(server), "server: no volume at %s", u.Path)
	require.Equal(t, mount(server), mount(worker), "the worker reads what the server writes")
	require.Contains(t, p.Volumes, mount(server))
	require.True(t, strings.HasPrefix(u.Path, "/home/nonroot/data/"), "the image makes /home/nonroot/data/ for its user")
}

func TestComposeHealthchecks(t *testing.T) {
	p := loadCompose(t, true)
	for _, name := range []string{"postgresql", "temporal", "server"} {
		t.Run(name, func(t *testing.T) {
			hc := service(t, p, name).HealthCheck
			require.NotNil(t, hc, "no healthcheck")
			require.False(t, hc.Disable)
			require.NotEmpty(t, hc.Test)
			require.NotNil(t, hc.Interval)
			require.NotNil(t, hc.Retries)
		})
	}
	server := service(t, p, "server").HealthCheck
	require.Equal(t, types.HealthCheckTest{"CMD", "/usr/local/bin/probe", "http://127.0.0.1:8080/readyz"}, server.Test)

	// The image's HEALTHCHECK probes the server's HTTP port, which the
	// worker does not have.
	worker := service(t, p, "worker").HealthCheck
	require.NotNil(t, worker, "worker: the image's HTTP health check must be disabled")
	require.True(t, worker.Disable, "worker: the image's HTTP health check must be disabled")
}

func TestComposeStartOrder(t *testing.T) {
	p := loadCompose(t, true)
	const (
		healthy = types.ServiceConditionHealthy
		done    = types.ServiceConditionCompletedSuccessfully
	)
	tests := []struct {
		service, dependsOn, condition string
	}{
		{"temporal-schema", "postgresql", healthy},
		{"temporal", "temporal-schema", done},
		{"temporal", "postgresql", healthy},
		{"temporal-setup", "temporal", healthy},
		{"temporal-ui", "temporal", healthy},
		{"worker", "postgresql", healthy},
		{"worker", "temporal", healthy},
		{"worker", "temporal-setup", done},
		{"server", "temporal", healthy},
		{"server", "temporal-setup", done},
	}
	for _, tc := range tests {
		t.Run(tc.service+" after "+tc.dependsOn, func(t *testing.T) {
			dep, ok := service(t, p, tc.service).DependsOn[tc.dependsOn]
			require.True(t, ok, "%s does not depend on %s", tc.service, tc.dependsOn)
			require.Equal(t, tc.condition, dep.Condition)
			require.True(t, dep.Required)
		})
	}
}

func TestComposeImagesPinned(t *testing.T) {
	p := loadCompose(t, true)
	for _, s := range p.Services {
		t.Run(s.Name, func(t *testing.T) {
			if s.Build != nil {
				// Built from the Dockerfile, whose own images are pinned
				// (TestDockerfile).
				require.Empty(t, s.Image, "a built service names no image to pull")
				return
			}
			require.NotEmpty(t, s.Image)
			tag := imageTag(s.Image)
			require.NotEmpty(t, tag, "image %s has no tag", s.Image)
			require.NotEqual(t, "latest", tag, "image %s", s.Image)
			require.Regexp(t, `^v?\d+\.\d+`, tag, "image %s: pin a version, not a moving name", s.Image)
		})
	}

	// The schema tool embeds the schema the server expects: one version.
	server := imageTag(service(t, p, "temporal").Image)
	for _, name := range []string{"temporal-schema", "temporal-setup"} {
		got := service(t, p, name).Image
		require.Equal(t, "temporalio/admin-tools:"+server, got, "%s: admin-tools must match temporalio/server:%s", name, server)
	}
}

// imageTag returns the tag of an image reference ("" when it has none).
func imageTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || i < strings.LastIndex(ref, "/") {
		return ""
	}
	return ref[i+1:]
}

func TestComposeNoInlineSecrets(t *testing.T) {
	raw, err := os.ReadFile(composeFile)
	require.NoError(t, err)
	// Match, not Find: the failure must not print the secret.
	require.False(t, secretLiteral.Match(raw), "a webhook secret in docker-compose.yml")

	// As written (before interpolation): a secret's value is always a
	// ${…} reference to .env, never a literal.
	p := loadCompose(t, false)
	for _, s := range p.Services {
		for k, v := range s.Environment {
			if k == "ANIMUS_WEBHOOK_SECRET" {
				require.Equal(t, "server", s.Name, "only the server gets the webhook secret")
			}
			if v == nil {
				continue
			}
			require.NotContains(t, *v, "whsec_", "service %s: %s holds a webhook secret", s.Name, k)
			if secretName(k) {
				require.Regexp(t, `^\$\{[A-Z_]+(:?[-?][^}]*)?\}$`, *v, "service %s: %s must come from .env as ${…}", s.Name, k)
			}
			if u, err := url.Parse(*v); err == nil && u.User != nil {
				_, hasPassword := u.User.Password()
				require.False(t, hasPassword, "service %s: %s holds a password in a URL", s.Name, k)
			}
		}
	}

	// No service reads .env whole (each would get every secret in it);
	// the server gets the webhook secret by reference.
	for _, s := range p.Services {
		require.Empty(t, s.EnvFiles, "service %s: env_file hands over every secret in .env", s.Name)
	}
	require.Contains(t, service(t, p, "server").Environment, "ANIMUS_WEBHOOK_SECRET")
}

// secretLiteral matches a Svix signing secret (whsec_ and base64), not the
// word in a comment.
var secretLiteral = regexp.MustCompile(`whsec_[A-Za-z0-9+/]{8,}`)

// secretName reports whether an environment variable's name says it holds
// a secret.
func secretName(k string) bool {
	for _, w := range []string{"PASSWORD", "PWD", "SECRET", "API_KEY", "TOKEN"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

func TestEnvFiles(t *testing.T) {
	vars := readEnvFile(t, envExample)
	for _, k := range []string{"ANIMUS_WEBHOOK_SECRET", "POSTGRES_PASSWORD", "MEDIAFLOW_DB_PASSWORD"} {
		require.Contains(t, vars, k, ".env.example names %s", k)
	}
	for k, v := range vars {
		if strings.Contains(k, "SECRET") || strings.Contains(k, "API_KEY") {
			require.Empty(t, v, ".env.example: %s is a placeholder to fill in, not a value", k)
		}
	}

	// .env holds the secrets: never committed, never in a build context.
	for _, f := range []string{"../.gitignore", "../.dockerignore"} {
		lines := readLines(t, f)
		require.True(t, slices.Contains(lines, ".env") || slices.Contains(lines, "/.env"), "%s must ignore .env", f)
	}
}

// readEnvFile reads KEY=VALUE lines, skipping comments and blank lines.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, line := range readLines(t, path) {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: %q is not KEY=VALUE", path, line)
		vars[k] = v
	}
	return vars
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	require.NoError(t, sc.Err())
	return lines
}

func TestComposeTemporalSetup(t *testing.T) {
	p := loadCompose(t, true)
	setup := service(t, p, "temporal-setup")

	retention, err := time.ParseDuration(env(t, setup, "NAMESPACE_RETENTION"))
	require.NoError(t, err)
	require.Greater(t, retention, svixRetryWindow,
		"retention %s: a redelivery after it would start a second run; Svix retries for %s", retention, svixRetryWindow)

	got := strings.Fields(env(t, setup, "SEARCH_ATTRIBUTES"))
	var want []string
	for _, k := range mediaflow.SearchAttributes() {
		want = append(want, k.GetName()+"=Keyword")
	}
	// make dev and make cluster register mediaflow.SearchAttributes() themselves.
	require.ElementsMatch(t, want, got)

	// The namespace set up is the one mediaflow uses, on the cluster it uses.
	ns := env(t, setup, "TEMPORAL_NAMESPACE")
	for _, name := range []string{"server", "worker"} {
		s := service(t, p, name)
		require.Equal(t, ns, env(t, s, "TEMPORAL_NAMESPACE"), name)
		require.Equal(t, "temporal:7233", env(t, s, "TEMPORAL_ADDRESS"), name)
	}
	require.Equal(t, "temporal:7233", env(t, setup, "TEMPORAL_ADDRESS"))
}

func TestComposeMediaflowEnvironment(t *testing.T) {
	p := loadCompose(t, true)

	// Every variable set for the server or the worker is one it reads: a
	// typo would otherwise be silently ignored.
	known := map[string]bool{
		// go.temporal.io/sdk/contrib/envconfig
		"TEMPORAL_ADDRESS": true, "TEMPORAL_NAMESPACE": true, "TEMPORAL_API_KEY": true,
		// internal/logging
		"LOG_FORMAT": true, "LOG_LEVEL": true,
		// gRPC (google.golang.org/grpc/internal/envconfig) and pgx (libpq's names)
		"GRPC_ENABLE_TXT_SERVICE_CONFIG": true, "PGPASSWORD": true,
		// the AWS SDK, for an s3:// BLOB_URL (gocloud.dev/blob/s3blob)
		"AWS_REGION": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true,
	}
	for _, name := range append(config.Variables[config.Server](), config.Variables[config.Worker]()...) {
		known[name] = true
	}
	for _, name := range []string{"server", "worker"} {
		for k := range service(t, p, name).Environment {
			require.True(t, known[k], "service %s: %s is read by neither mediaflow nor its libraries", name, k)
		}
	}

	// Each built service runs a binary the Dockerfile builds.
	for _, name := range []string{"server", "worker"} {
		s := service(t, p, name)
		require.NotNil(t, s.Build)
		require.Equal(t, []string{"/usr/local/bin/" + name}, []string(s.Command))
		require.DirExists(t, filepath.Join(repoRoot, "cmd", name))
	}

	// The worker's database: mediaflow's own, on the compose PostgreSQL, its
	// password from PGPASSWORD (not in the URL).
	worker := service(t, p, "worker")
	u, err := url.Parse(env(t, worker, "DATABASE_URL"))
	require.NoError(t, err)
	require.Equal(t, "postgres", u.Scheme)
	require.Equal(t, "postgresql", u.Hostname())
	require.Equal(t, "/mediaflow", u.Path)
	require.Equal(t, "mediaflow", u.User.Username())
	require.NotEmpty(t, env(t, worker, "PGPASSWORD"))
	initScript, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "postgres", "init-mediaflow.sh"))
	require.NoError(t, err)
	require.Contains(t, string(initScript), "CREATE ROLE mediaflow LOGIN")
	require.Contains(t, string(initScript), "CREATE DATABASE mediaflow OWNER mediaflow")
}

func TestComposeMountedFiles(t *testing.T) {
	p := loadCompose(t, true)
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	var scripts []string
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			rel, err := filepath.Rel(root, v.Source)
			require.NoError(t, err)
			require.False(t, strings.HasPrefix(rel, ".."), "service %s mounts %s, outside the repository", s.Name, v.Source)
			require.FileExists(t, v.Source, "service %s mounts it", s.Name)
			require.True(t, v.ReadOnly, "service %s: mount %s read-only", s.Name, rel)
			if strings.HasSuffix(v.Source, ".sh") {
				scripts = append(scripts, v.Source)
			}
		}
	}
	require.Len(t, scripts, 3, "init-mediaflow.sh, schema.sh, setup.sh")

	// The images run them with /bin/sh (busybox or dash): POSIX syntax only.
	sh, err := exec.LookPath("dash")
	if err != nil {
		sh, err = exec.LookPath("sh")
	}
	if err != nil {
		t.Skip("no sh to check the scripts' syntax")
	}
	for _, f := range scripts {
		out, err := exec.Command(sh, "-n", f).CombinedOutput()
		require.NoError(t, err, "%s -n %s: %s", sh, f, out)
	}
}

// TestComposeWorkerMediaDir: the worker saves media (MEDIA_DIR set) on a
// named volume it can write: one mounted on the runtime image's WORKDIR,
// the home its nonroot user owns (a new volume takes the owner of the
// image's directory; a directory the image lacks would be root's).
func TestComposeWorkerMediaDir(t *testing.T) {
	p := loadCompose(t, true)
	worker := service(t, p, "worker")
	dir := env(t, worker, "MEDIA_DIR")
	require.True(t, filepath.IsAbs(dir), "MEDIA_DIR %q", dir)

	st := stages(readDockerfile(t))
	workdirs := find(st[len(st)-1], "WORKDIR")
	require.NotEmpty(t, workdirs, "the runtime stage sets WORKDIR")
	home := workdirs[len(workdirs)-1]

	var mount *types.ServiceVolumeConfig
	for i, v := range worker.Volumes {
		if v.Type == types.VolumeTypeVolume && (dir == v.Target || strings.HasPrefix(dir, v.Target+"/")) {
			mount = &worker.Volumes[i]
		}
	}
	require.NotNil(t, mount, "MEDIA_DIR %s is on no named volume: the media would go with the container", dir)
	require.Equal(t, home, mount.Target, "mount the volume on the image's WORKDIR, which its user owns")
	require.False(t, mount.ReadOnly)
	require.Contains(t, p.Volumes, mount.Source, "a volume declared at the top level")
}

// TestComposeTemporalWithoutAuthorizer: the cluster runs without an
// authorizer (its frontend is published on loopback only) and says so:
// temporal-server 1.31 warns without TEMPORAL_ALLOW_NO_AUTH (the image's
// entrypoint passes no --allow-no-auth), and later versions refuse to start.
func TestComposeTemporalWithoutAuthorizer(t *testing.T) {
	p := loadCompose(t, true)
	temporal := service(t, p, "temporal")
	require.Equal(t, "true", env(t, temporal, "TEMPORAL_ALLOW_NO_AUTH"))
	require.Len(t, temporal.Ports, 1)
	require.Equal(t, "127.0.0.1", temporal.Ports[0].HostIP, "no authorizer: loopback only")
}
