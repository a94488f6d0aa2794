package app

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/internal/telemetry"
	"github.com/mediaflow/mediaflow/workflows"
)

// workerStopTimeout is how long a stopping worker lets running activities
// finish.
const workerStopTimeout = 30 * time.Second

// Worker is the Temporal worker: MediaCompletedWorkflow and its activities
// on the task queue, with its metrics on WORKER_METRICS_ADDR.
type Worker struct {
	// Registry holds the worker's metrics and the Temporal SDK's.
	Registry *prometheus.Registry
	// Metrics are the worker's own collectors, in Registry.
	Metrics *telemetry.WorkerMetrics
	// Client is the worker's Temporal client.
	Client client.Client
	// Store is the job store the activities write.
	Store *store.Store

	cfg      config.Worker
	in       instrumented
	worker   worker.Worker
	metrics  *http.Server
	metricsL net.Listener
}

// NewWorker builds the worker from cfg: it opens the store (applying its
// migrations), dials Temporal, checks that the namespace has every search
// attribute mediaflow writes, registers the workflow and the activities,
// and listens on cfg.MetricsAddr when set; Run polls. It fails when the
// database or Temporal cannot be reached, the namespace lacks a search
// attribute (a *searchattr.LackError: one line naming it and the command
// that registers it), or the metrics address cannot be listened on.
func NewWorker(ctx context.Context, cfg config.Worker, opts Options) (_ *Worker, err error) {
	in, err := instrument(ctx, "mediaflow-worker", cfg.Shared, opts)
	if err != nil {
		return nil, err
	}
	w := &Worker{Registry: in.registry, Metrics: telemetry.NewWorkerMetrics(in.registry), cfg: cfg, in: in}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	if w.Store, err = store.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if w.Client, err = client.Dial(in.temporal); err != nil {
		return nil, fmt.Errorf("temporal at %s: %w", in.temporal.HostPort, err)
	}
	// A watch's workflow task that sets a missing attribute fails forever.
	if err = (&searchAttrs{client: w.Client, namespace: in.temporal.Namespace, logger: in.logger}).check(ctx); err != nil {
		return nil, err
	}
	if cfg.MetricsAddr != "" {
		if w.metricsL, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return nil, fmt.Errorf("metrics: WORKER_METRICS_ADDR: %w", err)
		}
		w.metrics = telemetry.MetricsServer(cfg.MetricsAddr, in.registry)
	}

	w.worker = worker.New(w.Client, cfg.TaskQueue, worker.Options{
		WorkerStopTimeout: workerStopTimeout,
		// Times and counts every activity attempt, added ones included.
		Interceptors: []interceptor.WorkerInterceptor{w.Metrics.Interceptor()},
	})
	wfOpts := workflows.DefaultOptions()
	if opts.Workflow != nil {
		wfOpts = *opts.Workflow
	}
	steps := workflows.Steps{Download: cfg.MediaDir != "", Notify: cfg.NotifyURL != "", Alert: cfg.AlertURL != ""}
	// A new activity's dependencies are set here.
	workflows.Register(w.worker, workflows.Workflow{Options: wfOpts, Steps: steps}, &activities.Activities{
		Store:         w.Store,
		HTTP:          activities.NewHTTPClient(),
		MediaDir:      cfg.MediaDir,
		MediaMaxBytes: cfg.MediaMaxBytes,
		NotifyURL:     cfg.NotifyURL,
		AlertURL:      cfg.AlertURL,
		NotifySecret:  cfg.NotifySecret,
		Jobs:          w.Metrics.Jobs,
		Temporal:      w.Client,
		MediaHTTP:     activities.NewMediaClient(cfg.MediaEgress),
	})
	return w, nil
}

// MetricsAddr is the address of the worker's GET /metrics, "" when off.
func (w *Worker) MetricsAddr() string {
	if w.metricsL == nil {
		return ""
	}
	return w.metricsL.Addr().String()
}

// Run polls the task queue until ctx is done, then lets running
// activities finish (at most 30 s). It returns the worker's fatal error,
// if any.
func (w *Worker) Run(ctx context.Context) error {
	if w.metrics != nil {
		go serve(w.in.logger, "metrics server", w.metrics, w.metricsL)
	}
	t, c := w.in.temporal, w.cfg
	w.in.logger.Info("worker starting", "temporal", t.HostPort, "namespace", t.Namespace, "grpc_compression", c.GRPCCompression, "task_queue", c.TaskQueue,
		"media_dir", c.MediaDir, "notify", c.NotifyURL != "", "alert", c.AlertURL != "", "signed", c.NotifySecret != "",
		"metrics", cmp.Or(w.MetricsAddr(), "off"), "tracing", cmp.Or(w.in.tracing.Exporter, "off"))
	stop := make(chan any)
	go func() {
		<-ctx.Done()
		close(stop)
	}()
	return w.worker.Run(stop)
}

// Close releases what NewWorker opened: the metrics listener, the
// Temporal client, the store, the blob store, and the tracing exporter,
// flushed last.
func (w *Worker) Close() {
	if w.metrics != nil {
		w.metrics.Close()
	}
	if w.metricsL != nil {
		w.metricsL.Close()
	}
	if w.Client != nil {
		w.Client.Close()
	}
	if w.Store != nil {
		w.Store.Close()
	}
	w.in.close()
}
