package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"

	"github.com/mediaflow/mediaflow"
)

// Outcomes of an activity attempt.
const (
	ActivityOK    = "ok"
	ActivityError = "error"
)

// WorkerMetrics are the worker's own Prometheus collectors. Labels hold
// only statuses, activity names and outcomes.
type WorkerMetrics struct {
	// Jobs is mediaflow_jobs_total{status}: jobs recorded, by classified
	// status. activities.RecordEvent counts each event once, when it first
	// writes it.
	Jobs *prometheus.CounterVec
	// ActivityDuration and ActivityAttempts are
	// mediaflow_activity_duration_seconds{activity,outcome} and
	// mediaflow_activity_attempts_total{activity,outcome}, one observation
	// per attempt that ran on this worker, updated by Interceptor.
	ActivityDuration *prometheus.HistogramVec
	ActivityAttempts *prometheus.CounterVec
	// Deliveries is mediaflow_deliveries_total{receiver,result}: each
	// attempt to POST a notice to a receiver (notify, alert), delivered or
	// failed, counted by activities.Notify and Alert.
	Deliveries *prometheus.CounterVec
}

// NewWorkerMetrics registers the worker's collectors on reg. Both job
// statuses are exported from the start at zero, so increase() sees the
// first job.
func NewWorkerMetrics(reg prometheus.Registerer) *WorkerMetrics {
	m := &WorkerMetrics{
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediaflow_jobs_total",
			Help: "Animus jobs recorded by the worker, by status (completed, failed). Counted once per event, when RecordEvent first writes it.",
		}, []string{"status"}),
		ActivityDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mediaflow_activity_duration_seconds",
			Help:    "Duration of one activity attempt on this worker, in seconds, by activity and outcome (ok, error).",
			Buckets: DurationBuckets,
		}, []string{"activity", "outcome"}),
		ActivityAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediaflow_activity_attempts_total",
			Help: "Activity attempts run on this worker, by activity and outcome (ok, error); an error is retried unless non-retryable or out of its retry window.",
		}, []string{"activity", "outcome"}),
	}
	m.Deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediaflow_deliveries_total",
		Help: "Attempts to deliver a notice to a receiver (notify: NOTIFY_URL, alert: ALERT_URL), by result (delivered, failed).",
	}, []string{"receiver", "result"})
	reg.MustRegister(m.Jobs, m.ActivityDuration, m.ActivityAttempts, m.Deliveries)
	m.Jobs.WithLabelValues(string(mediaflow.JobCompleted))
	m.Jobs.WithLabelValues(string(mediaflow.JobFailed))
	for _, receiver := range []string{mediaflow.StepNotify, mediaflow.StepAlert} {
		for _, result := range []string{"delivered", "failed"} {
			m.Deliveries.WithLabelValues(receiver, result)
		}
	}
	return m
}

// Interceptor returns a worker interceptor (worker.Options.Interceptors)
// that times and counts every activity attempt, whatever the activity:
// one added later is measured without more code.
func (m *WorkerMetrics) Interceptor() interceptor.WorkerInterceptor {
	return &workerInterceptor{m: m}
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	m *WorkerMetrics
}

func (w *workerInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &activityInbound{m: w.m}
	i.Next = next
	return i
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	m *WorkerMetrics
}

func (a *activityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	start := time.Now()
	res, err := a.Next.ExecuteActivity(ctx, in)
	outcome := ActivityOK
	if err != nil {
		outcome = ActivityError
	}
	name := activity.GetInfo(ctx).ActivityType.Name
	a.m.ActivityDuration.WithLabelValues(name, outcome).Observe(time.Since(start).Seconds())
	a.m.ActivityAttempts.WithLabelValues(name, outcome).Inc()
	return res, err
}
