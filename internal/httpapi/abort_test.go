package httpapi

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// TestFinalRefusalsTellSvixToStop: a refusal of a verified delivery that
// no retry can change carries "webhook-delivery: abort-message", so Svix
// stops retrying that message; every other answer, refusals that a later
// attempt may change included (401, 408, 413, 415, 422, 429, 503), does
// not.
func TestFinalRefusalsTellSvixToStop(t *testing.T) {
	s, _ := newServer(t, &scriptedStarter{}, func(o *Options) {
		o.MaxBodyBytes = 1 << 10
		o.DeadLetters = &memoryLetters{}
		// Every verified delivery below but the last passes.
		o.Limiter = rate.NewLimiter(rate.Every(time.Hour), 10)
	})
	url := serveHTTP(t, s, func(srv *http.Server) { srv.ReadTimeout = time.Second })
	success := sample(t, "success")
	job := func(id string) []byte {
		return []byte(`{"event_type":"media.completed","data":{"job_id":"` + id + `","status":"completed"}}`)
	}
	big := append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 2<<10)...), `"}`...)
	gzip := signed(t, "msg_gz", success)
	gzip.Set("Content-Encoding", "gzip")

	for _, tc := range []struct {
		name    string
		id      string // signs the body; "" sends no signature
		body    []byte
		headers http.Header // instead of a signature
		slow    bool
		code    int
		final   bool
	}{
		{name: "verified, not JSON", id: "msg_nojson", body: []byte("not json"), code: 400, final: true},
		{name: "verified, no job_id", id: "msg_nojob", body: []byte(`{"event_type":"media.completed","data":{}}`), code: 400, final: true},
		{name: "verified, event ID not ASCII", id: "msg_café", body: success, code: 400, final: true},
		{name: "verified, event ID of 256 bytes", id: "msg_" + strings.Repeat("x", 252), body: success, code: 400, final: true},
		{name: "verified, job_id not ASCII", id: "msg_jobid", body: job("café"), code: 400, final: true},
		{name: "started", id: "msg_new", body: success, code: 200},
		{name: "duplicate", id: "msg_dup", body: success, code: 200},
		{name: "ignored", id: "msg_other", body: sample(t, "unknown"), code: 200},
		{name: "unsigned", body: []byte("not json"), headers: http.Header{}, code: 401},
		{name: "signed with another secret", body: success, headers: signed(t, "msg_x", append([]byte(" "), success...)), code: 401},
		{name: "body over the limit", id: "msg_big", body: big, code: 413},
		{name: "content encoding", body: success, headers: gzip, code: 415},
		{name: "body too slow", id: "msg_slow", body: success, slow: true, code: 408},
		{name: "temporal down", id: "msg_down", body: success, code: 503},
		{name: "temporal refuses, kept", id: "msg_refused", body: success, code: 422},
		{name: "rate limited", id: "msg_more", body: success, code: 429},
	} {
		h := tc.headers
		if h == nil {
			h = signed(t, tc.id, tc.body)
		}
		part := tc.body
		if tc.slow { // half, and the rest never
			part = part[:len(part)/2]
		}
		code, got, _ := sendPartial(t, url, h, len(tc.body), part)
		require.Equal(t, tc.code, code, tc.name)
		if tc.final {
			require.Equal(t, "abort-message", got.Get("Webhook-Delivery"), tc.name)
		} else {
			require.Empty(t, got.Values("Webhook-Delivery"), tc.name)
		}
		if tc.code == 429 || tc.code == 503 {
			require.NotEmpty(t, got.Get("Retry-After"), tc.name)
		}
	}
}
