// Package config reads the server's and the worker's settings from
// environment variables with caarlos0/env, and Temporal's own TEMPORAL_*
// settings with the SDK's envconfig. Every default is here, once: in an
// envDefault tag, or for the task queue in mediaflow.DefaultTaskQueue. A
// missing or malformed value is an error naming the variable, never its
// value. It is the only place settings are checked: what needs parsing
// (the log settings, the webhook secrets, the downloads' egress policy)
// is handed over parsed, so no other package reads a setting again.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/egress"
	"github.com/mediaflow/mediaflow/internal/logging"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

// Environ is a set of environment variables, name to value. The programs
// read OSEnviron(); tests give their own, so they load what ships.
type Environ map[string]string

// OSEnviron returns the process's environment.
func OSEnviron() Environ {
	e := Environ{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e[k] = v
		}
	}
	return e
}

// DefaultTemporalAddress is used when neither TEMPORAL_ADDRESS nor a
// Temporal config file names one.
const DefaultTemporalAddress = "127.0.0.1:7233"

// MaxBodyBytesLimit bounds MAX_BODY_BYTES (16 MiB). Temporal's own limits
// (2 MiB a payload) do not apply: event data over BLOB_THRESHOLD_BYTES goes
// to the blob store. What does is memory: a server holds a few copies of
// each body in flight.
const MaxBodyBytesLimit = 16 << 20

// DefaultBlobURL is the blob store used when BLOB_URL is unset: a
// directory beside the SQLite file, created when missing.
const DefaultBlobURL = "file://./data/blobs"

// Bounds of BLOB_THRESHOLD_BYTES: a reference is about 150 bytes, and an
// inline payload must stay well under Temporal's 2 MiB limit (it warns
// from 512 KiB).
const (
	MinBlobThreshold = 1 << 10
	MaxBlobThreshold = 1 << 20
)

// MaxStartTimeout bounds START_TIMEOUT, leaving the server time to answer
// (its write timeout is 14 s) before Svix gives up at 15 s.
const MaxStartTimeout = 10 * time.Second

// DefaultDatabaseURL is the SQLite file used when DATABASE_URL is unset.
var DefaultDatabaseURL = "sqlite://" + filepath.Join("data", "mediaflow.db")

// Shared are the settings both programs read.
type Shared struct {
	// TaskQueue is the Temporal task queue (default
	// mediaflow.DefaultTaskQueue).
	TaskQueue string `env:"TEMPORAL_TASK_QUEUE"`
	// LogFormat ("text" or "json", any case) and LogLevel ("debug",
	// "info", "warn", "error") shape the log; Log holds them parsed, for
	// logging.New.
	LogFormat string           `env:"LOG_FORMAT" envDefault:"text"`
	LogLevel  string           `env:"LOG_LEVEL" envDefault:"info"`
	Log       logging.Settings `env:"-"`
	// BlobURL is the blob store (gocloud.dev/blob URL: file://, s3://;
	// gs:// and azblob:// in builds with their tags, see package
	// blobstore) holding large event data and dead letters; the
	// server, the worker and mediaflowctl must all use the same one
	// (default DefaultBlobURL).
	BlobURL string `env:"BLOB_URL"`
	// BlobThresholdBytes is the largest Temporal payload kept inline, in
	// bytes, encoded; a larger one is stored in the blob store and
	// replaced by a reference (package claimcheck).
	BlobThresholdBytes int `env:"BLOB_THRESHOLD_BYTES" envDefault:"131072"`
	// GRPCCompression is how the Temporal client compresses its requests,
	// CompressionGzip or CompressionNone after loading; from
	// TEMPORAL_GRPC_COMPRESSION, whose default CompressionAuto is none for a
	// Temporal on this host or network (Nearby) and gzip, the SDK's
	// default, for any other.
	GRPCCompression string `env:"TEMPORAL_GRPC_COMPRESSION" envDefault:"auto"`
	// Temporal holds the client options from TEMPORAL_ADDRESS,
	// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* and an optional
	// TEMPORAL_CONFIG_FILE profile (the SDK's envconfig), the address
	// defaulting to DefaultTemporalAddress and the namespace to "default".
	Temporal client.Options `env:"-"`
}

