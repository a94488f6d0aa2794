package config

import (
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/logging"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestLoadServer(t *testing.T) {
	c, err := LoadServer(Environ{"ANIMUS_WEBHOOK_SECRET": " " + secret + " , whsec_c2Vjb25k "})
	require.NoError(t, err)
	require.Equal(t, []string{secret, "whsec_c2Vjb25k"}, c.Secrets)
	require.Equal(t, ":8080", c.HTTPAddr)
	require.Equal(t, "animus-media", c.TaskQueue)
	require.EqualValues(t, 1<<20, c.MaxBodyBytes)

	// The secrets arrive parsed: a delivery signed with either verifies.
	for _, s := range c.Secrets {
		body := []byte(`{}`)
		h, err := webhook.Sign(s, "msg_1", time.Now(), body)
		require.NoError(t, err)
		_, err = c.Verifier.Verify(body, h)
		require.NoError(t, err)
	}
	_, err = c.Verifier.Verify([]byte(`{}`), http.Header{})
	require.ErrorIs(t, err, webhook.ErrMissingHeaders)
}

// TestLogSettings: LOG_FORMAT and LOG_LEVEL are checked here and handed
// over parsed; a bad value stops the program with a line naming it.
func TestLogSettings(t *testing.T) {
	c, err := LoadControl(Environ{})
	require.NoError(t, err)
	require.Equal(t, logging.Settings{Format: logging.Text, Level: slog.LevelInfo}, c.Log)

	c, err = LoadControl(Environ{"LOG_FORMAT": "JSON", "LOG_LEVEL": "warn"})
	require.NoError(t, err)
	require.Equal(t, logging.Settings{Format: logging.JSON, Level: slog.LevelWarn}, c.Log)

	for name, env := range map[string]Environ{
		"LOG_FORMAT": {"LOG_FORMAT": "logfmt"},
		"LOG_LEVEL":  {"LOG_LEVEL": "verbose"},
	} {
		_, err := LoadWorker(env)
		require.ErrorContains(t, err, `environment variable "`+name+`"`)
	}
}

func TestLoadServerErrors(t *testing.T) {
	tests := []struct {
		name string
		env  Environ
		want string
	}{
		{"no secret", Environ{}, "ANIMUS_WEBHOOK_SECRET"},
		{"empty secret", Environ{"ANIMUS_WEBHOOK_SECRET": ""}, "ANIMUS_WEBHOOK_SECRET"},
		{"only commas", Environ{"ANIMUS_WEBHOOK_SECRET": " , "}, "ANIMUS_WEBHOOK_SECRET"},
		{"bad body limit", Environ{"ANIMUS_WEBHOOK_SECRET": secret, "MAX_BODY_BYTES": "lots"}, "MAX_BODY_BYTES"},
		{"start timeout past Svix's", Environ{"ANIMUS_WEBHOOK_SECRET": secret, "START_TIMEOUT": "20s"}, "START_TIMEOUT"},
		// No comparison refused NaN: the server ran without a limit.
		{"rate limit not a number", Environ{"ANIMUS_WEBHOOK_SECRET": secret, "RATE_LIMIT_RPS": "NaN"}, "RATE_LIMIT_RPS"},
		{"negative rate limit", Environ{"ANIMUS_WEBHOOK_SECRET": secret, "RATE_LIMIT_RPS": "-1"}, "RATE_LIMIT_RPS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadServer(tc.env)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "MfKQ9r8G", "errors never carry the secret")
		})
	}
}

func TestTemporalDefaults(t *testing.T) {
	none := t.TempDir() + "/none.toml"
	c, err := LoadWorker(Environ{"TEMPORAL_CONFIG_FILE": none})
	require.NoError(t, err)
	require.Equal(t, DefaultTemporalAddress, c.Temporal.HostPort)
	require.Equal(t, "default", c.Temporal.Namespace)

	c, err = LoadWorker(Environ{"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_ADDRESS": "temporal.internal:7233", "TEMPORAL_NAMESPACE": "media"})
	require.NoError(t, err)
	require.Equal(t, "temporal.internal:7233", c.Temporal.HostPort)
	require.Equal(t, "media", c.Temporal.Namespace)
}

