package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/webhook"
)

// TestNeverAcceptableGetsAFinalAnswer: each kind of verified delivery that
// the parser, the Temporal client, Temporal or the job stores can never
// accept is answered 4xx at once, naming why, with
// "webhook-delivery: abort-message" so that Svix stops retrying it; it
// starts nothing. The server is the real one (internal/app) with its real
// Temporal client, against the dev server. What each kind did before:
//
//   - an event ID with a byte outside printable ASCII (not UTF-8, UTF-8
//     beyond ASCII, a tab, a C1 control): the Temporal client refuses it
//     before sending (the gRPC header temporal-resource-id carries the
//     workflow ID and takes printable ASCII only), so the answer was 503
//     on every attempt, for Svix's 28 hours;
//   - a job_id outside printable ASCII (U+0000 included): started, then
//     the workflow failed: telling the job's watch (animus-job-<job_id>)
//     is refused by the client the same way;
//   - a job_id or status of 256 bytes, or with U+0000: started, but on a
//     Temporal whose visibility store is PostgreSQL (make cluster's) never
//     findable: its history service retries the visibility write without
//     end ("value too long for type character varying(255)", "unsupported
//     Unicode escape sequence"); the dev server's SQLite takes them;
//   - U+0000 in data.job_id, data.status or data.media_url: started, then
//     the record step failed on a PostgreSQL job store (its text columns
//     refuse U+0000), retried until the workflow failed.
//
// (An event ID of 256 bytes, refused before too, times out on that
// Temporal: its current_executions table holds 255.)
//
// Refusals that a later attempt or an operator can change are not final:
// 401, 413 (MAX_BODY_BYTES can be raised), 415 (a proxy's doing).
func TestNeverAcceptableGetsAFinalAnswer(t *testing.T) {
	a := newApp(t)
	job := func(members string) []byte {
		return []byte(`{"event_type":"media.completed","timestamp":"2026-11-21T09:00:00Z","data":{` + members + `}}`)
	}
	ok := job(`"job_id":"job-ok","status":"completed"`)
	for _, tc := range []struct {
		name  string
		id    string
		body  []byte
		code  int
		why   string // part of the answer's error
		final bool
	}{
		{"event ID not UTF-8", "msg_\xff\xfe", ok, 400, "invalid event ID (svix-id): byte 4 is 0xff", true},
		{"event ID in UTF-8 beyond ASCII", "msg_café", ok, 400, "invalid event ID (svix-id): byte 7 is 0xc3", true},
		{"event ID with a tab", "msg_a\tb", ok, 400, "invalid event ID (svix-id): byte 5 is 0x09", true},
		{"event ID with a C1 control", "msg_\u0085", ok, 400, "invalid event ID (svix-id)", true},
		{"event ID with U+2028", "msg_\u2028", ok, 400, "invalid event ID (svix-id)", true},
		{"event ID of 256 bytes", "msg_" + strings.Repeat("x", 252), ok, 400, "longer than 255 bytes", true},
		{"job_id beyond ASCII", newEventID(), job(`"job_id":"café","status":"completed"`), 400, "data.job_id (its watch is the workflow animus-job-<job_id>)", true},
		{"job_id with U+0000", newEventID(), job(`"job_id":"j\u0000","status":"completed"`), 400, "data.job_id", true},
		{"job_id of 256 bytes", newEventID(), job(`"job_id":"` + strings.Repeat("j", 256) + `"`), 400, "data.job_id", true},
		{"status of 256 bytes", newEventID(), job(`"job_id":"j","status":"` + strings.Repeat("s", 256) + `"`), 400, "data.status is longer than 255 bytes", true},
		{"status with U+0000", newEventID(), job(`"job_id":"j","status":"completed\u0000"`), 400, "data.status holds U+0000", true},
		{"media_url with U+0000", newEventID(), job(`"job_id":"j","status":"completed","media_url":"https://m/a\u0000.mp4"`), 400, "data.media_url holds U+0000", true},
		{"body not UTF-8", newEventID(), job("\"job_id\":\"j\xff\""), 400, "not a JSON object", true},
		{"body with a lone surrogate", newEventID(), job(`"job_id":"j\ud800"`), 400, "invalid surrogate pair", true},
		{"body with a byte order mark", newEventID(), append([]byte("\xef\xbb\xbf"), ok...), 400, "not a JSON object", true},
		{"body in UTF-16", newEventID(), utf16(ok), 400, "not a JSON object", true},
		{"body nested past 10000", newEventID(), job(`"job_id":"j","results":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001)), 400, "exceeded max depth", true},
		{"body with a duplicate key", newEventID(), job(`"job_id":"j","job_id":"k"`), 400, "duplicate", true},
		{"body over MAX_BODY_BYTES", newEventID(), job(`"job_id":"j","results":"` + strings.Repeat("x", 1<<20) + `"`), 413, "larger than", false},
		{"body signed with another secret", newEventID(), ok, 401, "no matching signature", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sign := secret
			if tc.code == 401 {
				sign = "whsec_b3RoZXItc2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ="
			}
			code, h, body := deliverRaw(t, a.url, tc.id, tc.body, sign, nil)
			require.Equal(t, tc.code, code, "%s", body)
			var got map[string]string
			require.NoError(t, json.Unmarshal(body, &got), "%s", body)
			require.Contains(t, got["error"], tc.why)
			if tc.final {
				require.Equal(t, "abort-message", h.Get("Webhook-Delivery"))
			} else {
				require.Empty(t, h.Values("Webhook-Delivery"))
			}
		})
	}
	// Refused before verification, so never final: an encoded body.
	code, h, _ := deliverRaw(t, a.url, newEventID(), ok, secret, http.Header{"Content-Encoding": {"gzip"}})
	require.Equal(t, 415, code)
	require.Empty(t, h.Values("Webhook-Delivery"))

	require.Zero(t, sum(t, a.serverReg, "mediaflow_workflow_start_duration_seconds", nil), "no refused delivery reached Temporal")

	// What Temporal takes is started, and completes.
	for _, id := range []string{"msg_a b", "__temporal_" + newEventID(), "msg_" + strings.Repeat("x", 251)} {
		code, h, body := deliverRaw(t, a.url, id, ok, secret, nil)
		require.Equal(t, 200, code, "%q: %s", id, body)
		require.Empty(t, h.Values("Webhook-Delivery"))
		_, err := a.result(t, id)
		require.NoError(t, err, "%q", id)
	}
	// A timestamp that no text column holds is dropped, as a non-string
	// one is: the event is kept.
	id := newEventID()
	code, _, body := deliverRaw(t, a.url, id, []byte(`{"event_type":"media.completed","timestamp":"2026\u0000","data":{"job_id":"job-nul-ts","status":"completed"}}`), secret, nil)
	require.Equal(t, 200, code, "%s", body)
	res, err := a.result(t, id)
	require.NoError(t, err)
	require.Equal(t, "job-nul-ts", res.JobID)
}

// utf16 is b (ASCII) in UTF-16LE with its byte order mark.
func utf16(b []byte) []byte {
	out := []byte{0xff, 0xfe}
	for _, c := range b {
		out = append(out, c, 0)
	}
	return out
}

// deliverRaw sends body signed for event id with secret sign over a raw
// connection, the svix-id header written byte for byte as Svix (or a
// sender holding the secret) may send it, and extra headers; it returns
// the answer's code, headers and body.
func deliverRaw(t *testing.T, url, id string, body []byte, sign string, extra http.Header) (int, http.Header, []byte) {
	t.Helper()
	h, err := webhook.Sign(sign, id, time.Now(), body)
	require.NoError(t, err)
	for k, v := range extra {
		h[k] = v
	}
	addr := strings.TrimPrefix(url, "http://")
	path := addr[strings.Index(addr, "/"):]
	conn, err := net.Dial("tcp", strings.TrimSuffix(addr, path))
	require.NoError(t, err)
	defer conn.Close()
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST %s HTTP/1.1\r\nHost: mediaflow\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", path, len(body))
	for k, v := range h {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v[0])
	}
	req.WriteString("\r\n")
	req.Write(body)
	// Written aside: a server that refuses from the headers (413) answers
	// and closes before the body is all sent.
	go conn.Write(req.Bytes())
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out bytes.Buffer
	_, err = out.ReadFrom(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, out.Bytes()
}
