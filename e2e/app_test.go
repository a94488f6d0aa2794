package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/internal/telemetry"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

// testApp is the whole service built by internal/app, as cmd/server and
// cmd/worker build it, from an environment of the test's: the server on
// 127.0.0.1:0, the worker with its metrics listener, on a task queue of
// their own against the shared dev server. Telemetry is on as in the
// binaries; both sides trace into one in-memory exporter.
type testApp struct {
	url        string // webhook URL
	taskQueue  string
	client     client.Client
	store      *store.Store
	spans      *tracetest.InMemoryExporter
	serverReg  *prometheus.Registry
	workerReg  *prometheus.Registry
	worker     *telemetry.WorkerMetrics
	metricsURL string // the worker's GET /metrics
	codecURL   string // the server's codec endpoint
	env        config.Environ
	workerEnv  config.Environ // env with the worker's own settings
}

// appConfig is what a test may change: environment variables read by the
// server and the worker (MEDIA_DIR, NOTIFY_URL, DATABASE_URL, …, and the
// documented settings that shorten what a test waits for, such as
// DOWNLOAD_RETRY_WINDOW), those that differ for the worker only, and the
// steps users add. The workflow's options are the shipped ones.
type appConfig struct {
	env       config.Environ
	workerEnv config.Environ
	steps     []app.StepFunc
}

func newApp(t *testing.T, configure ...func(*appConfig)) *testApp {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := appConfig{
		env: config.Environ{
			"ANIMUS_WEBHOOK_SECRET":  secret,
			"HTTP_ADDR":              "127.0.0.1:0",
			"WORKER_METRICS_ADDR":    "127.0.0.1:0",
			"TEMPORAL_ADDRESS":       temporalAddress,
			"TEMPORAL_NAMESPACE":     namespace,
			"TEMPORAL_CONFIG_FILE":   filepath.Join(t.TempDir(), "none.toml"),
			"TEMPORAL_TASK_QUEUE":    "e2e-" + rand.Text(),
			"DATABASE_URL":           "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"),
			"BLOB_URL":               "file://" + t.TempDir(),
			"CODEC_ADDR":             "127.0.0.1:0",
			"WORKER_DEPLOYMENT_NAME": deployment,
		},
		workerEnv: config.Environ{},
	}
	for _, f := range configure {
		f(&cfg)
	}
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	opts := app.Options{Logger: slog.New(slog.DiscardHandler), TracerProvider: tp, Steps: cfg.steps}

	wenv := maps.Clone(cfg.env)
	maps.Copy(wenv, cfg.workerEnv)
	wcfg, err := config.LoadWorker(wenv)
	require.NoError(t, err)
	w, err := app.NewWorker(ctx, wcfg, opts)
	require.NoError(t, err)
	scfg, err := config.LoadServer(cfg.env)
	require.NoError(t, err)
	s, err := app.NewServer(ctx, scfg, opts)
	require.NoError(t, err)

	done := make(chan error, 2)
	go func() { done <- w.Run(ctx) }()
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			require.NoError(t, <-done)
		}
		s.Close()
		w.Close()
		tp.Shutdown(context.Background())
	})
	return &testApp{
		url:        "http://" + s.Addr() + httpapi.WebhookPath,
		taskQueue:  wcfg.TaskQueue,
		client:     w.Client,
		store:      w.Store,
		spans:      spans,
		serverReg:  s.Registry,
		workerReg:  w.Registry,
		worker:     w.Metrics,
		metricsURL: "http://" + w.MetricsAddr() + "/metrics",
		codecURL:   "http://" + s.CodecAddr(),
		env:        cfg.env,
		workerEnv:  wenv,
	}
}

// addWorker starts one more worker beside a's, on a's task queue, database
// and blob store, with env's settings over a's worker's and the users'
// steps of steps (another build, say), and stops it when t ends.
func (a *testApp) addWorker(t *testing.T, env config.Environ, steps ...app.StepFunc) {
	t.Helper()
	wenv := maps.Clone(a.workerEnv)
	maps.Copy(wenv, env)
	wenv["WORKER_METRICS_ADDR"] = "off"
	cfg, err := config.LoadWorker(wenv)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := app.NewWorker(ctx, cfg, app.Options{Logger: slog.New(slog.DiscardHandler), Steps: steps})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		w.Close()
	})
}

const secret = "whsec_ZTJlLXRlc3Qtc2VjcmV0LWZvci1tZWRpYWZsb3ctdGVzdHM="

type answer struct {
	code int
	body map[string]string
}

// deliver sends body signed for event id as Svix does, over real HTTP.
func deliver(t *testing.T, url, id string, body []byte, sign string) answer {
	t.Helper()
	h, err := webhook.Sign(sign, id, time.Now(), body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a answer
	a.code = resp.StatusCode
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a.body))
	return a
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := samples.Get(name)
	require.NoError(t, err)
	return b
}

func newEventID() string { return "msg_" + rand.Text() }

// heldMedia is a media host whose /slow.mp4 is held until release is
// called (or its request ends) and whose other paths answer "clip" at
// once; asked reports whether /slow.mp4 was requested. It is released and
// closed at the test's end.
func heldMedia(t *testing.T) (url string, asked func() bool, release func()) {
	held := make(chan struct{})
	var slowAsked atomic.Bool
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow.mp4" {
			slowAsked.Store(true)
			select {
			case <-held:
			case <-r.Context().Done():
				return
			}
		}
		w.Write([]byte("clip"))
	}))
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(media.Close)
	t.Cleanup(release) // first: Close waits for the held request
	return media.URL, slowAsked.Load, release
}

// result waits for the workflow of event id to close (at most 30 s) and
// returns its result.
func (a *testApp) result(t *testing.T, id string) (mediaflow.MediaCompletedResult, error) {
	t.Helper()
	return a.resultWithin(t, id, 30*time.Second)
}

// resultWithin is result, waiting at most d.
func (a *testApp) resultWithin(t *testing.T, id string, d time.Duration) (mediaflow.MediaCompletedResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var res mediaflow.MediaCompletedResult
	err := a.client.GetWorkflow(ctx, id, "").Get(ctx, &res)
	return res, err
}
