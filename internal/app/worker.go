package app

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/internal/telemetry"
	"github.com/mediaflow/mediaflow/workflows"
)

// workerStopTimeout is how long a stopping worker lets running activities
// finish.
const workerStopTimeout = 30 * time.Second

// deliveryRateShare is the share of NOTIFY_MAX_PER_SECOND that the
// delivery task queue's rate is set to (see New).
const deliveryRateShare = 0.4

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

	cfg        config.Worker
	buildID    string
	in         instrumented
	worker     worker.Worker
	deliveries worker.Worker
	metrics    *sideListener
	debug      *sideListener
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
	if w.metrics, err = listenSide("metrics server", "metrics: WORKER_METRICS_ADDR", cfg.MetricsAddr, telemetry.MetricsServer(cfg.MetricsAddr, in.registry)); err != nil {
		return nil, err
	}
	if w.debug, err = listenSide("profiler", "WORKER_DEBUG_ADDR", cfg.DebugAddr, sideServer(httpapi.ProfilerHandler())); err != nil {
		return nil, err
	}

	wf := workflows.Workflow{
		Options: workflows.NewOptions(cfg.TaskQueue, workflows.Windows{
			Database: cfg.DatabaseRetryWindow, Download: cfg.DownloadRetryWindow, Delivery: cfg.DeliveryRetryWindow,
		}),
		Optional: workflows.Optional{Download: cfg.MediaDir != "", Notify: cfg.NotifyURL != "", Alert: cfg.AlertURL != "",
			RateLimited: cfg.NotifyMaxPerSecond > 0},
	}
	for _, newStep := range opts.Steps {
		step, err := newStep(cfg.Environ)
		if err != nil {
			return nil, fmt.Errorf("step: %w", err)
		}
		wf.Steps = append(wf.Steps, step)
	}
	// A new built-in activity's dependencies are set here.
	acts := &activities.Activities{
		Store:         w.Store,
		HTTP:          activities.NewHTTPClient(),
		MediaDir:      cfg.MediaDir,
		MediaMaxBytes: cfg.MediaMaxBytes,
		NotifyURL:     cfg.NotifyURL,
		AlertURL:      cfg.AlertURL,
		NotifySecret:  cfg.NotifySecret,
		Jobs:          w.Metrics.Jobs,
		Deliveries:    w.Metrics.Deliveries,
		Temporal:      w.Client,
		MediaHTTP:     activities.NewMediaClient(cfg.MediaEgress),
	}
	if w.buildID, err = buildID(cfg); err != nil {
		return nil, err
	}
	deployment := deploymentOptions(cfg, w.buildID)
	// Times and counts every activity attempt, added ones included.
	interceptors := []interceptor.WorkerInterceptor{w.Metrics.Interceptor()}
	w.worker = worker.New(w.Client, cfg.TaskQueue, worker.Options{WorkerStopTimeout: workerStopTimeout, Interceptors: interceptors,
		DeploymentOptions: deployment})
	if err := workflows.Register(w.worker, wf, acts); err != nil {
		return nil, err
	}
	// Notifications and alerts on a task queue of their own, whose rate
	// Temporal bounds for all workers together. Its limiter is a token
	// bucket that holds a second's worth of tasks on top of the rate, and
	// a task's POST leaves a variable while after its dispatch (the job
	// database's claim, a busy machine): at deliveryRateShare of
	// NOTIFY_MAX_PER_SECOND, no second of the receiver's sees more than all
	// of it with up to half a second of that spread (at half, 22 in a
	// second for a limit of 20: TestReceiverOutageIsWaitedOut).
	w.deliveries = worker.New(w.Client, mediaflow.DeliveryTaskQueue(cfg.TaskQueue), worker.Options{
		WorkerStopTimeout:            workerStopTimeout,
		Interceptors:                 interceptors,
		TaskQueueActivitiesPerSecond: float64(cfg.NotifyMaxPerSecond) * deliveryRateShare,
		DeploymentOptions:            deployment,
	})
	workflows.RegisterDeliveries(w.deliveries, acts)
	return w, nil
}

// MetricsAddr is the address of the worker's GET /metrics, "" when off.
func (w *Worker) MetricsAddr() string { return w.metrics.addr() }

// Run polls the task queue until ctx is done, then lets running
// activities finish (at most 30 s). It returns the worker's fatal error,
// if any.
func (w *Worker) Run(ctx context.Context) error {
	w.metrics.serve(w.in.logger)
	w.debug.serve(w.in.logger)
	t, c := w.in.temporal, w.cfg
	w.in.logger.Info("worker starting", "temporal", t.HostPort, "namespace", t.Namespace, "grpc_compression", c.GRPCCompression, "task_queue", c.TaskQueue,
		"media_dir", c.MediaDir, "notify", c.NotifyURL != "", "alert", c.AlertURL != "", "signed", c.NotifySecret != "",
		"notify_max_per_second", c.NotifyMaxPerSecond, "versioning", c.Versioning, "deployment", c.DeploymentName, "build_id", w.buildID,
		"metrics", cmp.Or(w.MetricsAddr(), "off"), "tracing", cmp.Or(w.in.tracing.Exporter, "off"))
	if err := w.deliveries.Start(); err != nil {
		return fmt.Errorf("delivery task queue: %w", err)
	}
	defer w.deliveries.Stop()
	routed := make(chan struct{})
	go func() {
		defer close(routed)
		if err := routeToSelf(ctx, w.Client, c, w.buildID, w.in.logger); err != nil {
			w.in.logger.Error("worker versioning", "error", err)
		}
	}()
	defer func() { <-routed }()
	stop := make(chan any)
	go func() {
		<-ctx.Done()
		close(stop)
		// Both task queues at once: each stops polling now and drains
		// within workerStopTimeout, rather than the deliveries taking new
		// notices while the events' activities drain.
		w.deliveries.Stop()
	}()
	return w.worker.Run(stop)
}

// Close releases what NewWorker opened: the metrics and profiler listeners, the
// Temporal client, the store, the blob store, and the tracing exporter,
// flushed last.
func (w *Worker) Close() {
	w.metrics.close()
	w.debug.close()
	if w.Client != nil {
		w.Client.Close()
	}
	if w.Store != nil {
		w.Store.Close()
	}
	w.in.close()
}
