package telemetry

import "go.temporal.io/sdk/client"

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
// call itself (temporal_request_total) and its latency included.
type duplicateStarts struct {
	client.MetricsHandler
	// The tags set so far on this handler: the SDK sets the operation
	// first, then adds the status code when the call failed.
	operation, code string
}

// WithTags returns the wrapped handler with tags, remembering the
// operation and status code.
func (h duplicateStarts) WithTags(tags map[string]string) client.MetricsHandler {
	next := duplicateStarts{MetricsHandler: h.MetricsHandler.WithTags(tags), operation: h.operation, code: h.code}
	if v, ok := tags[sdkOperationTag]; ok {
		next.operation = v
	}
	if v, ok := tags[sdkStatusCodeTag]; ok {
		next.code = v
	}
	return next
}

// Counter is the wrapped handler's counter, or one that counts nothing for
// the failure of a duplicate start.
func (h duplicateStarts) Counter(name string) client.MetricsCounter {
	if (name == sdkRequestFailure || name == sdkRequestFailureAttempt) &&
		h.operation == "StartWorkflowExecution" && h.code == "ALREADY_EXISTS" {
		return client.MetricsNopHandler.Counter(name)
	}
	return h.MetricsHandler.Counter(name)
}

// Unwrap returns the wrapped handler (the SDK's convention for wrappers).
func (h duplicateStarts) Unwrap() client.MetricsHandler { return h.MetricsHandler }