func TestLoadWorkerDefaults(t *testing.T) {
	c, err := LoadWorker(Environ{})
	require.NoError(t, err)
	require.Equal(t, DefaultDatabaseURL, c.DatabaseURL)
	require.Equal(t, "animus-media", c.TaskQueue)
	require.Equal(t, "text", c.LogFormat)
	require.EqualValues(t, 5<<30, c.MediaMaxBytes)
}

func TestWorkerMetricsAddr(t *testing.T) {
	c, err := LoadWorker(Environ{})
	require.NoError(t, err)
	require.Equal(t, ":9091", c.MetricsAddr, "default when unset")

	for value, want := range map[string]string{"": "", "off": "", "OFF": "", "127.0.0.1:9100": "127.0.0.1:9100", ":0": ":0"} {
		c, err := LoadWorker(Environ{"WORKER_METRICS_ADDR": value})
		require.NoError(t, err, "WORKER_METRICS_ADDR=%q", value)
		require.Equal(t, want, c.MetricsAddr, "WORKER_METRICS_ADDR=%q", value)
	}
	_, err = LoadWorker(Environ{"WORKER_METRICS_ADDR": "9091"})
	require.ErrorContains(t, err, "WORKER_METRICS_ADDR")
}

// TestSecretLeavesTheProcessEnvironment: once read, the webhook secret is
// no longer in the environment a child process or a crash dump would see.
func TestSecretLeavesTheProcessEnvironment(t *testing.T) {
	t.Setenv("ANIMUS_WEBHOOK_SECRET", secret)
	_, err := LoadServer(OSEnviron())
	require.NoError(t, err)
	_, set := os.LookupEnv("ANIMUS_WEBHOOK_SECRET")
	require.False(t, set)
}

func TestVariables(t *testing.T) {
	server := Variables[Server]()
	require.Contains(t, server, "ANIMUS_WEBHOOK_SECRET")
	require.Contains(t, server, "TEMPORAL_TASK_QUEUE", "shared settings are listed")
	require.NotContains(t, server, "DATABASE_URL")
	require.Contains(t, Variables[Worker](), "DATABASE_URL")
}

func TestMediaAllowedHosts(t *testing.T) {
	c, err := LoadWorker(Environ{})
	require.NoError(t, err)
	require.Empty(t, c.MediaAllowedHosts, "default: public addresses only")

	c, err = LoadWorker(Environ{"MEDIA_ALLOWED_HOSTS": " 127.0.0.1, localhost ,,10.0.0.0/8,::1,minio.internal "})
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1", "localhost", "10.0.0.0/8", "::1", "minio.internal"}, c.MediaAllowedHosts)
	require.NotNil(t, c.MediaEgress, "handed over parsed")

	for _, bad := range []string{"localhost:9000", "http://minio", "*.internal", "10.0.0.0/33", "a b"} {
		_, err := LoadWorker(Environ{"MEDIA_ALLOWED_HOSTS": "127.0.0.1," + bad})
		require.ErrorContains(t, err, `"MEDIA_ALLOWED_HOSTS"`, bad)
		require.ErrorContains(t, err, bad, "the error quotes the entry")
	}
}

func TestNearby(t *testing.T) {
	for hostPort, want := range map[string]bool{
		"127.0.0.1:7233":                      true,
		"[::1]:7233":                          true,
		"localhost:7233":                      true,
		"10.1.2.3:7233":                       true,
		"172.20.0.5:7233":                     true,
		"192.168.1.10:7233":                   true,
		"[fd00::5]:7233":                      true,
		"169.254.10.1:7233":                   true,
		"temporal:7233":                       true,
		"temporal-frontend.temporal.svc:7233": true,
		"temporal-frontend.temporal.svc.cluster.local:7233": true,
		"temporal.internal:7233":                            true,
		"temporal.local:7233":                               true,
		"media.a2dd3.tmprl.cloud:7233":                      false,
		"us-east-1.aws.api.temporal.io:7233":                false,
		"203.0.113.7:7233":                                  false,
		"[2001:db8::1]:7233":                                false,
		"temporal.example.com:7233":                         false,
	} {
		require.Equal(t, want, Nearby(hostPort), hostPort)
	}
}