// Server is cmd/server's configuration.
type Server struct {
	Shared
	// Secrets are the webhook signing secrets ("whsec_…"), comma-separated
	// in ANIMUS_WEBHOOK_SECRET; more than one during a rotation. Verifier
	// checks deliveries against them.
	Secrets  []string          `env:"ANIMUS_WEBHOOK_SECRET,required,notEmpty,unset" envSeparator:","`
	Verifier *webhook.Verifier `env:"-"`
	// HTTPAddr is the listen address.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8080"`
	// MaxBodyBytes bounds a webhook body, in bytes (413 above it).
	MaxBodyBytes int64 `env:"MAX_BODY_BYTES" envDefault:"1048576"`
	// StartTimeout bounds one workflow start (Go duration, e.g. "5s"); it
	// must stay well under Svix's 15 s so a slow Temporal gets a 503, not
	// a timed-out delivery.
	StartTimeout time.Duration `env:"START_TIMEOUT" envDefault:"5s"`
	// RateLimitRPS bounds webhook requests per second (0: no limit);
	// RateLimitBurst is the burst above it (default: RateLimitRPS).
	RateLimitRPS   float64 `env:"RATE_LIMIT_RPS" envDefault:"0"`
	RateLimitBurst int     `env:"RATE_LIMIT_BURST" envDefault:"0"`
	// MaxInflightStarts bounds concurrent workflow starts; beyond it, 503.
	MaxInflightStarts int `env:"MAX_INFLIGHT_STARTS" envDefault:"256"`
	// TLSCertFile and TLSKeyFile (PEM), both or neither, serve HTTPS.
	TLSCertFile string `env:"TLS_CERT_FILE"`
	TLSKeyFile  string `env:"TLS_KEY_FILE"`
	// TrustedProxies (comma-separated IPs or CIDRs) may set
	// X-Forwarded-For; default none.
	TrustedProxies []string `env:"TRUSTED_PROXIES" envSeparator:","`
	// DebugAddr, when set, serves Go's profiler (net/http/pprof) there;
	// keep it on loopback. Empty: off.
	DebugAddr string `env:"DEBUG_ADDR"`
	// CodecAddr, when set, serves the codec endpoint there (POST /encode
	// and /decode, for the Temporal UI's and CLI's codec server setting).
	// It decodes event data, and stores what it encodes, for whoever
	// reaches it: keep it on loopback or behind an authenticating proxy.
	// Empty: off.
	CodecAddr string `env:"CODEC_ADDR"`
	// CodecOrigins are the origins (scheme://host:port, comma-separated)
	// of the Temporal UI pages allowed to call the codec endpoint from the
	// browser (CORS).
	CodecOrigins []string `env:"CODEC_CORS_ORIGINS" envDefault:"http://localhost:8233,http://127.0.0.1:8233" envSeparator:","`
}

// Control is mediaflowctl's configuration: Temporal, the task queue and
// the blob store, as the server has them; no webhook secret.
type Control struct {
	Shared
}

