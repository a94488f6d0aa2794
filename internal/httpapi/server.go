// Package httpapi is mediaflow's HTTP interface (gin stays inside it): the
// Animus webhook route, health, readiness and metrics. A Server gets its
// dependencies as fields; cmd/server wires them.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/api/serviceerror"
	"golang.org/x/time/rate"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/animus"
	"github.com/mediaflow/mediaflow/internal/telemetry"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

// WebhookPath is the route Svix delivers Animus events to.
const WebhookPath = "/webhooks/animus"

// Defaults for the Server's zero fields.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultStartTimeout      = 5 * time.Second
	DefaultMaxInflightStarts = 256
	// MaxEventIDLength bounds the event ID, which becomes the workflow ID.
	MaxEventIDLength = 255
	// retryAfter is the Retry-After value, in seconds, of a 503.
	retryAfter = "5"
)

// Starter starts the workflow for one event and returns its run ID. A
// duplicate event ID fails with *serviceerror.WorkflowExecutionAlreadyStarted;
// any other error means the event was not handed to Temporal.
type Starter interface {
	Start(ctx context.Context, in mediaflow.MediaCompletedInput) (runID string, err error)
}

// Server answers the routes of DESIGN.md. Verifier, Starter and Ready must
// be set; the others have defaults.
type Server struct {
	Verifier *webhook.Verifier
	Starter  Starter
	// Ready reports whether Temporal answers (GET /readyz).
	Ready func(ctx context.Context) error
	// MaxBodyBytes bounds a webhook body (default 1 MiB); larger is 413.
	MaxBodyBytes int64
	// StartTimeout bounds one workflow start (default 5 s); slower is 503.
	StartTimeout time.Duration
	// Logger gets one line per webhook request (default slog.Default()).
	Logger *slog.Logger
	// Registry gets the server's metrics and is served on /metrics
	// (default: telemetry.NewRegistry()).
	Registry *prometheus.Registry
	// Now is the clock for ReceivedAt (default time.Now).
	Now func() time.Time
	// Limiter, when set, bounds the rate of webhook requests; a request
	// over it is answered 429 before its body is read.
	Limiter *rate.Limiter
	// MaxInflightStarts bounds concurrent workflow starts (default
	// DefaultMaxInflightStarts); one more is answered 503 at once rather
	// than queued towards Svix's 15 s deadline.
	MaxInflightStarts int
	// TrustedProxies are the proxies whose X-Forwarded-For is believed for
	// the client address in logs (default none).
	TrustedProxies []string
	// TracerProvider, when set, traces each webhook request: a server span
	// that the workflow start continues (through the Temporal client's
	// tracing interceptor, set by main). Nil: no tracing.
	TracerProvider trace.TracerProvider

	metrics  *metrics
	inflight chan struct{}
}

// Handler returns the http.Handler serving all routes.
func (s *Server) Handler() http.Handler {
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.StartTimeout <= 0 {
		s.StartTimeout = DefaultStartTimeout
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.MaxInflightStarts <= 0 {
		s.MaxInflightStarts = DefaultMaxInflightStarts
	}
	s.inflight = make(chan struct{}, s.MaxInflightStarts)
	if s.Registry == nil {
		s.Registry = telemetry.NewRegistry()
	}
	s.metrics = newMetrics(s.Registry)

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Without TrustedProxies, ClientIP is the peer's address.
	if err := r.SetTrustedProxies(s.TrustedProxies); err != nil {
		panic(fmt.Sprintf("httpapi: TrustedProxies: %v", err)) // config validates them first
	}
	// A panic is answered 500 (Svix retries) and logged with its value and
	// the route only: never the request, whose headers carry the signature.
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, v any) {
		s.Logger.Error("panic", "path", c.FullPath(), "panic", fmt.Sprint(v))
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
	}))
	r.NoRoute(func(c *gin.Context) {
		c.JSON(http.StatusNotFound, gin.H{"error": "no such route"})
	})
	r.NoMethod(func(c *gin.Context) {
		c.JSON(http.StatusMethodNotAllowed, gin.H{"error": "method not allowed"})
	})

	r.POST(WebhookPath, s.handleWebhook)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.handleReady)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})))
	if s.TracerProvider == nil {
		return r
	}
	return otelhttp.NewHandler(r, "webhook",
		otelhttp.WithTracerProvider(s.TracerProvider),
		// Anyone can call the route: a traceparent it sends is linked to,
		// not continued, so outsiders cannot pick our trace IDs; their
		// baggage is not read, so it never reaches workflow headers.
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }),
		// Only the webhook: probes and scrapes would drown it.
		otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path == WebhookPath }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + WebhookPath }),
	)
}