func TestGRPCCompression(t *testing.T) {
	none := t.TempDir() + "/none.toml"
	for _, tc := range []struct {
		address, value, want string
	}{
		{"", "", CompressionNone}, // the default address is loopback
		{"temporal:7233", "", CompressionNone},
		{"media.a2dd3.tmprl.cloud:7233", "", CompressionGzip},
		{"media.a2dd3.tmprl.cloud:7233", "auto", CompressionGzip},
		{"127.0.0.1:7233", "GZIP", CompressionGzip},
		{"media.a2dd3.tmprl.cloud:7233", " none ", CompressionNone},
	} {
		env := Environ{"TEMPORAL_CONFIG_FILE": none, "ANIMUS_WEBHOOK_SECRET": secret}
		if tc.address != "" {
			env["TEMPORAL_ADDRESS"] = tc.address
		}
		if tc.value != "" {
			env["TEMPORAL_GRPC_COMPRESSION"] = tc.value
		}
		w, err := LoadWorker(env)
		require.NoError(t, err)
		require.Equal(t, tc.want, w.GRPCCompression, "%+v", tc)
		s, err := LoadServer(env)
		require.NoError(t, err)
		require.Equal(t, tc.want, s.GRPCCompression, "%+v", tc)
	}
	_, err := LoadWorker(Environ{"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_GRPC_COMPRESSION": "zstd"})
	require.ErrorContains(t, err, "TEMPORAL_GRPC_COMPRESSION")
}

// TestNotifyMaxPerSecond: a positive number of requests per second, or
// off; anything else (NaN included, which no comparison refuses) is an
// error, never a rate the delivery task queue cannot use.
func TestNotifyMaxPerSecond(t *testing.T) {
	for v, want := range map[string]Rate{"": 50, "off": 0, "OFF": 0, "2.5": 2.5} {
		c, err := LoadWorker(Environ{"NOTIFY_MAX_PER_SECOND": v})
		if v == "" {
			c, err = LoadWorker(Environ{})
		}
		require.NoError(t, err, v)
		require.Equal(t, want, c.NotifyMaxPerSecond, v)
	}
	for _, v := range []string{"NaN", "nan", "-NaN", "+Inf", "0", "-1", "fast"} {
		_, err := LoadWorker(Environ{"NOTIFY_MAX_PER_SECOND": v})
		require.ErrorContains(t, err, "NOTIFY_MAX_PER_SECOND", v)
	}
}

// TestDatabaseURL: a DATABASE_URL that names PostgreSQL in another spelling
// (a space before it, capitals, quotes a .env file kept) or another
// database is refused, naming the variable but never the value (it may
// hold a password); it used to be taken as a SQLite file's path, and the
// worker ran on a new local file instead of the database named.
func TestDatabaseURL(t *testing.T) {
	for value, want := range map[string]string{
		"sqlite://data/x.db":          "sqlite://data/x.db",
		"data/x.db":                   "data/x.db",
		"file:data/x.db":              "file:data/x.db",
		"file:///srv/x.db":            "file:///srv/x.db",
		"FILE://localhost/srv/x.db":   "file://localhost/srv/x.db",
		"postgres://u@db/m":           "postgres://u@db/m",
		"postgresql://u@[::1]:5432/m": "postgresql://u@[::1]:5432/m",
		" postgres://u@db/m\n":        "postgres://u@db/m",
		"POSTGRES://u@db/m":           "postgres://u@db/m",
		"PostgreSQL://u@db/m":         "postgresql://u@db/m",
		"sqlite://data/x.db ":         "sqlite://data/x.db",
		"":                            DefaultDatabaseURL,
		" ":                           DefaultDatabaseURL,
	} {
		c, err := LoadWorker(Environ{"DATABASE_URL": value})
		require.NoError(t, err, "DATABASE_URL=%q", value)
		require.Equal(t, want, c.DatabaseURL, "DATABASE_URL=%q", value)
	}
	for _, value := range []string{`"postgres://u:pw1@db/m"`, "'postgres://u:pw1@db/m'", "mysql://u:pw1@db/m", "postgress://u:pw1@db/m", "pg://u:pw1@db/m", "file://data/x.db"} {
		_, err := LoadWorker(Environ{"DATABASE_URL": value})
		require.ErrorContains(t, err, `"DATABASE_URL"`, value)
		require.NotContains(t, err.Error(), "pw1", "the URL may hold a password")
	}
}