// Worker is cmd/worker's configuration.
type Worker struct {
	Shared
	// DatabaseURL selects the store: "sqlite://path" (or a bare path) for
	// SQLite, "postgres://…" for PostgreSQL.
	DatabaseURL string `env:"DATABASE_URL"`
	// MediaDir, NotifyURL and AlertURL enable the optional steps; empty
	// skips them.
	MediaDir  string `env:"MEDIA_DIR"`
	NotifyURL string `env:"NOTIFY_URL"`
	AlertURL  string `env:"ALERT_URL"`
	// MediaMaxBytes bounds one download, in bytes (default 5 GiB).
	MediaMaxBytes int64 `env:"MEDIA_MAX_BYTES" envDefault:"5368709120"`
	// MediaAllowedHosts (comma-separated host names, IPs and CIDR
	// prefixes) are the hosts whose loopback, private or other non-public
	// addresses downloads may reach; default none: public addresses only
	// (package egress).
	MediaAllowedHosts []string `env:"MEDIA_ALLOWED_HOSTS" envSeparator:","`
	// MediaEgress is MediaAllowedHosts parsed: the downloads' policy.
	MediaEgress *egress.Policy `env:"-"`
	// NotifySecret ("whsec_…"), when set, signs notifications and alerts
	// the Standard Webhooks way.
	NotifySecret string `env:"NOTIFY_SECRET,unset"`
	// MetricsAddr is where the worker serves GET /metrics (Prometheus),
	// from WORKER_METRICS_ADDR: DefaultWorkerMetricsAddr when unset; set
	// to "" or "off" it is empty after LoadWorker, and the worker serves
	// no metrics.
	MetricsAddr string `env:"WORKER_METRICS_ADDR"`
	// DebugAddr, when set, serves Go's profiler (net/http/pprof: CPU,
	// allocations, goroutines) there, from WORKER_DEBUG_ADDR; keep it on
	// loopback. Empty: off.
	DebugAddr string `env:"WORKER_DEBUG_ADDR"`
	// DatabaseRetryWindow, DownloadRetryWindow and DeliveryRetryWindow
	// are how long each kind of step retries before its workflow fails (Go
	// durations): the local steps that use the job database (and tell a
	// watch), a download, and a notification or alert (as long as Svix
	// retries an event). See workflows.Windows.
	DatabaseRetryWindow time.Duration `env:"DATABASE_RETRY_WINDOW" envDefault:"20m"`
	DownloadRetryWindow time.Duration `env:"DOWNLOAD_RETRY_WINDOW" envDefault:"24h"`
	DeliveryRetryWindow time.Duration `env:"DELIVERY_RETRY_WINDOW" envDefault:"28h"`
	// NotifyMaxPerSecond is the most requests per second that the notify
	// and alert receivers get from all workers together, first attempts
	// included (Temporal's rate limit of the delivery task queue); 0 when
	// NOTIFY_MAX_PER_SECOND is "off": no limit, and each notice's first
	// attempt runs in the workflow task, as a local activity.
	NotifyMaxPerSecond Rate `env:"NOTIFY_MAX_PER_SECOND" envDefault:"50"`
	// Versioning is how the worker uses Temporal's Worker Versioning
	// (WORKER_VERSIONING): VersioningAuto, VersioningLatest,
	// VersioningManual or VersioningOff.
	Versioning string `env:"WORKER_VERSIONING" envDefault:"auto"`
	// DeploymentName is the Worker Deployment the worker's build belongs
	// to (WORKER_DEPLOYMENT_NAME).
	DeploymentName string `env:"WORKER_DEPLOYMENT_NAME" envDefault:"mediaflow"`
	// BuildID is the build's ID in the deployment (WORKER_BUILD_ID); empty:
	// the build's own (see internal/app).
	BuildID string `env:"WORKER_BUILD_ID"`
	// Environ is the environment the configuration was read from: the
	// steps users add read their own settings from it (Parse).
	Environ Environ `env:"-"`
}

// WORKER_VERSIONING's values. Every versioned worker (all but
// VersioningOff) polls as its deployment version (WORKER_DEPLOYMENT_NAME,
// WORKER_BUILD_ID), and new MediaCompletedWorkflows are pinned to the
// version they start on: they finish on it, whatever build is current
// later.
const (
	// VersioningAuto: the worker makes its build the deployment's current
	// version when the deployment has none yet (a worker started alone
	// just works); after that, operators route new workflows (ramp,
	// promote, roll back).
	VersioningAuto = "auto"
	// VersioningLatest: the worker makes its build current when it starts,
	// whatever was current: for a working copy on a laptop (make dev, make
	// cluster), where the last build started is the one to run.
	VersioningLatest = "latest"
	// VersioningManual: the worker never changes the routing; operators
	// (or a deployment controller) do.
	VersioningManual = "manual"
	// VersioningOff: no Worker Versioning; a change to workflow code that
	// running workflows would replay goes behind workflow.GetVersion.
	VersioningOff = "off"
)

