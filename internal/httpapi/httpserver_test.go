package httpapi

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServerErrorsAreStructuredAndBounded: a flood of connections that
// fail the TLS handshake gives structured WARN lines (component=net/http),
// at most the budget's, and one "suppressed" line counting the rest:
// every failed handshake is a line or in a count.
func TestServerErrorsAreStructuredAndBounded(t *testing.T) {
	logs := &lockedBuffer{}
	const every = 100 * time.Millisecond // the summary lines come sooner
	srv := httpServer("", http.NotFoundHandler(), slog.New(slog.NewTextHandler(logs, nil)), every)
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = srv
	ts.TLS = srv.TLSConfig
	ts.StartTLS()
	defer ts.Close()

	const attempts = 200
	began := time.Now()
	for range attempts {
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		require.NoError(t, err)
		conn.Write([]byte("\x00\x01\x02\x03 not a TLS record"))
		conn.Close()
	}
	var lines, summaries int
	require.Eventually(t, func() bool {
		var accounted int
		lines, summaries, accounted = countLines(t, logs.String(), "component=net/http")
		return accounted == attempts
	}, 30*time.Second, 20*time.Millisecond, "every failed handshake is counted:\n%s", logs)
	elapsed := time.Since(began)
	require.LessOrEqual(t, lines, linesBurst+int(linesPerSecond*elapsed.Seconds())+1)
	require.LessOrEqual(t, summaries, int(elapsed/every)+1)
	for line := range strings.Lines(logs.String()) {
		require.Contains(t, line, "level=WARN")
		require.Contains(t, line, "component=net/http")
	}
	require.Contains(t, logs.String(), `msg="http: TLS handshake error from 127.0.0.1:`)
	require.Contains(t, logs.String(), `msg="net/http lines suppressed" component=net/http suppressed=`)
}

// countLines returns, among the log lines holding match, how many are
// request lines and how many are summaries, and the number of requests
// they account for (one per request line, suppressed=N per summary).
func countLines(t *testing.T, logs, match string) (lines, summaries, accounted int) {
	t.Helper()
	for line := range strings.Lines(logs) {
		if !strings.Contains(line, match) {
			continue
		}
		_, n, ok := strings.Cut(line, "suppressed=")
		if !ok {
			lines++
			accounted++
			continue
		}
		summaries++
		n, _, _ = strings.Cut(n, " ")
		v, err := strconv.Atoi(n)
		require.NoError(t, err, line)
		accounted += v
	}
	return lines, summaries, accounted
}
