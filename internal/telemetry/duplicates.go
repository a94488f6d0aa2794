package telemetry

import (
	"slices"
	"strconv"
	"sync"

	"go.temporal.io/sdk/client"
)

// The Temporal SDK's names and tags for its gRPC calls (counted per call,
// and per attempt with the _attempt suffix); the Prometheus exporter adds
// _total.
const (
	sdkRequestFailure        = "temporal_request_failure"
	sdkRequestFailureAttempt = "temporal_request_failure_attempt"
	sdkOperationTag          = "operation"
	sdkStatusCodeTag         = "status_code"
)

// duplicateStarts wraps the SDK's metrics handler so that a workflow
// start refused because its workflow ID exists (StartWorkflowExecution
// answered ALREADY_EXISTS) is not counted in temporal_request_failure.
// For mediaflow that answer is a duplicate delivery, handled (200) and
// counted in mediaflow_webhook_requests_total{outcome="duplicate"}; as a
// failure it would look like trouble to anyone watching the Temporal
// client. Every other call, tag and metric goes through unchanged, the
// call itself (temporal_request_total) and its latency included. Its
// handlers are kept, each with its instruments (taggedHandlers).
type duplicateStarts struct {
	client.MetricsHandler
	// The tags set so far on this handler: the SDK sets the operation
	// first, then adds the status code when the call failed.
	operation, code string
	// key names the tags set so far, in order; tagged holds the handlers
	// already built, shared by the whole tree (nil: none kept).
	key    string
	tagged *taggedHandlers
	// instruments holds this handler's counters, timers and gauges by
	// kind and name, once built (nil: built on each call).
	instruments *sync.Map
}

// instrument is the key of a handler's instruments: 'c', 't' or 'g', and
// the metric's name.
type instrument struct {
	kind byte
	name string
}

// kept is the handler's instrument of that kind and name, built by build
// the first time.
func kept[T any](h duplicateStarts, kind byte, name string, build func(string) T) T {
	if h.instruments == nil {
		return build(name)
	}
	key := instrument{kind, name}
	if v, ok := h.instruments.Load(key); ok {
		return v.(T)
	}
	v := build(name)
	h.instruments.Store(key, v)
	return v
}

// taggedHandlers keeps the handlers WithTags built, by key. The SDK tags
// its handler on every task and every gRPC call, always with the same few
// low-cardinality tags (namespace, task queue, workflow and activity
// type, operation, status code), and OpenTelemetry's handler builds a new
// attribute set each time, and looks its instrument up on each count: a
// sixth of the worker's allocations under load (BENCHMARKS.md). A kept
// handler keeps its instruments too. At most limit are kept; past that, a new tag set is
// built and not kept.
type taggedHandlers struct {
	mu    sync.RWMutex
	m     map[string]client.MetricsHandler // by key
	limit int
}

// maxTagged bounds the handlers kept: far more tag sets than the SDK
// makes (OpenTelemetry itself keeps at most 2,000 series a metric).
const maxTagged = 4096

// WithTags returns the wrapped handler with tags, remembering the
// operation and status code; the same tags on the same handler give the
// handler built the first time.
func (h duplicateStarts) WithTags(tags map[string]string) client.MetricsHandler {
	if h.tagged == nil {
		return h.withTags(tags, "")
	}
	var buf [256]byte
	key := tagKey(buf[:0], h.key, tags)
	h.tagged.mu.RLock()
	next, ok := h.tagged.m[string(key)]
	h.tagged.mu.RUnlock()
	if ok {
		return next
	}
	built := h.withTags(tags, string(key))
	h.tagged.mu.Lock()
	defer h.tagged.mu.Unlock()
	if next, ok := h.tagged.m[built.key]; ok {
		return next
	}
	if len(h.tagged.m) >= h.tagged.limit {
		return built
	}
	built.instruments = &sync.Map{}
	h.tagged.m[built.key] = built
	return built
}

func (h duplicateStarts) withTags(tags map[string]string, key string) duplicateStarts {
	next := duplicateStarts{MetricsHandler: h.MetricsHandler.WithTags(tags), operation: h.operation, code: h.code, key: key, tagged: h.tagged}
	if v, ok := tags[sdkOperationTag]; ok {
		next.operation = v
	}
	if v, ok := tags[sdkStatusCodeTag]; ok {
		next.code = v
	}
	return next
}

// tagKey appends to key parent's key followed by tags, sorted, each name
// and value prefixed with its length (so no value can pass for another).
func tagKey(key []byte, parent string, tags map[string]string) []byte {
	var buf [8]string // the SDK sets at most a few tags at once
	names := buf[:0]
	for k := range tags {
		names = append(names, k)
	}
	slices.Sort(names)
	key = append(append(key, parent...), '|')
	for _, k := range names {
		for _, s := range [2]string{k, tags[k]} {
			key = append(append(strconv.AppendInt(key, int64(len(s)), 10), ':'), s...)
		}
	}
	return key
}

// Counter is the wrapped handler's counter, or one that counts nothing for
// the failure of a duplicate start.
func (h duplicateStarts) Counter(name string) client.MetricsCounter {
	if (name == sdkRequestFailure || name == sdkRequestFailureAttempt) &&
		h.operation == "StartWorkflowExecution" && h.code == "ALREADY_EXISTS" {
		return client.MetricsNopHandler.Counter(name)
	}
	return kept(h, 'c', name, h.MetricsHandler.Counter)
}

// Timer is the wrapped handler's timer.
func (h duplicateStarts) Timer(name string) client.MetricsTimer {
	return kept(h, 't', name, h.MetricsHandler.Timer)
}

// Gauge is the wrapped handler's gauge.
func (h duplicateStarts) Gauge(name string) client.MetricsGauge {
	return kept(h, 'g', name, h.MetricsHandler.Gauge)
}

// Unwrap returns the wrapped handler (the SDK's convention for wrappers).
func (h duplicateStarts) Unwrap() client.MetricsHandler { return h.MetricsHandler }