// DefaultWorkerMetricsAddr is the worker's metrics address when
// WORKER_METRICS_ADDR is unset.
const DefaultWorkerMetricsAddr = ":9091"

// TEMPORAL_GRPC_COMPRESSION's values.
const (
	// CompressionAuto is CompressionNone when Temporal is Nearby,
	// CompressionGzip otherwise.
	CompressionAuto = "auto"
	// CompressionGzip compresses every request with gzip: the SDK's
	// default, worth it where bandwidth costs more than CPU.
	CompressionGzip = "gzip"
	// CompressionNone sends requests as they are: on loopback or a local
	// network, gzip costs CPU in both processes and saves nothing that
	// matters (BENCHMARKS.md).
	CompressionNone = "none"
)

// Nearby says whether the Temporal frontend at hostPort is on this host or
// its network: a loopback, private (RFC 1918, RFC 4193) or link-local
// address, "localhost", a name without a dot (a Compose or Kubernetes
// service), or a name under .local, .internal, .localhost or a Kubernetes
// .svc domain. Anything else, Temporal Cloud included, is not.
func Nearby(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast()
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	if !strings.Contains(host, ".") {
		return true
	}
	for _, suffix := range []string{".local", ".internal", ".localhost", ".svc"} {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return strings.Contains(host, ".svc.")
}

// ResolveCompression returns the gRPC compression for a Temporal at
// hostPort: value (CompressionGzip or CompressionNone, any case) as is,
// or for CompressionAuto or "" none when hostPort is Nearby and gzip
// otherwise. It fails for any other value.
func ResolveCompression(value, hostPort string) (string, error) {
	switch c := strings.ToLower(strings.TrimSpace(value)); c {
	case CompressionAuto, "":
		if Nearby(hostPort) {
			return CompressionNone, nil
		}
		return CompressionGzip, nil
	case CompressionGzip, CompressionNone:
		return c, nil
	default:
		return "", fmt.Errorf("%q is not auto, gzip or none", value)
	}
}

// LoadServer reads Server from e. It fails when ANIMUS_WEBHOOK_SECRET is
// unset or empty, or a value does not parse.
func LoadServer(e Environ) (Server, error) {
	c, err := parse[Server](e)
	if err != nil {
		return Server{}, err
	}
	if c.Shared, err = loadShared(c.Shared, e); err != nil {
		return Server{}, err
	}
	var secrets []string
	for _, s := range c.Secrets {
		if s = strings.TrimSpace(s); s != "" {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		return Server{}, fmt.Errorf(`config: environment variable "ANIMUS_WEBHOOK_SECRET" holds no secret`)
	}
	c.Secrets = secrets
	if c.Verifier, err = webhook.NewVerifier(c.Secrets); err != nil {
		return Server{}, fmt.Errorf(`config: environment variable "ANIMUS_WEBHOOK_SECRET": %w`, err)
	}
	if c.MaxBodyBytes <= 0 || c.MaxBodyBytes > MaxBodyBytesLimit {
		return Server{}, fmt.Errorf(`config: environment variable "MAX_BODY_BYTES" must be between 1 and %d (16 MiB)`, MaxBodyBytesLimit)
	}
	if c.StartTimeout <= 0 || c.StartTimeout > MaxStartTimeout {
		return Server{}, fmt.Errorf(`config: environment variable "START_TIMEOUT" must be above 0 and at most %s (Svix waits 15 s)`, MaxStartTimeout)
	}
	if !(c.RateLimitRPS >= 0) || c.RateLimitBurst < 0 { // !(>= 0): NaN too
		return Server{}, fmt.Errorf(`config: environment variables "RATE_LIMIT_RPS" and "RATE_LIMIT_BURST" must be numbers, not negative`)
	}
	if c.RateLimitBurst == 0 {
		c.RateLimitBurst = max(1, int(c.RateLimitRPS))
	}
	if c.MaxInflightStarts <= 0 {
		return Server{}, fmt.Errorf(`config: environment variable "MAX_INFLIGHT_STARTS" must be positive`)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return Server{}, fmt.Errorf(`config: environment variables "TLS_CERT_FILE" and "TLS_KEY_FILE" go together`)
	}
	if c.CodecAddr != "" {
		_, port, err := net.SplitHostPort(c.CodecAddr)
		if err != nil {
			return Server{}, fmt.Errorf(`config: environment variable "CODEC_ADDR" must be host:port or ":port"`)
		}
		if c.CodecAddr == c.HTTPAddr && port != "0" {
			return Server{}, fmt.Errorf(`config: environment variable "CODEC_ADDR" must not be HTTP_ADDR: the codec endpoint decodes event data`)
		}
	}
	var origins []string
	for _, o := range c.CodecOrigins {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			return Server{}, fmt.Errorf(`config: environment variable "CODEC_CORS_ORIGINS": %q is not an origin (http(s)://host[:port])`, o)
		}
		// As a browser's Origin has it: no port when it is the scheme's.
		host := u.Host
		if port := u.Port(); port == "443" && u.Scheme == "https" || port == "80" && u.Scheme == "http" {
			host = strings.TrimSuffix(host, ":"+port)
		}
		origins = append(origins, u.Scheme+"://"+host)
	}
	c.CodecOrigins = origins
	var proxies []string
	for _, p := range c.TrustedProxies {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return Server{}, fmt.Errorf(`config: environment variable "TRUSTED_PROXIES": %q is neither an IP nor a CIDR`, p)
			}
		}
		proxies = append(proxies, p)
	}
	c.TrustedProxies = proxies
	return c, nil
}

