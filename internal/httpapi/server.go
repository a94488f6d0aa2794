// Package httpapi is mediaflow's HTTP interface (gin stays inside it): the
// Animus webhook route, health, readiness and metrics. A Server gets its
// dependencies as fields; internal/app wires them. What becomes of a
// verified delivery, and what it is answered, is package ingest's
// decision; this package reads, verifies and rate-limits the request, and
// writes the answer.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/ingest"
	"github.com/mediaflow/mediaflow/internal/telemetry"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

// WebhookPath is the route Svix delivers Animus events to.
const WebhookPath = "/webhooks/animus"

// Options are a Server's dependencies and limits. The limits have no
// defaults here: package config holds them.
type Options struct {
	Verifier *webhook.Verifier
	Starter  ingest.Starter
	// Ready reports whether the server can start workflows (GET /readyz):
	// its error's text is the 503's "error", so it must name no secret.
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
	// good and the answer is 422; nil: such an event is answered 503, as
	// for Temporal being down (see ingest.Options).
	DeadLetters ingest.DeadLetters
	// Now is the clock for ReceivedAt (default time.Now).
	Now func() time.Time
}

// Server answers mediaflow's HTTP routes: POST /webhooks/animus,
// GET /healthz, /readyz and /metrics. It is an http.Handler.
type Server struct {
	opts    Options
	metrics *telemetry.ServerMetrics
	ingest  *ingest.Ingester
	handler http.Handler
	// unverified bounds the log lines of requests that fail before
	// verification, by outcome (and reason, for 401s).
	unverified map[lineKind]*lineBudget
}

// lineKind is a kind of webhook log line: an outcome, and a reason for 401s.
type lineKind struct {
	outcome ingest.Outcome
	reason  ingest.Reason
}

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
		unverified: map[lineKind]*lineBudget{},
	}
	s.ingest = ingest.New(ingest.Options{
		Starter:      timedStarter{o.Starter, s.metrics.StartDuration},
		DeadLetters:  o.DeadLetters,
		StartTimeout: o.StartTimeout,
		MaxInflight:  o.MaxInflightStarts,
		Now:          o.Now,
	})
	// Built here, once: the map is only read while serving.
	for _, outcome := range ingest.Outcomes {
		s.unverified[lineKind{outcome, ""}] = newLineBudget(o.Logger, slog.LevelInfo, "webhook", "outcome", outcome)
	}
	for _, reason := range ingest.Reasons {
		s.unverified[lineKind{ingest.Unauthorized, reason}] = newLineBudget(o.Logger, slog.LevelInfo, "webhook",
			"outcome", ingest.Unauthorized, "reason", reason)
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Svix counts a redirect as a failed attempt, and its body is not
	// JSON: a path gin would redirect is answered 404 instead.
	r.RedirectTrailingSlash = false
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
	// The same route: an endpoint URL saved in Svix with a trailing slash.
	r.POST(WebhookPath+"/", s.handleWebhook)
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
			otelhttp.WithFilter(func(r *http.Request) bool { return strings.TrimSuffix(r.URL.Path, "/") == WebhookPath }),
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
		c.Header("Retry-After", ingest.RetryAfter)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "error": err.Error()})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (s *Server) handleWebhook(c *gin.Context) {
	start := time.Now()
	a := s.answer(c)
	a.SetHeaders(c.Writer.Header())
	c.JSON(a.Code, a.Body())

	elapsed := time.Since(start)
	s.metrics.Observe(a.Outcome, elapsed)
	if a.Reason != "" {
		s.metrics.Unauthorized.WithLabelValues(string(a.Reason)).Inc()
	}
	if !a.Verified && !s.unverified[lineKind{a.Outcome, a.Reason}].allow() {
		return // counted above, and in the next "suppressed" line
	}
	level := slog.LevelInfo
	if a.Code >= 500 {
		level = slog.LevelWarn
	}
	attrs := []any{"outcome", a.Outcome}
	if a.Reason != "" {
		attrs = append(attrs, "reason", a.Reason)
	}
	attrs = append(attrs, "code", a.Code, "event_id", a.EventID, "event_type", a.EventType, "job_id", a.JobID,
		"duration_ms", float64(elapsed.Microseconds())/1000, "client_ip", c.ClientIP())
	if a.Final() {
		attrs = append(attrs, "final", true)
	}
	if a.Cause != nil {
		attrs = append(attrs, "error", a.Cause.Error())
	}
	span := trace.SpanFromContext(c.Request.Context())
	if sc := span.SpanContext(); sc.IsValid() {
		attrs = append(attrs, "trace_id", sc.TraceID().String()) // finds the trace from the log line
	}
	s.opts.Logger.Log(c.Request.Context(), level, "webhook", attrs...)
	// IDs and the outcome only: never the body, headers or secrets.
	if span.IsRecording() {
		span.SetAttributes(attribute.String("http.route", WebhookPath), attribute.String("mediaflow.outcome", string(a.Outcome)),
			attribute.String("mediaflow.event_id", a.EventID), attribute.String("mediaflow.event_type", a.EventType),
			attribute.String("animus.job_id", a.JobID))
	}
}

