package httpapi

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/ingest"
)

// sendPartial writes a POST to the webhook route at url over a raw
// connection: headers h, written as they are (net/http's client would
// refuse some), with Content-Length: length, then only the bytes of part,
// and returns the answer read while the rest is still due: its code,
// headers and body.
func sendPartial(t *testing.T, url string, h http.Header, length int, part []byte) (int, http.Header, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "http://"), WebhookPath))
	require.NoError(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", WebhookPath, length)
	for k, v := range h {
		fmt.Fprintf(conn, "%s: %s\r\n", k, v[0])
	}
	fmt.Fprintf(conn, "\r\n%s", part)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(raw)
}

// TestSlowBodyIs408: a body still arriving when the http.Server's
// ReadTimeout passes is answered 408 with a plain reason (no socket
// addresses), counted as outcome timeout; it starts nothing. The real
// HTTPServer, its ReadTimeout shortened so the test does not wait 10 s.
func TestSlowBodyIs408(t *testing.T) {
	starter := &fakeStarter{}
	s, logs := newServer(t, starter)
	url := serveHTTP(t, s, func(srv *http.Server) { srv.ReadTimeout = 300 * time.Millisecond })
	body := sample(t, "success")

	code, _, raw := sendPartial(t, url, signed(t, "msg_slow", body), len(body), body[:len(body)/2])
	require.Equal(t, http.StatusRequestTimeout, code, raw)
	require.Contains(t, raw, `"error":"body not received in time`)
	for _, leak := range []string{"127.0.0.1", "tcp", "i/o timeout"} {
		require.NotContains(t, raw, leak, "the answer names the problem, not the socket")
	}
	require.Equal(t, 1.0, testutil.ToFloat64(s.metrics.Requests.WithLabelValues(string(ingest.Timeout))))
	require.Zero(t, testutil.ToFloat64(s.metrics.Requests.WithLabelValues(string(ingest.BadRequest))))
	require.Contains(t, logs.String(), "outcome=timeout code=408")
	require.Zero(t, starter.count())
}

// TestEncodedBodyIs415: a body sent with a content coding (gzip, br, …)
// is answered 415 naming the coding, with Accept-Encoding: identity, and
// before the body is read: the answer comes while the body is still
// unsent (were it read first, the answer would be a 408 after the read
// timeout). identity, the only coding Svix uses, is accepted.
func TestEncodedBodyIs415(t *testing.T) {
	starter := &fakeStarter{}
	s, _ := newServer(t, starter)
	url := serveHTTP(t, s, func(srv *http.Server) { srv.ReadTimeout = 5 * time.Second })
	body := sample(t, "success")

	for _, coding := range []string{"gzip", "br", "deflate", "identity, gzip", "x-custom"} {
		t.Run(coding, func(t *testing.T) {
			h := signed(t, "msg_gz", body)
			h.Set("Content-Encoding", coding)
			code, _, raw := sendPartial(t, url, h, len(body), nil)
			require.Equal(t, http.StatusUnsupportedMediaType, code, raw)
			require.Contains(t, raw, `content encoding \"`+strings.TrimPrefix(coding, "identity, ")+`\" is not supported`)
		})
	}
	t.Run("Accept-Encoding", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
		req.Header = signed(t, "msg_gz", body)
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
		require.Equal(t, "identity", resp.Header.Get("Accept-Encoding"))
	})
	require.Zero(t, starter.count())

	for _, coding := range []string{"identity", "IDENTITY", ""} {
		h := signed(t, "msg_plain", body)
		h.Set("Content-Encoding", coding)
		code, _, raw := sendPartial(t, url, h, len(body), body)
		require.Equal(t, http.StatusOK, code, "Content-Encoding %q: %s", coding, raw)
	}
}