// TestSurroundingSpaces: spaces around a value (a .env line's trailing
// blank, a YAML block) are not part of it. A task queue kept them: a
// worker so configured polled " animus-media", a queue the server never
// starts on, and handled nothing, without an error; a notification URL
// kept a trailing one, POSTed to ".../hook%20".
func TestSurroundingSpaces(t *testing.T) {
	c, err := LoadWorker(Environ{"TEMPORAL_TASK_QUEUE": " media \n", "MEDIA_DIR": "data/media ", "NOTIFY_URL": "https://x.example/hook ", "ALERT_URL": " https://x.example/alert"})
	require.NoError(t, err)
	require.Equal(t, "media", c.TaskQueue)
	require.Equal(t, "https://x.example/hook", c.NotifyURL)
	require.Equal(t, "https://x.example/alert", c.AlertURL)
	require.Equal(t, "data/media", c.MediaDir)

	c, err = LoadWorker(Environ{"TEMPORAL_TASK_QUEUE": " "})
	require.NoError(t, err)
	require.Equal(t, "animus-media", c.TaskQueue, "blank is unset")
	s, err := LoadServer(Environ{"ANIMUS_WEBHOOK_SECRET": secret, "TEMPORAL_TASK_QUEUE": "media "})
	require.NoError(t, err)
	require.Equal(t, "media", s.TaskQueue)
}

// TestCodecOrigins: an origin is what a browser sends in Origin: scheme,
// host and a port only when not the scheme's own. An origin written with
// its default port (":443") is that origin; one with credentials, a query
// or a fragment is refused. Both were taken as written, and matched no
// browser's request: the Temporal UI was refused the codec endpoint.
func TestCodecOrigins(t *testing.T) {
	c, err := LoadServer(Environ{"ANIMUS_WEBHOOK_SECRET": secret, "CODEC_CORS_ORIGINS": "https://ui.example.com:443, http://ui.example.com:80/,http://localhost:8233"})
	require.NoError(t, err)
	require.Equal(t, []string{"https://ui.example.com", "http://ui.example.com", "http://localhost:8233"}, c.CodecOrigins)
	for _, bad := range []string{"http://u:p@localhost:8233", "http://localhost:8233?x=1", "http://localhost:8233#ui", "http://localhost:8233/ui"} {
		_, err := LoadServer(Environ{"ANIMUS_WEBHOOK_SECRET": secret, "CODEC_CORS_ORIGINS": bad})
		require.ErrorContains(t, err, `"CODEC_CORS_ORIGINS"`, bad)
	}
}

// TestTrustedProxies: empty items of the list (a trailing comma) are
// skipped, as in the other lists.
func TestTrustedProxies(t *testing.T) {
	c, err := LoadServer(Environ{"ANIMUS_WEBHOOK_SECRET": secret, "TRUSTED_PROXIES": " 10.0.0.1, ,10.1.0.0/16 ,"})
	require.NoError(t, err)
	require.Equal(t, []string{"10.0.0.1", "10.1.0.0/16"}, c.TrustedProxies)
	_, err = LoadServer(Environ{"ANIMUS_WEBHOOK_SECRET": secret, "TRUSTED_PROXIES": "10.0.0.1,proxy"})
	require.ErrorContains(t, err, `"TRUSTED_PROXIES"`)
}
