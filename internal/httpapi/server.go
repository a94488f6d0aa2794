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
	"os"
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

// MaxEventIDLength bounds the event ID, which becomes the workflow ID.
const MaxEventIDLength = 255

// retryAfter is the Retry-After value, in seconds, of a 429 or 503.
const retryAfter = "5"

// Starter starts the workflow for one event and returns its run ID. A
// duplicate event ID fails with *serviceerror.WorkflowExecutionAlreadyStarted;
// any other error means the event was not handed to Temporal.
type Starter interface {
	Start(ctx context.Context, in mediaflow.MediaCompletedInput) (runID string, err error)
}

// Options are a Server's dependencies and limits. The limits have no
// defaults here: package config holds them.
type Options struct {
	Verifier *webhook.Verifier
	Starter  Starter
	// Ready reports whether Temporal answers (GET /readyz).
	Ready func(ctx context.Context) error
	// MaxBodyBytes bounds a webhook body; larger is 413.
	MaxBodyBytes int64
	// StartTimeout bounds one workflow start; slower is 503.
	StartTimeout time.Duration
	// MaxInflightStarts bounds concurrent workflow starts; one more is
	// answered 503 at once rather than queued towards Svix's 15 s deadline.
	MaxInflightStarts int
	// Limiter, when set, bounds the rate of verified deliveries: one over
	// it is answered 429 (Retry-After) and starts nothing. A request that
	// fails verification never takes from it, so outsiders cannot use up
	// the budget of real deliveries.
	Limiter *rate.Limiter
	// TrustedProxies are the proxies whose X-Forwarded-For is believed for
	// the client address in logs (IPs or CIDRs; none by default).
	TrustedProxies []string
	// Logger gets one line per verified delivery; the lines of requests
	// that fail before verification (401, 408, 413, 415, unsigned 400s)
	// are bounded per outcome (one a second after a burst of 10, the rest
	// counted in a "webhook lines suppressed" line every 10 s).
	Logger *slog.Logger
	// Registry gets the server's metrics (telemetry.NewServerMetrics) and
	// is served on GET /metrics.
	Registry *prometheus.Registry
	// TracerProvider, when set, traces each webhook request: a server span
	// that the workflow start continues (through the Temporal client's
	// tracing interceptor). Nil: no tracing.
	TracerProvider trace.TracerProvider
	// DeadLetters, when set, keeps an event that Temporal refuses for
	// good (see Rejection) and the answer is 422; nil: such an event is
	// answered 503, as for Temporal being down.
	DeadLetters DeadLetters
	// Now is the clock for ReceivedAt (default time.Now).
	Now func() time.Time
}

// Server answers mediaflow's HTTP routes: POST /webhooks/animus,
// GET /healthz, /readyz and /metrics. It is an http.Handler.
type Server struct {
	opts     Options
	metrics  *telemetry.ServerMetrics
	inflight chan struct{}
	handler  http.Handler
	// unverified bounds the log lines of requests that fail before
	// verification, by outcome (and reason, for 401s).
	unverified map[lineKind]*lineBudget
}

// lineKind is a kind of webhook log line: an outcome, and a reason for 401s.
type lineKind struct{ outcome, reason string }

