package httpapi

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Bounds of the log lines that anyone can cause at will (a request that
// fails verification, a failed TLS handshake), per kind of line: a flood
// writes at most linesPerSecond lines a second after a burst of
// linesBurst, plus one summary line per suppressedEvery.
const (
	linesPerSecond  = 1
	linesBurst      = 10
	suppressedEvery = 10 * time.Second
)

// lineBudget bounds one kind of log line. The lines over the budget are
// dropped and counted; suppressedEvery after the first of them, one line
// at the same level says how many: msg "<msg> lines suppressed" with the
// kind's attributes and suppressed=N. Metrics still count every request.
type lineBudget struct {
	logger *slog.Logger
	level  slog.Level
	msg    string
	attrs  []any
	every  time.Duration
	lim    *rate.Limiter

	mu         sync.Mutex
	suppressed int
	reporting  bool // a summary is scheduled
}

func newLineBudget(logger *slog.Logger, level slog.Level, msg string, attrs ...any) *lineBudget {
	return &lineBudget{logger: logger, level: level, msg: msg, attrs: attrs, every: suppressedEvery,
		lim: rate.NewLimiter(linesPerSecond, linesBurst)}
}

// allow reports whether one more line may be written; when not, the line
// is counted for the summary. A nil budget allows every line.
func (b *lineBudget) allow() bool {
	if b == nil || b.lim.Allow() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.suppressed++
	if !b.reporting {
		b.reporting = true
		time.AfterFunc(b.every, b.report)
	}
	return false
}

func (b *lineBudget) report() {
	b.mu.Lock()
	n := b.suppressed
	b.suppressed, b.reporting = 0, false
	b.mu.Unlock()
	attrs := append(append([]any{}, b.attrs...), "suppressed", n, "within", b.every.String())
	b.logger.Log(context.Background(), b.level, b.msg+" lines suppressed", attrs...)
}

// budgetHandler is a slog.Handler that writes through inner only the
// records that budget allows: for loggers whose every line an outsider
// can cause, such as http.Server's ErrorLog.
type budgetHandler struct {
	inner  slog.Handler
	budget *lineBudget
}

func (h budgetHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h budgetHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.budget.allow() {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h budgetHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return budgetHandler{inner: h.inner.WithAttrs(attrs), budget: h.budget}
}

func (h budgetHandler) WithGroup(name string) slog.Handler {
	return budgetHandler{inner: h.inner.WithGroup(name), budget: h.budget}
}