func (s *Server) handleReady(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		c.Header("Retry-After", retryAfter)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "error": "temporal does not answer"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// Outcomes of a webhook request, as logged and counted.
const (
	outcomeStarted     = "started"
	outcomeDuplicate   = "duplicate"
	outcomeIgnored     = "ignored"
	outcomeUnauth      = "unauthorized"
	outcomeBadRequest  = "bad_request"
	outcomeTooLarge    = "too_large"
	outcomeRateLimited = "rate_limited"
	outcomeUnavailable = "unavailable"
)

// The outcomes, for metrics that start at zero.
var outcomes = []string{outcomeStarted, outcomeDuplicate, outcomeIgnored, outcomeUnauth,
	outcomeBadRequest, outcomeTooLarge, outcomeRateLimited, outcomeUnavailable}

// reply is one answer of the webhook route, with what it is logged as.
type reply struct {
	outcome string
	code    int
	body    gin.H
	err     error // logged, never a secret
	eventID string
	evType  string
	jobID   string
}

func (s *Server) handleWebhook(c *gin.Context) {
	start := time.Now()
	rep := s.webhook(c)
	if rep.code == http.StatusServiceUnavailable || rep.code == http.StatusTooManyRequests {
		c.Header("Retry-After", retryAfter)
	}
	c.JSON(rep.code, rep.body)

	elapsed := time.Since(start)
	s.metrics.observe(rep.outcome, elapsed)
	level := slog.LevelInfo
	if rep.code >= 500 {
		level = slog.LevelWarn
	}
	attrs := []any{"outcome", rep.outcome, "code", rep.code, "event_id", rep.eventID,
		"event_type", rep.evType, "job_id", rep.jobID, "duration_ms", float64(elapsed.Microseconds()) / 1000}
	if rep.err != nil {
		attrs = append(attrs, "error", rep.err.Error())
	}
	span := trace.SpanFromContext(c.Request.Context())
	if sc := span.SpanContext(); sc.IsValid() {
		attrs = append(attrs, "trace_id", sc.TraceID().String()) // finds the trace from the log line
	}
	s.Logger.Log(c.Request.Context(), level, "webhook", attrs...)
	// IDs and the outcome only: never the body, headers or secrets.
	if span.IsRecording() {
		span.SetAttributes(attribute.String("http.route", WebhookPath), attribute.String("mediaflow.outcome", rep.outcome),
			attribute.String("mediaflow.event_id", rep.eventID), attribute.String("mediaflow.event_type", rep.evType),
			attribute.String("animus.job_id", rep.jobID))
	}
}

// webhook does the work of the route: raw body → verify → parse → start.
// Nothing reads the body as JSON before the signature is verified.
func (s *Server) webhook(c *gin.Context) reply {
	if s.Limiter != nil && !s.Limiter.Allow() {
		return fail(outcomeRateLimited, http.StatusTooManyRequests, errors.New("rate limit exceeded, retry later"))
	}
	if err := checkContentType(c.GetHeader("Content-Type")); err != nil {
		return fail(outcomeBadRequest, http.StatusUnsupportedMediaType, err)
	}
	body, err := readBody(c.Request, s.MaxBodyBytes)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return fail(outcomeTooLarge, http.StatusRequestEntityTooLarge, errTooLarge(s.MaxBodyBytes))
		}
		return fail(outcomeBadRequest, http.StatusBadRequest, errors.New("reading body: "+err.Error()))
	}

	delivery, err := s.Verifier.Verify(body, c.Request.Header)
	if err != nil {
		return fail(outcomeUnauth, http.StatusUnauthorized, err)
	}
	rep := reply{eventID: delivery.ID}
	if len(delivery.ID) > MaxEventIDLength {
		return rep.fail(outcomeBadRequest, http.StatusBadRequest, fmt.Errorf("event ID longer than %d bytes", MaxEventIDLength))
	}

	env, err := animus.ParseEnvelope(body)
	if err != nil {
		return rep.fail(outcomeBadRequest, http.StatusBadRequest, err)
	}
	rep.evType = env.EventType
	if env.EventType != animus.EventMediaCompleted {
		rep.outcome, rep.code = outcomeIgnored, http.StatusOK
		rep.body = gin.H{"status": outcomeIgnored, "event_id": delivery.ID, "event_type": env.EventType}
		return rep
	}
	job, err := animus.ParseJob(env.Data)
	if err != nil {
		return rep.fail(outcomeBadRequest, http.StatusBadRequest, err)
	}
	rep.jobID = job.JobID

	in := mediaflow.MediaCompletedInput{
		EventID:        delivery.ID,
		EventType:      env.EventType,
		EventTimestamp: env.Timestamp,
		ReceivedAt:     s.Now().UTC(),
		Job:            job,
	}
	select {
	case s.inflight <- struct{}{}:
		defer func() { <-s.inflight }()
	default:
		return rep.fail(outcomeUnavailable, http.StatusServiceUnavailable,
			fmt.Errorf("too many workflow starts in flight (%d), retry later", s.MaxInflightStarts))
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.StartTimeout)
	defer cancel()
	startedAt := time.Now()
	runID, err := s.Starter.Start(ctx, in)
	s.metrics.startDuration.Observe(time.Since(startedAt).Seconds())

	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &dup):
		rep.outcome, rep.code = outcomeDuplicate, http.StatusOK
		rep.body = gin.H{"status": outcomeDuplicate, "event_id": delivery.ID, "workflow_id": delivery.ID, "run_id": dup.RunId}
	case err != nil:
		// Not handed to Temporal: a 503 makes Svix deliver it again.
		rep = rep.fail(outcomeUnavailable, http.StatusServiceUnavailable, errors.New("workflow not started: temporal unavailable, retry later"))
		rep.err = err
	default:
		rep.outcome, rep.code = outcomeStarted, http.StatusOK
		rep.body = gin.H{"status": outcomeStarted, "event_id": delivery.ID, "workflow_id": delivery.ID, "run_id": runID}
	}
	return rep
}

func fail(outcome string, code int, err error) reply {
	return reply{}.fail(outcome, code, err)
}

func (r reply) fail(outcome string, code int, err error) reply {
	r.outcome, r.code, r.err = outcome, code, err
	r.body = gin.H{"error": err.Error()}
	return r
}