// LoadWorker reads Worker from e.
func LoadWorker(e Environ) (Worker, error) {
	c, err := parse[Worker](e)
	if err != nil {
		return Worker{}, err
	}
	if c.Shared, err = loadShared(c.Shared, e); err != nil {
		return Worker{}, err
	}
	if c.DatabaseURL, err = DatabaseURL(c.DatabaseURL); err != nil {
		return Worker{}, err
	}
	c.MediaDir, c.NotifyURL, c.AlertURL = strings.TrimSpace(c.MediaDir), strings.TrimSpace(c.NotifyURL), strings.TrimSpace(c.AlertURL)
	for _, v := range []struct{ name, value string }{{"NOTIFY_URL", c.NotifyURL}, {"ALERT_URL", c.AlertURL}} {
		// The value is not quoted: a Slack webhook URL is itself a secret.
		if u, err := url.Parse(v.value); v.value != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			return Worker{}, fmt.Errorf("config: environment variable %q must be an http or https URL", v.name)
		}
	}
	if c.NotifySecret != "" {
		if _, err := webhook.NewVerifier([]string{c.NotifySecret}); err != nil {
			return Worker{}, fmt.Errorf("config: environment variable \"NOTIFY_SECRET\": %w", err)
		}
	}
	if c.MediaMaxBytes <= 0 {
		return Worker{}, fmt.Errorf(`config: environment variable "MEDIA_MAX_BYTES" must be positive`)
	}
	var hosts []string
	for _, h := range c.MediaAllowedHosts {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	c.MediaAllowedHosts = hosts
	if c.MediaEgress, err = egress.Parse(c.MediaAllowedHosts); err != nil {
		return Worker{}, fmt.Errorf(`config: environment variable "MEDIA_ALLOWED_HOSTS": %w`, err)
	}
	// env's defaults also replace an empty value, which here means off.
	if _, set := e["WORKER_METRICS_ADDR"]; !set {
		c.MetricsAddr = DefaultWorkerMetricsAddr
	}
	if c.MetricsAddr = strings.TrimSpace(c.MetricsAddr); strings.EqualFold(c.MetricsAddr, "off") {
		c.MetricsAddr = ""
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return Worker{}, fmt.Errorf(`config: environment variable "WORKER_METRICS_ADDR" must be host:port, ":port" or "off"`)
		}
	}
	for _, w := range []struct {
		name string
		d    time.Duration
	}{{"DATABASE_RETRY_WINDOW", c.DatabaseRetryWindow}, {"DOWNLOAD_RETRY_WINDOW", c.DownloadRetryWindow}, {"DELIVERY_RETRY_WINDOW", c.DeliveryRetryWindow}} {
		if w.d < time.Second {
			return Worker{}, fmt.Errorf(`config: environment variable %q must be a duration of at least 1s (e.g. 20m, 24h)`, w.name)
		}
	}
	switch c.Versioning = strings.ToLower(strings.TrimSpace(c.Versioning)); c.Versioning {
	case VersioningAuto, VersioningLatest, VersioningManual, VersioningOff:
	default:
		return Worker{}, fmt.Errorf(`config: environment variable "WORKER_VERSIONING" must be auto, latest, manual or off`)
	}
	if c.DeploymentName = strings.TrimSpace(c.DeploymentName); c.DeploymentName == "" || strings.Contains(c.DeploymentName, ":") {
		return Worker{}, fmt.Errorf(`config: environment variable "WORKER_DEPLOYMENT_NAME" must be a name without ':'`)
	}
	if c.BuildID = strings.TrimSpace(c.BuildID); strings.Contains(c.BuildID, ":") || len(c.BuildID) > 255 {
		return Worker{}, fmt.Errorf(`config: environment variable "WORKER_BUILD_ID" must be at most 255 bytes, without ':'`)
	}
	c.Environ = e
	return c, nil
}

