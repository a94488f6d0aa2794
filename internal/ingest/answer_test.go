package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/webhook"
)

// TestAbortOnlyFinalRefusals: "webhook-delivery: abort-message" goes only
// with a final refusal of a verified delivery; never with a 401, 408, 429
// or 503, nor before verification, whatever Abort says.
func TestAbortOnlyFinalRefusals(t *testing.T) {
	for _, tc := range []struct {
		a    Answer
		want bool
	}{
		{Answer{Verified: true, Abort: true, Code: 400}, true},
		{Answer{Verified: true, Abort: true, Code: 422}, true},
		{Answer{Verified: true, Code: 400}, false},
		{Answer{Abort: true, Code: 400}, false},
		{Answer{Abort: true, Code: 415}, false},
		{Answer{Verified: true, Abort: true, Code: 401}, false},
		{Answer{Verified: true, Abort: true, Code: 408}, false},
		{Answer{Verified: true, Abort: true, Code: 429}, false},
		{Answer{Verified: true, Abort: true, Code: 503}, false},
		{Answer{Verified: true, Abort: true, Code: 200}, false},
	} {
		h := http.Header{}
		tc.a.SetHeaders(h)
		require.Equal(t, tc.want, h.Get("Webhook-Delivery") == "abort-message", "%+v", tc.a)
		require.Equal(t, tc.a.Code == 429 || tc.a.Code == 503, h.Get("Retry-After") != "", "%+v", tc.a)
	}
}

func TestUnverifiedReasons(t *testing.T) {
	for err, want := range map[error]Reason{
		fmt.Errorf("%w: svix-id", webhook.ErrMissingHeaders): ReasonUnsigned,
		fmt.Errorf("%w: too old", webhook.ErrTimestamp):      ReasonTimestamp,
		webhook.ErrSignature:                                 ReasonSignature,
		errors.New("anything else"):                          ReasonSignature,
	} {
		a := Unverified(err)
		require.Equal(t, want, a.Reason)
		require.Equal(t, http.StatusUnauthorized, a.Code)
		require.Equal(t, map[string]any{"error": err.Error()}, a.Body())
	}
}

func TestBody(t *testing.T) {
	a := Answer{Outcome: Started, EventID: "msg_1", RunID: "r1", JobID: "j"}
	require.Equal(t, map[string]any{"status": Started, "event_id": "msg_1", "workflow_id": "msg_1", "run_id": "r1"}, a.Body())
	a = Answer{Outcome: Ignored, EventID: "msg_1", EventType: "media.progress"}
	require.Equal(t, map[string]any{"status": Ignored, "event_id": "msg_1", "event_type": "media.progress"}, a.Body())
	a = Answer{EventID: "msg_1"}.Refuse(Rejected, 422, errors.New("workflow not started"))
	a.Refusal, a.DeadLetter = "no mapping", "deadletters/msg_1.json"
	require.Equal(t, map[string]any{"status": Rejected, "event_id": "msg_1", "error": "workflow not started",
		"reason": "no mapping", "dead_letter": "deadletters/msg_1.json"}, a.Body())
}
