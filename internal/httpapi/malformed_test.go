package httpapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/ingest"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

// malformed is one bad request: a body and the headers to send with it.
type malformed struct {
	name     string
	body     []byte
	headers  http.Header
	method   string
	wantCode int
}

// TestMalformedRequests sends bad requests through a real http.Server
// configured as cmd/server's (HTTPServer): each gets its documented 4xx,
// never a 5xx, and starts nothing.
func TestMalformedRequests(t *testing.T) {
	starter := &fakeStarter{}
	url, logs := serveReal(t, starter)
	good := sample(t, "success")
	signedNow := func(body []byte) http.Header { return signed(t, "msg_bad", body) }
	with := func(h http.Header, kv ...string) http.Header {
		h = h.Clone()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				h.Del(kv[i])
			} else {
				h.Set(kv[i], kv[i+1])
			}
		}
		return h
	}
	event := func(data string) []byte { return []byte(`{"event_type":"media.completed","data":` + data + `}`) }
	goodSig := signedNow(good)
	old, _ := webhook.Sign(testSecret, "msg_bad", time.Now().Add(-time.Hour), good)
	future, _ := webhook.Sign(testSecret, "msg_bad", time.Now().Add(time.Hour), good)
	otherSecret, _ := webhook.Sign("whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==", "msg_bad", time.Now(), good)
	bomb := event(`{"job_id":"j","results":` + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + `}`)

	cases := []malformed{
		{name: "empty body, signed", body: []byte{}, headers: signedNow([]byte{}), wantCode: 400},
		{name: "empty body, unsigned", body: []byte{}, headers: http.Header{}, wantCode: 401},
		{name: "no signature headers", body: good, headers: http.Header{}, wantCode: 401},
		{name: "only svix-id", body: good, headers: with(http.Header{}, "svix-id", "msg_bad"), wantCode: 401},
		{name: "mixed svix and webhook headers", body: good, headers: http.Header{"Svix-Id": {"msg_bad"}, "Webhook-Timestamp": goodSig["Svix-Timestamp"], "Webhook-Signature": goodSig["Svix-Signature"]}, wantCode: 401},
		{name: "signature for another body", body: good, headers: signedNow([]byte(`{"event_type":"media.completed"}`)), wantCode: 401},
		{name: "signature for another event ID", body: good, headers: with(goodSig, "svix-id", "msg_other"), wantCode: 401},
		{name: "signature with another secret", body: good, headers: otherSecret, wantCode: 401},
		{name: "signature not base64", body: good, headers: with(goodSig, "svix-signature", "v1,!!!not-base64!!!"), wantCode: 401},
		{name: "signature without version", body: good, headers: with(goodSig, "svix-signature", strings.TrimPrefix(goodSig.Get("svix-signature"), "v1,")), wantCode: 401},
		{name: "many signatures, none right", body: good, headers: with(goodSig, "svix-signature", strings.Repeat("v1,bm90IGEgc2lnbmF0dXJl ", 2000)), wantCode: 401},
		{name: "timestamp not a number", body: good, headers: with(goodSig, "svix-timestamp", "12abc"), wantCode: 401},
		{name: "timestamp negative", body: good, headers: with(goodSig, "svix-timestamp", "-1"), wantCode: 401},
		{name: "timestamp overflows int64", body: good, headers: with(goodSig, "svix-timestamp", "99999999999999999999999"), wantCode: 401},
		{name: "timestamp an hour old", body: good, headers: old, wantCode: 401},
		{name: "timestamp an hour ahead", body: good, headers: future, wantCode: 401},
		{name: "timestamp in milliseconds", body: good, headers: with(goodSig, "svix-timestamp", strconv.FormatInt(time.Now().UnixMilli(), 10)), wantCode: 401},
		{name: "huge header", body: good, headers: with(goodSig, "X-Padding", strings.Repeat("a", 100<<10)), wantCode: 431},
		{name: "body over 1 MiB", body: bytes.Repeat([]byte("a"), 1<<20+1), headers: signedNow(bytes.Repeat([]byte("a"), 1<<20+1)), wantCode: 413},
		{name: "body over 1 MiB, unsigned", body: bytes.Repeat([]byte("a"), 2<<20), headers: http.Header{}, wantCode: 413},
		{name: "not JSON", body: []byte("hello"), headers: signedNow([]byte("hello")), wantCode: 400},
		{name: "invalid UTF-8", body: []byte("{\"event_type\":\"media.completed\xff\xfe\"}"), headers: signedNow([]byte("{\"event_type\":\"media.completed\xff\xfe\"}")), wantCode: 400},
		{name: "JSON array", body: []byte(`[1,2,3]`), headers: signedNow([]byte(`[1,2,3]`)), wantCode: 400},
		{name: "JSON string", body: []byte(`"media.completed"`), headers: signedNow([]byte(`"media.completed"`)), wantCode: 400},
		{name: "truncated JSON", body: good[:len(good)/2], headers: signedNow(good[:len(good)/2]), wantCode: 400},
		{name: "trailing garbage", body: append(append([]byte{}, good...), "}}"...), headers: signedNow(append(append([]byte{}, good...), "}}"...)), wantCode: 400},
		{name: "duplicate keys", body: event(`{"job_id":"a","job_id":"b"}`), headers: signedNow(event(`{"job_id":"a","job_id":"b"}`)), wantCode: 400},
		{name: "duplicate event_type", body: []byte(`{"event_type":"x","event_type":"media.completed","data":{"job_id":"a"}}`), headers: signedNow([]byte(`{"event_type":"x","event_type":"media.completed","data":{"job_id":"a"}}`)), wantCode: 400},
		{name: "nested depth bomb", body: bomb, headers: signedNow(bomb), wantCode: 400},
		{name: "no event_type", body: []byte(`{"data":{"job_id":"a"}}`), headers: signedNow([]byte(`{"data":{"job_id":"a"}}`)), wantCode: 400},
		{name: "data not an object", body: event(`[]`), headers: signedNow(event(`[]`)), wantCode: 400},
		{name: "no job_id", body: event(`{"status":"completed"}`), headers: signedNow(event(`{"status":"completed"}`)), wantCode: 400},
		{name: "job_id null", body: event(`{"job_id":null}`), headers: signedNow(event(`{"job_id":null}`)), wantCode: 400},
		{name: "job_id a number", body: event(`{"job_id":12}`), headers: signedNow(event(`{"job_id":12}`)), wantCode: 400},
		{name: "job_id too long", body: event(`{"job_id":"` + strings.Repeat("j", 300) + `"}`), headers: signedNow(event(`{"job_id":"` + strings.Repeat("j", 300) + `"}`)), wantCode: 400},
		{name: "event ID too long", body: good, headers: signed(t, "msg_"+strings.Repeat("x", 300), good), wantCode: 400},
		{name: "wrong content type", body: good, headers: with(goodSig, "Content-Type", "text/plain"), wantCode: 415},
		{name: "form content type", body: good, headers: with(goodSig, "Content-Type", "application/x-www-form-urlencoded"), wantCode: 415},
		{name: "GET", body: nil, headers: goodSig, method: http.MethodGet, wantCode: 405},
		{name: "PUT", body: good, headers: goodSig, method: http.MethodPut, wantCode: 405},
	}
	require.GreaterOrEqual(t, len(cases), 30)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, url, bytes.NewReader(tc.body))
			require.NoError(t, err)
			req.Header = tc.headers.Clone()
			if req.Header == nil {
				req.Header = http.Header{}
			}
			if req.Header.Get("Content-Type") == "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.wantCode, resp.StatusCode, "body %s", raw)
			if resp.StatusCode != 431 { // written by net/http before any handler
				require.Contains(t, string(raw), `"error"`, "a JSON body naming the problem")
			}
		})
	}

	t.Run("truncated body, connection closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(url, WebhookPath), "http://"))
		require.NoError(t, err)
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", WebhookPath, len(good))
		for k, v := range goodSig {
			fmt.Fprintf(conn, "%s: %s\r\n", k, v[0])
		}
		fmt.Fprintf(conn, "\r\n%s", good[:len(good)/2])
		conn.(*net.TCPConn).CloseWrite()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil { // the server may answer or just close
			require.Less(t, resp.StatusCode, 500)
			resp.Body.Close()
		}
	})

	require.Zero(t, starter.count(), "no malformed request starts a workflow")
	require.NotContains(t, logs.String(), "level=ERROR")
}

// serveReal serves a Server for starter on 127.0.0.1 through HTTPServer,
// as cmd/server does, and returns the webhook URL and the server's log.
func serveReal(t *testing.T, starter ingest.Starter, configure ...func(*Options)) (string, *lockedBuffer) {
	t.Helper()
	s, logs := newServer(t, starter, configure...)
	return serveHTTP(t, s, nil), logs
}

// serveHTTP serves s on 127.0.0.1 through HTTPServer with s's logger, after
// tune (when not nil) has changed the http.Server, and returns the webhook
// URL.
func serveHTTP(t *testing.T, s *Server, tune func(*http.Server)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := HTTPServer(l.Addr().String(), s, s.opts.Logger)
	if tune != nil {
		tune(srv)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + WebhookPath
}
