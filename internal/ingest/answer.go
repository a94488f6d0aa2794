// Package ingest decides what becomes of a webhook delivery: the typed
// outcome (started, duplicate, ignored, rejected, unavailable, bad
// request…) and the answer that goes with it: status code, JSON body,
// whether Svix should retry. The HTTP handler (package httpapi) and
// mediaflowctl's redrive (package app) both decide through it, so a
// delivery and a re-driven dead letter are answered the same way, and the
// outcome names that metrics and logs use are written here, once.
package ingest

import (
	"errors"
	"net/http"

	"github.com/mediaflow/mediaflow/internal/webhook"
)

// Outcome is what became of one delivery: the outcome label of the
// server's metrics, the outcome field of its log lines and the status
// field of its 200 and 422 answers.
type Outcome string

// The outcomes.
const (
	// Started: the workflow was started (200).
	Started Outcome = "started"
	// Duplicate: the event's run is running or completed (200, no new run).
	Duplicate Outcome = "duplicate"
	// Ignored: a verified event of a type mediaflow does not handle (200).
	Ignored Outcome = "ignored"
	// Unauthorized: the signature headers are missing or do not verify
	// (401, with a Reason).
	Unauthorized Outcome = "unauthorized"
	// BadRequest: a body or header that can never be accepted (400), or
	// an explicit non-JSON type or a content coding (415).
	BadRequest Outcome = "bad_request"
	// TooLarge: a body over MAX_BODY_BYTES (413).
	TooLarge Outcome = "too_large"
	// Timeout: the body did not arrive in time (408).
	Timeout Outcome = "timeout"
	// RateLimited: a verified delivery over RATE_LIMIT_RPS (429).
	RateLimited Outcome = "rate_limited"
	// Unavailable: not handed to Temporal, retry later (503).
	Unavailable Outcome = "unavailable"
	// Rejected: Temporal refused the start for a reason that retrying
	// the same start cannot remove; the event is kept as a dead letter
	// (422).
	Rejected Outcome = "rejected"
)

// Outcomes lists every outcome, in the order metrics export them.
var Outcomes = []Outcome{Started, Duplicate, Ignored, Unauthorized, BadRequest, TooLarge, Timeout, RateLimited, Unavailable, Rejected}

// Reason says why a request is Unauthorized: the reason label of
// mediaflow_webhook_unauthorized_total and the reason field of the log
// lines. Unsigned requests carry no complete set of signature headers:
// outside traffic, never a delivery Svix signed with another secret, which
// fails with ReasonSignature (or ReasonTimestamp when a clock is off).
type Reason string

// The reasons.
const (
	ReasonUnsigned  Reason = "unsigned"
	ReasonTimestamp Reason = "timestamp"
	ReasonSignature Reason = "signature"
)

// Reasons lists every reason.
var Reasons = []Reason{ReasonUnsigned, ReasonTimestamp, ReasonSignature}

// RetryAfter is the Retry-After value, in seconds, of a 429 or 503.
const RetryAfter = "5"

// Answer is what to tell the sender of one delivery, and what to log.
type Answer struct {
	Outcome Outcome
	// Code is the HTTP status.
	Code int
	// Problem is what the body's "error" says; "" when there is none.
	Problem string
	// Reason classifies an Unauthorized answer.
	Reason Reason
	// Verified is true once the signature matched.
	Verified bool
	// Abort says the refusal is final: a verified delivery that no retry
	// can make acceptable (the same signed bytes would be refused again).
	// Svix stops retrying a message answered with the header
	// "webhook-delivery: abort-message".
	Abort bool
	// Cause is logged, never sent: the network or Temporal error behind
	// the answer. It never holds a secret.
	Cause error
	// EventID, EventType and JobID are what the delivery says, as far as
	// it was read.
	EventID, EventType, JobID string
	// RunID is the run started (Started) or found (Duplicate).
	RunID string
	// Refusal is Temporal's reason of a Rejected start; DeadLetter is the
	// blob key of the letter that keeps the event.
	Refusal, DeadLetter string
}

// Refuse returns a with outcome o, code and err as the problem (and the
// cause logged).
func (a Answer) Refuse(o Outcome, code int, err error) Answer {
	a.Outcome, a.Code, a.Problem, a.Cause = o, code, err.Error(), err
	return a
}

// Refuse is Answer{}.Refuse: an answer given before verification.
func Refuse(o Outcome, code int, err error) Answer {
	return Answer{}.Refuse(o, code, err)
}

// Unverified answers a delivery that failed verification (err from
// webhook.Verifier.Verify): 401 naming the problem, with its Reason.
func Unverified(err error) Answer {
	a := Refuse(Unauthorized, http.StatusUnauthorized, err)
	switch {
	case errors.Is(err, webhook.ErrMissingHeaders):
		a.Reason = ReasonUnsigned
	case errors.Is(err, webhook.ErrTimestamp):
		a.Reason = ReasonTimestamp
	default:
		a.Reason = ReasonSignature
	}
	return a
}

// Body is the answer's JSON body:
//
//	started, duplicate: {"status", "event_id", "workflow_id", "run_id"}
//	ignored:            {"status", "event_id", "event_type"}
//	rejected:           {"status", "event_id", "error", "reason", "dead_letter"}
//	anything else:      {"error"}
func (a Answer) Body() map[string]any {
	switch a.Outcome {
	case Started, Duplicate:
		return map[string]any{"status": a.Outcome, "event_id": a.EventID, "workflow_id": a.EventID, "run_id": a.RunID}
	case Ignored:
		return map[string]any{"status": a.Outcome, "event_id": a.EventID, "event_type": a.EventType}
	case Rejected:
		return map[string]any{"status": a.Outcome, "event_id": a.EventID, "error": a.Problem, "reason": a.Refusal, "dead_letter": a.DeadLetter}
	}
	return map[string]any{"error": a.Problem}
}

// SetHeaders sets the answer's headers on h: Retry-After on a 429 or 503,
// "webhook-delivery: abort-message" on a final refusal (Abort).
func (a Answer) SetHeaders(h http.Header) {
	if a.Code == http.StatusTooManyRequests || a.Code == http.StatusServiceUnavailable {
		h.Set("Retry-After", RetryAfter)
	}
	if a.Final() {
		h.Set("Webhook-Delivery", "abort-message")
	}
}

// Final reports whether Svix is told to stop retrying: an Abort answer to
// a verified delivery, a 4xx other than 401, 408 and 429, which a later
// attempt may change (a rotated secret, a faster network, a lower rate).
func (a Answer) Final() bool {
	switch a.Code {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return a.Abort && a.Verified && a.Code >= 400 && a.Code < 500
}