// DatabaseURL checks a DATABASE_URL value v and returns the job store's
// URL: DefaultDatabaseURL when v is empty; a URL whose scheme (any case)
// is postgres, postgresql, sqlite or file (file:///absolute/path), the
// scheme lowercased; or a bare path. Any other scheme (a typo, quotes a .env file kept) is an
// error rather than a SQLite file of that name. The error does not quote
// v: it may hold a password.
func DatabaseURL(v string) (string, error) {
	if v = strings.TrimSpace(v); v == "" {
		return DefaultDatabaseURL, nil
	}
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok {
		return v, nil
	}
	switch s := strings.ToLower(scheme); s {
	case "file":
		// A file URI's authority is empty or localhost: file://data/x.db
		// would be read as /data/x.db.
		if !strings.HasPrefix(rest, "/") && !strings.HasPrefix(rest, "localhost/") {
			return "", errors.New(`config: environment variable "DATABASE_URL": a file:// URL is file:///absolute/path (a relative path: sqlite://path or file:path)`)
		}
		return s + "://" + rest, nil
	case "postgres", "postgresql", "sqlite":
		return s + "://" + rest, nil
	}
	return "", errors.New(`config: environment variable "DATABASE_URL" must be postgres://…, postgresql://…, sqlite://path or a file's path`)
}

// Rate is a rate in requests per second, read from a positive number or
// "off" (0: no limit).
type Rate float64

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Rate) UnmarshalText(b []byte) error {
	v := strings.TrimSpace(string(b))
	if strings.EqualFold(v, "off") {
		*r = 0
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) { // !(f > 0): NaN too
		return fmt.Errorf("%q is neither a positive number of requests per second nor off", v)
	}
	*r = Rate(f)
	return nil
}

// Parse reads T's env-tagged fields from e, with their defaults: how a
// step users add (package steps) reads its own settings, failing as the
// programs' settings do, naming the variable.
func Parse[T any](e Environ) (T, error) { return parse[T](e) }

// LoadControl reads Control from e.
func LoadControl(e Environ) (Control, error) {
	c, err := parse[Control](e)
	if err != nil {
		return Control{}, err
	}
	if c.Shared, err = loadShared(c.Shared, e); err != nil {
		return Control{}, err
	}
	return c, nil
}

