package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

// flakyReceiver is a notification receiver that is down (503, as a
// gateway in front of a stopped service answers) until up is called, and
// logs the time of every request it gets.
type flakyReceiver struct {
	mu    sync.Mutex
	upAt  time.Time
	times []time.Time
}

func (f *flakyReceiver) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	f.times = append(f.times, time.Now())
	down := f.upAt.IsZero()
	f.mu.Unlock()
	if down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *flakyReceiver) up() {
	f.mu.Lock()
	f.upAt = time.Now()
	f.mu.Unlock()
}

// perSecond counts the requests in each second of the receiver's log,
// from the first, and returns the counts and their maximum.
func (f *flakyReceiver) perSecond() (counts []int, most int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.times) == 0 {
		return nil, 0
	}
	times := append([]time.Time(nil), f.times...)
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for _, at := range times {
		s := int(at.Sub(times[0]) / time.Second)
		for len(counts) <= s {
			counts = append(counts, 0)
		}
		counts[s]++
		most = max(most, counts[s])
	}
	return counts, most
}

// TestReceiverOutageIsWaitedOut: 200 events arrive while the notification
// receiver is down for 3 minutes. Deliveries keep retrying (within the
// shipped DELIVERY_RETRY_WINDOW, a day) and every event completes once the
// receiver is back, without anyone acting; in every second of its log,
// before, during and after the outage, the receiver got at most
// NOTIFY_MAX_PER_SECOND requests, first attempts and retries together.
func TestReceiverOutageIsWaitedOut(t *testing.T) {
	t.Parallel()
	const (
		events    = 200
		outage    = 3 * time.Minute
		perSecond = 20
	)
	receiver := &flakyReceiver{}
	srv := httptest.NewServer(receiver)
	defer srv.Close()
	a := newApp(t, func(c *appConfig) {
		c.env["NOTIFY_URL"] = srv.URL
		c.env["NOTIFY_MAX_PER_SECOND"] = strconv.Itoa(perSecond)
	})
	start := time.Now()
	ids := make([]string, events)
	var g errgroup.Group
	g.SetLimit(16)
	for i := range ids {
		ids[i] = newEventID()
		g.Go(func() error {
			body := eventFor("job-outage-"+ids[i], "completed", "")
			if got := deliver(t, a.url, ids[i], body, secret); got.body["status"] != "started" {
				return fmt.Errorf("event %d: %v", i, got)
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())

	time.Sleep(time.Until(start.Add(outage)))
	receiver.up()
	for _, id := range ids {
		res, err := a.resultWithin(t, id, 5*time.Minute)
		require.NoError(t, err, "event %s", id)
		last := res.Steps[len(res.Steps)-1]
		require.Equal(t, "notify delivered", string(last.Step)+" "+string(last.Outcome), "%v", res.Steps)
	}
	counts, most := receiver.perSecond()
	t.Logf("receiver: %d requests in %d s, at most %d in a second; per second: %s", len(receiver.times), len(counts), most, fmtCounts(counts))
	require.LessOrEqual(t, most, perSecond, "NOTIFY_MAX_PER_SECOND held in every second")
	require.Greater(t, len(receiver.times), events, "retries during the outage")
}

func fmtCounts(counts []int) string {
	s := make([]string, len(counts))
	for i, n := range counts {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}
