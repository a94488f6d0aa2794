package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/mediaflow/mediaflow/internal/ingest"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

// flood sends unsigned POST {} to url from workers goroutines until ctx is
// done, counting the answers it got.
func flood(ctx context.Context, url string, workers int, sent *atomic.Int64) *sync.WaitGroup {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("{}"))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue // cancelled at the end
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				sent.Add(1)
			}
		})
	}
	return &wg
}

// TestUnsignedFloodLeavesDeliveriesAlone: while many goroutines send
// unsigned requests, signed deliveries keep arriving; the rate limit has
// room for exactly those deliveries, so one flood request taking a token
// would get a delivery refused. Every delivery is answered 200, the log
// stays bounded whatever the size of the flood, and every flood request
// is counted: in the metrics, and in the log as a line or in a
// "suppressed" count.
func TestUnsignedFloodLeavesDeliveriesAlone(t *testing.T) {
	const deliveries = 20
	const perDelivery = 50 // flood requests between two deliveries
	starter := &fakeStarter{}
	s, logs := newServer(t, starter, func(o *Options) {
		o.Limiter = rate.NewLimiter(rate.Every(time.Hour), deliveries)
	})
	for _, b := range s.unverified {
		b.every = 100 * time.Millisecond // the summary lines come sooner
	}
	url := serveHTTP(t, s, nil)

	ctx, stop := context.WithCancel(t.Context())
	var sent atomic.Int64
	began := time.Now()
	wg := flood(ctx, url, 16, &sent)
	body := sample(t, "success")
	for i := range deliveries {
		// Steady arrivals, counted in flood requests rather than time.
		require.Eventually(t, func() bool { return sent.Load() >= int64(i+1)*perDelivery }, time.Minute, time.Millisecond)
		resp := postSigned(t, url, fmt.Sprintf("msg_%d", i), body)
		require.Equal(t, 200, resp.StatusCode, "delivery %d during the flood", i)
	}
	// A delivery signed with another secret, as after a one-sided
	// rotation: its line has a budget of its own, the flood's does not
	// hide it.
	wrong, err := webhook.Sign("whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==", "msg_wrong", time.Now(), body)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header = wrong
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 401, resp.StatusCode)
	stop()
	wg.Wait()
	elapsed := time.Since(began)
	require.Equal(t, deliveries, starter.count())

	// Once the handlers of cancelled requests are done and the last
	// summary is out, every flood request is counted, in the metrics and
	// in the log (a line, or in a suppressed count).
	var lines, summaries int
	var unsigned float64
	require.Eventually(t, func() bool {
		var accounted int
		unsigned = testutil.ToFloat64(s.metrics.Unauthorized.WithLabelValues(string(ingest.ReasonUnsigned)))
		lines, summaries, accounted = countLines(t, logs.String(), "outcome=unauthorized reason=unsigned ")
		return float64(accounted) == unsigned
	}, 10*time.Second, 10*time.Millisecond, "log lines and suppressed counts for %v requests:\n%s", unsigned, logs)
	require.GreaterOrEqual(t, unsigned, float64(sent.Load()))
	require.Equal(t, unsigned+1, testutil.ToFloat64(s.metrics.Requests.WithLabelValues(string(ingest.Unauthorized))), "the flood and the wrong secret")
	// The bound: the burst, the rate over the time taken, one summary per
	// period; delivery lines are not bounded (they are not outsiders').
	maxLines := linesBurst + int(linesPerSecond*elapsed.Seconds()) + 1
	require.LessOrEqual(t, lines, maxLines, "%v flood requests in %s", unsigned, elapsed)
	require.LessOrEqual(t, summaries, int(elapsed/(100*time.Millisecond))+2)
	require.Equal(t, deliveries, strings.Count(logs.String(), "outcome=started "), "every delivery is logged")
	require.Contains(t, logs.String(), "outcome=unauthorized reason=signature code=401")
}