// answer does the work of the webhook route: headers → raw body → verify
// → rate limit → ingest. Nothing reads the body as JSON before the
// signature is verified, and only verified deliveries take from the rate
// limit: verifying costs microseconds, so checking it first is cheap.
func (s *Server) answer(c *gin.Context) ingest.Answer {
	if err := checkContentType(c.GetHeader("Content-Type")); err != nil {
		return refuseUnread(c, ingest.Refuse(ingest.BadRequest, http.StatusUnsupportedMediaType, err))
	}
	if err := checkContentEncoding(c.Request.Header); err != nil {
		// RFC 7694: say which encodings are accepted.
		c.Header("Accept-Encoding", "identity")
		return refuseUnread(c, ingest.Refuse(ingest.BadRequest, http.StatusUnsupportedMediaType, err))
	}
	if c.Request.ContentLength > s.opts.MaxBodyBytes {
		return refuseUnread(c, ingest.Refuse(ingest.TooLarge, http.StatusRequestEntityTooLarge, errTooLarge(s.opts.MaxBodyBytes)))
	}
	body, err := readBody(c.Request, s.opts.MaxBodyBytes)
	if err != nil {
		return s.readFailed(err)
	}

	delivery, err := s.opts.Verifier.Verify(body, c.Request.Header)
	if err != nil {
		return ingest.Unverified(err)
	}
	if s.opts.Limiter != nil && !s.opts.Limiter.Allow() {
		a := ingest.Answer{EventID: delivery.ID, Verified: true}
		return a.Refuse(ingest.RateLimited, http.StatusTooManyRequests, errors.New("rate limit exceeded, retry later"))
	}
	return s.ingest.Handle(c.Request.Context(), ingest.Delivery{
		EventID: delivery.ID, Body: body, ReceivedAt: s.opts.Now(), Header: c.Request.Header,
	})
}

// timedStarter times each start into hist
// (mediaflow_workflow_start_duration_seconds), whatever its result.
type timedStarter struct {
	ingest.Starter
	hist prometheus.Observer
}

func (t timedStarter) Start(ctx context.Context, in mediaflow.MediaCompletedInput) (string, error) {
	start := time.Now()
	defer func() { t.hist.Observe(time.Since(start).Seconds()) }()
	return t.Starter.Start(ctx, in)
}

// refuseUnread marks a, an answer given before the body is read, to
// close the connection: net/http would otherwise read up to 256 KiB of the
// unwanted body before answering, to keep the connection for another
// request, and a client still sending it would wait for its answer.
func refuseUnread(c *gin.Context, a ingest.Answer) ingest.Answer {
	c.Header("Connection", "close")
	return a
}

// readFailed answers a body that could not be read: 413 over the limit,
// 408 when it did not arrive within the server's ReadTimeout, else 400.
// The answer names the problem plainly; the log keeps the network error.
func (s *Server) readFailed(err error) ingest.Answer {
	var tooLarge *http.MaxBytesError
	var a ingest.Answer
	switch {
	case errors.As(err, &tooLarge):
		return ingest.Refuse(ingest.TooLarge, http.StatusRequestEntityTooLarge, errTooLarge(s.opts.MaxBodyBytes))
	case errors.Is(err, os.ErrDeadlineExceeded):
		a = ingest.Refuse(ingest.Timeout, http.StatusRequestTimeout, errors.New("body not received in time: send it at once, after the headers"))
	case errors.Is(err, io.ErrUnexpectedEOF):
		a = ingest.Refuse(ingest.BadRequest, http.StatusBadRequest, errors.New("body shorter than its Content-Length"))
	default:
		a = ingest.Refuse(ingest.BadRequest, http.StatusBadRequest, errors.New("body could not be read"))
	}
	a.Cause = err
	return a
}
