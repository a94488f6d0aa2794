package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/internal/telemetry"
	"github.com/mediaflow/mediaflow/internal/webhook"
	"github.com/mediaflow/mediaflow/workflows"
)

// app is the whole service wired as cmd/server and cmd/worker wire it, on a
// task queue of its own, with telemetry on: each side has its own Temporal
// client with the SDK's metrics in its own registry and the tracing
// interceptor, the worker has the activity metrics interceptor and counts
// jobs, and the HTTP handler is traced. Both sides trace into one
// in-memory exporter.
type app struct {
	url        string // webhook URL
	client     client.Client
	store      *store.Store
	spans      *tracetest.InMemoryExporter
	serverReg  *prometheus.Registry
	workerReg  *prometheus.Registry
	worker     *telemetry.WorkerMetrics
	metricsURL string // the worker's GET /metrics
}

// appConfig is what a test may change: the activities' settings (Store and
// Jobs are filled in), the workflow's options and the database.
type appConfig struct {
	acts        activities.Activities
	options     workflows.Options
	databaseURL string
}

func newApp(t *testing.T, configure ...func(*appConfig)) *app {
	t.Helper()
	ctx := context.Background()
	queue := "e2e-" + rand.Text()
	cfg := appConfig{
		options:     workflows.DefaultOptions(),
		databaseURL: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"),
	}
	for _, f := range configure {
		f(&cfg)
	}
	st, err := store.Open(ctx, cfg.databaseURL)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	tracing, err := telemetry.TemporalTracing(tp)
	require.NoError(t, err)
	quiet := slog.New(slog.DiscardHandler)
	dial := func(reg *prometheus.Registry) client.Client {
		mh, err := telemetry.TemporalMetrics(reg, quiet)
		require.NoError(t, err)
		c, err := client.Dial(client.Options{
			HostPort:       devServer.FrontendHostPort(),
			Namespace:      "default",
			Logger:         tlog.NewStructuredLogger(quiet),
			MetricsHandler: mh,
			Interceptors:   []interceptor.ClientInterceptor{tracing},
		})
		require.NoError(t, err)
		t.Cleanup(c.Close)
		return c
	}

	// The worker, as cmd/worker: metrics served over HTTP.
	workerReg := telemetry.NewRegistry()
	wm := telemetry.NewWorkerMetrics(workerReg)
	wc := dial(workerReg)
	cfg.acts.Store, cfg.acts.Jobs = st, wm.Jobs
	w := worker.New(wc, queue, worker.Options{Interceptors: []interceptor.WorkerInterceptor{wm.Interceptor()}})
	workflows.Register(w, workflows.Workflow{Options: cfg.options}, &cfg.acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ms := telemetry.MetricsServer(l.Addr().String(), workerReg)
	go ms.Serve(l)
	t.Cleanup(func() { ms.Close() })

	// The server, as cmd/server.
	serverReg := telemetry.NewRegistry()
	sc := dial(serverReg)
	v, err := webhook.NewVerifier([]string{secret})
	require.NoError(t, err)
	api := &httpapi.Server{
		Verifier:       v,
		Starter:        httpapi.TemporalStarter{Client: sc, TaskQueue: queue},
		Ready:          func(ctx context.Context) error { _, err := sc.CheckHealth(ctx, nil); return err },
		Logger:         quiet,
		Registry:       serverReg,
		TracerProvider: tp,
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &app{
		url:        srv.URL + httpapi.WebhookPath,
		client:     wc,
		store:      st,
		spans:      spans,
		serverReg:  serverReg,
		workerReg:  workerReg,
		worker:     wm,
		metricsURL: "http://" + l.Addr().String() + "/metrics",
	}
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

// result waits for the workflow of event id to close and returns its result.
func (a *app) result(t *testing.T, id string) (mediaflow.MediaCompletedResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res mediaflow.MediaCompletedResult
	err := a.client.GetWorkflow(ctx, id, "").Get(ctx, &res)
	return res, err
}