// loadShared completes s: the task queue's and the blob store's defaults,
// and Temporal's client options from e.
func loadShared(s Shared, e Environ) (Shared, error) {
	if s.TaskQueue = strings.TrimSpace(s.TaskQueue); s.TaskQueue == "" {
		s.TaskQueue = mediaflow.DefaultTaskQueue
	}
	if s.BlobURL = strings.TrimSpace(s.BlobURL); s.BlobURL == "" {
		s.BlobURL = DefaultBlobURL
	}
	// The value is not quoted: a URL may carry a key.
	if u, err := url.Parse(s.BlobURL); err != nil || u.Scheme == "" {
		return Shared{}, fmt.Errorf(`config: environment variable "BLOB_URL" must be a blob store URL (file://, s3://, or gs://, azblob:// with their build tags)`)
	} else if u.User != nil {
		return Shared{}, fmt.Errorf(`config: environment variable "BLOB_URL" must not hold credentials: give them in the store's own variables (AWS_*, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_*)`)
	}
	var err error
	if s.Log, err = logSettings(s.LogFormat, s.LogLevel); err != nil {
		return Shared{}, err
	}
	if s.BlobThresholdBytes < MinBlobThreshold || s.BlobThresholdBytes > MaxBlobThreshold {
		return Shared{}, fmt.Errorf(`config: environment variable "BLOB_THRESHOLD_BYTES" must be between %d and %d`, MinBlobThreshold, MaxBlobThreshold)
	}
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: e})
	if err != nil {
		return Shared{}, fmt.Errorf("config: temporal: %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = DefaultTemporalAddress
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	s.Temporal = opts
	if s.GRPCCompression, err = ResolveCompression(s.GRPCCompression, opts.HostPort); err != nil {
		return Shared{}, fmt.Errorf(`config: environment variable "TEMPORAL_GRPC_COMPRESSION": %w`, err)
	}
	return s, nil
}

// logSettings parses LOG_FORMAT and LOG_LEVEL.
func logSettings(format, level string) (logging.Settings, error) {
	var s logging.Settings
	if err := s.Level.UnmarshalText([]byte(level)); err != nil {
		return s, errors.New(`config: environment variable "LOG_LEVEL" must be debug, info, warn or error`)
	}
	switch f := logging.Format(strings.ToLower(format)); f {
	case logging.Text, logging.JSON:
		s.Format = f
	default:
		return s, errors.New(`config: environment variable "LOG_FORMAT" must be text or json`)
	}
	return s, nil
}

// Environ implements envconfig.EnvLookup.
func (e Environ) Environ() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

// LookupEnv implements envconfig.EnvLookup.
func (e Environ) LookupEnv(key string) (string, bool) {
	v, ok := e[key]
	return v, ok
}

// Variables lists the environment variables T (Server or Worker) reads
// through its env tags.
func Variables[T any]() []string {
	var names []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" && name != "-" {
				names = append(names, name)
			}
		}
	}
	walk(reflect.TypeFor[T]())
	return names
}

// parse reads T's env-tagged fields from e.
func parse[T any](e Environ) (T, error) {
	c, err := env.ParseAsWithOptions[T](env.Options{Environment: e})
	if err != nil {
		var zero T
		return zero, explain[T](err)
	}
	return c, nil
}

// explain rewrites env's parse errors, which name the Go field, to name the
// environment variable instead. Only fields without secrets can fail to
// parse, so quoting the library's message (which holds the value) is safe.
func explain[T any](err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: %w", err)
	}
	var msgs []string
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if f, ok := reflect.TypeFor[T]().FieldByName(pe.Name); ok {
				name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
				msgs = append(msgs, fmt.Sprintf("environment variable %q: %v", name, pe.Err))
				continue
			}
		}
		msgs = append(msgs, e.Error())
	}
	return fmt.Errorf("config: %s", strings.Join(msgs, "; "))
}
