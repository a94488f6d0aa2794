package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

// NotifyTimeout bounds one notification or alert POST.
const NotifyTimeout = 10 * time.Second

// Notice is the JSON summary POSTed to NOTIFY_URL (a job that completed)
// and ALERT_URL (a job that failed). Text makes it readable by a
// Slack-style incoming webhook as it is.
type Notice struct {
	// Type is "mediaflow.job.completed" or "mediaflow.job.failed".
	Type    string `json:"type"`
	EventID string `json:"event_id"`
	JobID   string `json:"job_id"`
	// Status is the job's status: "completed" or "failed".
	Status mediaflow.JobStatus `json:"status"`
	// Error is the job's error as Animus sent it (failed jobs).
	Error json.RawMessage `json:"error,omitempty"`
	// MediaURL is the job's media_url; Media where it was saved, if it was.
	MediaURL string `json:"media_url,omitempty"`
	Media    *Media `json:"media,omitempty"`
	// CustomPayload is the caller's own JSON, untouched.
	CustomPayload json.RawMessage `json:"custom_payload,omitempty"`
	// EventTimestamp is the event's envelope timestamp as sent: receivers
	// order notices for one job by it.
	EventTimestamp string `json:"event_timestamp,omitempty"`
	Text           string `json:"text"`
	// IfCurrent marks the notice of an event: its POST is skipped (Stale)
	// when the job's row holds another, newer event by then, and
	// (DeliveredBy) when the same outcome of the job (status and event
	// timestamp) was delivered to the receiver before, under this event ID
	// or another. Not sent.
	IfCurrent bool `json:"if_current,omitempty"`
}

// Delivery is what Notify or Alert did: Skipped when its URL is not set,
// Stale (naming the newer event) when the notice was IfCurrent and the
// job's row holds a newer event, DeliveredBy (naming the event that
// carried it) when the job database says this outcome of the job was
// delivered to this receiver before, else the target's HTTP status.
type Delivery struct {
	Skipped      bool   `json:"skipped,omitempty"`
	Status       int    `json:"status,omitempty"`
	Stale        bool   `json:"stale,omitempty"`
	NewerEventID string `json:"newer_event_id,omitempty"`
	DeliveredBy  string `json:"delivered_by,omitempty"`
}

// Notify POSTs n to NOTIFY_URL (skipped when unset). See post for headers,
// retries and errors.
func (a *Activities) Notify(ctx context.Context, n Notice) (Delivery, error) {
	return a.post(ctx, a.NotifyURL, mediaflow.StepNotify, "notifying", n)
}

// Alert POSTs n to ALERT_URL (skipped when unset). See post for headers,
// retries and errors.
func (a *Activities) Alert(ctx context.Context, n Notice) (Delivery, error) {
	return a.post(ctx, a.AlertURL, mediaflow.StepAlert, "alerting", n)
}

// post sends n as JSON to target (the receiver named receiver) with
// Idempotency-Key: <event ID>, the same on every attempt, so a target that
// deduplicates sees each event once however often the activity runs; with
// NotifySecret it adds Standard Webhooks signature headers (webhook-id =
// event ID). An event's notice (IfCurrent) is sent once per outcome of its
// job, for as long as the job database keeps the job: a delivered one is
// recorded there (after the 2xx: at least once), and a resend of the event
// after Temporal's retention, or the same outcome under another event ID,
// finds it and sends nothing. The outcome is claimed in the job database
// before the POST: a second event ID of the same outcome handled while the
// first's POST is under way gets a retryable DeliveryBusy error, and its
// retry finds the outcome delivered (or, the POST failed, sends it). Each
// attempt is bounded by NotifyTimeout.
// Network errors, 408, 429 and 5xx are retryable (after Retry-After); any
// other non-2xx answer, a redirect included, is a non-retryable
// HTTPStatus error. Every attempt is counted in Deliveries.
func (a *Activities) post(ctx context.Context, target, receiver, what string, n Notice) (Delivery, error) {
	if target == "" {
		return Delivery{Skipped: true}, nil
	}
	var memo store.Delivery
	if n.IfCurrent && a.Store != nil {
		// Checked right before the POST, so that a notice of an event that a
		// newer one overtook while this one downloaded is not sent after the
		// newer event's own notice.
		current, err := a.Store.CurrentEvent(ctx, n.JobID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Delivery{}, fmt.Errorf("%s: %w", what, err)
		}
		if err == nil && current != n.EventID {
			return Delivery{Stale: true, NewerEventID: current}, nil
		}
		memo = store.Delivery{JobID: n.JobID, Receiver: receiver, Status: n.Status, Outcome: outcomeKey(n), EventID: n.EventID}
		if by, err := a.claim(ctx, what, memo); by != "" || err != nil {
			return Delivery{DeliveredBy: by}, err
		}
	}
	status, err := a.send(ctx, target, what, n)
	a.countDelivery(receiver, err)
	if err != nil {
		if memo.JobID != "" {
			// Another event of the outcome may send it now; a claim left
			// behind (the database down) lapses after deliveryLease.
			_ = a.Store.ReleaseDelivery(ctx, memo)
		}
		return Delivery{}, err
	}
	if memo.JobID != "" {
		memo.HTTPStatus = status
		if err := a.Store.RecordDelivery(ctx, memo); err != nil {
			// Retried: the receiver gets the notice again, with the same
			// Idempotency-Key.
			return Delivery{}, fmt.Errorf("%s: delivered (HTTP %d) but not recorded: %w", what, status, err)
		}
	}
	activity.GetLogger(ctx).Info("Delivered", "what", what, "status", status)
	return Delivery{Status: status}, nil
}