// New returns a Server for o. It fails when a dependency is missing, a
// limit is not positive or a trusted proxy is neither an IP nor a CIDR.
func New(o Options) (*Server, error) {
	switch {
	case o.Verifier == nil || o.Starter == nil || o.Ready == nil || o.Logger == nil || o.Registry == nil:
		return nil, errors.New("httpapi: Verifier, Starter, Ready, Logger and Registry are required")
	case o.MaxBodyBytes <= 0 || o.StartTimeout <= 0 || o.MaxInflightStarts <= 0:
		return nil, errors.New("httpapi: MaxBodyBytes, StartTimeout and MaxInflightStarts must be positive")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{
		opts:       o,
		metrics:    telemetry.NewServerMetrics(o.Registry),
		inflight:   make(chan struct{}, o.MaxInflightStarts),
		unverified: map[lineKind]*lineBudget{},
	}
	// Built here, once: the map is only read while serving.
	for _, outcome := range telemetry.WebhookOutcomes {
		s.unverified[lineKind{outcome, ""}] = newLineBudget(o.Logger, slog.LevelInfo, "webhook", "outcome", outcome)
	}
	for _, reason := range telemetry.UnauthorizedReasons {
		s.unverified[lineKind{telemetry.OutcomeUnauth, reason}] = newLineBudget(o.Logger, slog.LevelInfo, "webhook",
			"outcome", telemetry.OutcomeUnauth, "reason", reason)
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Without TrustedProxies, ClientIP is the peer's address.
	if err := r.SetTrustedProxies(o.TrustedProxies); err != nil {
		return nil, fmt.Errorf("httpapi: trusted proxies: %w", err)
	}
	// A panic is answered 500 (Svix retries) and logged with its value and
	// the route only: never the request, whose headers carry the signature.
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, v any) {
		o.Logger.Error("panic", "path", c.FullPath(), "panic", fmt.Sprint(v))
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
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{})))
	s.handler = r
	if o.TracerProvider != nil {
		s.handler = otelhttp.NewHandler(r, "webhook",
			otelhttp.WithTracerProvider(o.TracerProvider),
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
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) handleReady(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.Ready(ctx); err != nil {
		c.Header("Retry-After", retryAfter)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "error": "temporal does not answer"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// reply is one answer of the webhook route, with what it is logged as.
type reply struct {
	outcome  string
	reason   string // of a 401: telemetry.Reason*
	verified bool   // the signature matched
	code     int
	body     gin.H
	err      error // logged, never a secret
	eventID  string
	evType   string
	jobID    string
}

func (s *Server) handleWebhook(c *gin.Context) {
	start := time.Now()
	rep := s.ingest(c)
	if rep.code == http.StatusServiceUnavailable || rep.code == http.StatusTooManyRequests {
		c.Header("Retry-After", retryAfter)
	}
	c.JSON(rep.code, rep.body)

	elapsed := time.Since(start)
	s.metrics.Observe(rep.outcome, elapsed)
	if rep.reason != "" {
		s.metrics.Unauthorized.WithLabelValues(rep.reason).Inc()
	}
	if !rep.verified && !s.unverified[lineKind{rep.outcome, rep.reason}].allow() {
		return // counted above, and in the next "suppressed" line
	}
	level := slog.LevelInfo
	if rep.code >= 500 {
		level = slog.LevelWarn
	}
	attrs := []any{"outcome", rep.outcome}
	if rep.reason != "" {
		attrs = append(attrs, "reason", rep.reason)
	}
	attrs = append(attrs, "code", rep.code, "event_id", rep.eventID, "event_type", rep.evType, "job_id", rep.jobID,
		"duration_ms", float64(elapsed.Microseconds())/1000, "client_ip", c.ClientIP())
	if rep.err != nil {
		attrs = append(attrs, "error", rep.err.Error())
	}
	span := trace.SpanFromContext(c.Request.Context())
	if sc := span.SpanContext(); sc.IsValid() {
		attrs = append(attrs, "trace_id", sc.TraceID().String()) // finds the trace from the log line
	}
	s.opts.Logger.Log(c.Request.Context(), level, "webhook", attrs...)
	// IDs and the outcome only: never the body, headers or secrets.
	if span.IsRecording() {
		span.SetAttributes(attribute.String("http.route", WebhookPath), attribute.String("mediaflow.outcome", rep.outcome),
			attribute.String("mediaflow.event_id", rep.eventID), attribute.String("mediaflow.event_type", rep.evType),
			attribute.String("animus.job_id", rep.jobID))
	}
}

// ingest does the work of the webhook route: headers → raw body → verify
// → rate limit → parse → start. Nothing reads the body as JSON before the
// signature is verified, and only verified deliveries take from the rate
// limit: verifying costs microseconds, so checking it first is cheap.
func (s *Server) ingest(c *gin.Context) reply {
	if err := checkContentType(c.GetHeader("Content-Type")); err != nil {
		return refuseUnread(c, fail(telemetry.OutcomeBadRequest, http.StatusUnsupportedMediaType, err))
	}
	if err := checkContentEncoding(c.Request.Header); err != nil {
		// RFC 7694: say which encodings are accepted.
		c.Header("Accept-Encoding", "identity")
		return refuseUnread(c, fail(telemetry.OutcomeBadRequest, http.StatusUnsupportedMediaType, err))
	}
	if c.Request.ContentLength > s.opts.MaxBodyBytes {
		return refuseUnread(c, fail(telemetry.OutcomeTooLarge, http.StatusRequestEntityTooLarge, errTooLarge(s.opts.MaxBodyBytes)))
	}
	body, err := readBody(c.Request, s.opts.MaxBodyBytes)
	if err != nil {
		return s.readFailed(err)
	}

	delivery, err := s.opts.Verifier.Verify(body, c.Request.Header)
	if err != nil {
		rep := fail(telemetry.OutcomeUnauth, http.StatusUnauthorized, err)
		rep.reason = unauthorizedReason(err)
		return rep
	}
	rep := reply{eventID: delivery.ID, verified: true}
	if s.opts.Limiter != nil && !s.opts.Limiter.Allow() {
		return rep.fail(telemetry.OutcomeRateLimited, http.StatusTooManyRequests, errors.New("rate limit exceeded, retry later"))
	}
	if len(delivery.ID) > MaxEventIDLength {
		return rep.fail(telemetry.OutcomeBadRequest, http.StatusBadRequest, fmt.Errorf("event ID longer than %d bytes", MaxEventIDLength))
	}

	ev, err := animus.ReadEvent(delivery.ID, body, s.opts.Now())
	rep.evType = ev.Type
	if err != nil {
		return rep.fail(telemetry.OutcomeBadRequest, http.StatusBadRequest, err)
	}
	if ev.Input == nil {
		rep.outcome, rep.code = telemetry.OutcomeIgnored, http.StatusOK
		rep.body = gin.H{"status": telemetry.OutcomeIgnored, "event_id": delivery.ID, "event_type": ev.Type}
		return rep
	}
	in := *ev.Input
	rep.jobID = in.Job.JobID

	select {
	case s.inflight <- struct{}{}:
		defer func() { <-s.inflight }()
	default:
		return rep.fail(telemetry.OutcomeUnavailable, http.StatusServiceUnavailable,
			fmt.Errorf("too many workflow starts in flight (%d), retry later", s.opts.MaxInflightStarts))
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.opts.StartTimeout)
	defer cancel()
	startedAt := time.Now()
	runID, err := s.opts.Starter.Start(ctx, in)
	s.metrics.StartDuration.Observe(time.Since(startedAt).Seconds())

	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &dup):
		rep.outcome, rep.code = telemetry.OutcomeDuplicate, http.StatusOK
		rep.body = gin.H{"status": telemetry.OutcomeDuplicate, "event_id": delivery.ID, "workflow_id": delivery.ID, "run_id": dup.RunId}
	case err != nil && s.opts.DeadLetters != nil && Rejection(err) != "":
		rep = s.reject(c.Request, body, in, rep, err)
	case err != nil:
		// Not handed to Temporal: a 503 makes Svix deliver it again.
		rep = rep.fail(telemetry.OutcomeUnavailable, http.StatusServiceUnavailable, errors.New("workflow not started: temporal unavailable, retry later"))
		rep.err = err
	default:
		rep.outcome, rep.code = telemetry.OutcomeStarted, http.StatusOK
		rep.body = gin.H{"status": telemetry.OutcomeStarted, "event_id": delivery.ID, "workflow_id": delivery.ID, "run_id": runID}
	}
	return rep
}

// refuseUnread marks rep, an answer given before the body is read, to
// close the connection: net/http would otherwise read up to 256 KiB of the
// unwanted body before answering, to keep the connection for another
// request, and a client still sending it would wait for its answer.
func refuseUnread(c *gin.Context, rep reply) reply {
	c.Header("Connection", "close")
	return rep
}

// readFailed answers a body that could not be read: 413 over the limit,
// 408 when it did not arrive within the server's ReadTimeout, else 400.
// The answer names the problem plainly; the log keeps the network error.
func (s *Server) readFailed(err error) reply {
	var tooLarge *http.MaxBytesError
	var rep reply
	switch {
	case errors.As(err, &tooLarge):
		return fail(telemetry.OutcomeTooLarge, http.StatusRequestEntityTooLarge, errTooLarge(s.opts.MaxBodyBytes))
	case errors.Is(err, os.ErrDeadlineExceeded):
		rep = fail(telemetry.OutcomeTimeout, http.StatusRequestTimeout, errors.New("body not received in time: send it at once, after the headers"))
	case errors.Is(err, io.ErrUnexpectedEOF):
		rep = fail(telemetry.OutcomeBadRequest, http.StatusBadRequest, errors.New("body shorter than its Content-Length"))
	default:
		rep = fail(telemetry.OutcomeBadRequest, http.StatusBadRequest, errors.New("body could not be read"))
	}
	rep.err = err
	return rep
}

// unauthorizedReason classifies a verification error for metrics and logs.
func unauthorizedReason(err error) string {
	switch {
	case errors.Is(err, webhook.ErrMissingHeaders):
		return telemetry.ReasonUnsigned
	case errors.Is(err, webhook.ErrTimestamp):
		return telemetry.ReasonTimestamp
	}
	return telemetry.ReasonSignature
}

func fail(outcome string, code int, err error) reply {
	return reply{}.fail(outcome, code, err)
}

func (r reply) fail(outcome string, code int, err error) reply {
	r.outcome, r.code, r.err = outcome, code, err
	r.body = gin.H{"error": err.Error()}
	return r
}