// deliveryLease is how long a claim to deliver an outcome holds while its
// event's POST is under way (one takes at most NotifyTimeout): past it,
// the claim's worker was lost, and another event of the outcome takes it.
const deliveryLease = time.Minute

// claim claims the delivery of memo's outcome for its event: by is the
// event that delivered it before (nothing to send), "" when memo's event
// holds the claim now (send it); a retryable DeliveryBusy error while
// another event's POST of the outcome is under way.
func (a *Activities) claim(ctx context.Context, what string, memo store.Delivery) (by string, err error) {
	held, err := a.Store.ClaimDelivery(ctx, memo)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	switch {
	case held.HTTPStatus != 0:
		return held.EventID, nil
	case held.EventID == memo.EventID:
		return "", nil
	case time.Since(held.At) > deliveryLease:
		took, err := a.Store.TakeOverDelivery(ctx, memo, held.EventID)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		if took {
			return "", nil
		}
	}
	return "", temporal.NewApplicationError(
		fmt.Sprintf("%s: event %s of the same job outcome is delivering it now", what, held.EventID), ErrTypeDeliveryBusy)
}

// outcomeKey names the outcome a notice reports, the same for every event
// that reports it: its event timestamp, as an instant when it parses
// (RFC 3339), else as sent; the event ID when it has none.
func outcomeKey(n Notice) string {
	if n.EventTimestamp == "" {
		return "event " + n.EventID
	}
	if t, err := time.Parse(time.RFC3339Nano, n.EventTimestamp); err == nil {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return n.EventTimestamp
}

// send POSTs n to target and returns the receiver's 2xx status.
func (a *Activities) send(ctx context.Context, target, what string, n Notice) (int, error) {
	n.IfCurrent = false
	body, err := json.Marshal(n)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, temporal.NewNonRetryableApplicationError(what+": the URL does not parse", ErrTypeInvalidURL, nil)
	}
	if a.NotifySecret != "" {
		h, err := webhook.Sign(a.NotifySecret, n.EventID, time.Now(), body)
		if err != nil {
			return 0, fmt.Errorf("%s: NOTIFY_SECRET: %w", what, err)
		}
		for _, name := range []string{"id", "timestamp", "signature"} {
			req.Header.Set("webhook-"+name, h.Get("svix-"+name))
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", n.EventID)
	req.Header.Set("User-Agent", "mediaflow")

	// A POST is not redirected: the target's URL is configuration.
	client := *a.httpClient()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, withoutURL(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return 0, statusError(what, resp)
	}
	return resp.StatusCode, nil
}

// countDelivery counts one delivery attempt to receiver in Deliveries:
// delivered, or failed (whatever the reason: an operator's alert fires on
// a receiver that fails and delivers nothing).
func (a *Activities) countDelivery(receiver string, err error) {
	if a.Deliveries == nil {
		return
	}
	result := "delivered"
	if err != nil {
		result = "failed"
	}
	a.Deliveries.WithLabelValues(receiver, result).Inc()
}
