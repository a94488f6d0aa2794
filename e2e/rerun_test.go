package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/recovery"
)

// keyedReceiver is a notification receiver whose answer the test sets
// (503 while it is down, as a gateway in front of a stopped service
// answers; 400 when it is back but refuses what it gets; 204 when it
// works), and which counts the notices it took (2xx) per Idempotency-Key.
type keyedReceiver struct {
	mu       sync.Mutex
	status   int
	taken    map[string]int
	requests int
}

func newKeyedReceiver(status int) *keyedReceiver {
	return &keyedReceiver{status: status, taken: map[string]int{}}
}

func (k *keyedReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	status := k.status
	k.requests++
	if status/100 == 2 {
		k.taken[r.Header.Get("Idempotency-Key")]++
	}
	k.mu.Unlock()
	w.WriteHeader(status)
}

func (k *keyedReceiver) answer(status int) {
	k.mu.Lock()
	k.status = status
	k.mu.Unlock()
}

// took returns how many notices it took per key, and all its requests.
func (k *keyedReceiver) took() (map[string]int, int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string]int, len(k.taken))
	for key, n := range k.taken {
		out[key] = n
	}
	return out, k.requests
}

// receiverApp is an app whose NOTIFY_URL is a keyedReceiver answering
// status, with env's settings.
func receiverApp(t *testing.T, status int, env config.Environ) (*testApp, *keyedReceiver) {
	t.Helper()
	receiver := newKeyedReceiver(status)
	srv := httptest.NewServer(receiver)
	t.Cleanup(srv.Close)
	a := newApp(t, func(c *appConfig) {
		c.env["NOTIFY_URL"] = srv.URL
		maps.Copy(c.env, env)
	})
	return a, receiver
}

// newEventIDs returns n new event IDs.
func newEventIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newEventID()
	}
	return ids
}

// deliveredOnce waits for each event of ids to complete with its notice
// delivered, checks that the receiver took each notice once and no
// other, and returns how many requests it got.
func deliveredOnce(t *testing.T, a *testApp, receiver *keyedReceiver, ids []string) int {
	t.Helper()
	for _, id := range ids {
		res, err := a.result(t, id)
		require.NoError(t, err, "event %s", id)
		last := res.Steps[len(res.Steps)-1]
		require.Equal(t, "notify delivered", last.Step+" "+string(last.Outcome), "%v", res.Steps)
	}
	taken, requests := receiver.took()
	for _, id := range ids {
		require.Equal(t, 1, taken[id], "event %s's notice taken once", id)
	}
	require.Len(t, taken, len(ids))
	return requests
}

// newControl is mediaflowctl's Control on a's Temporal, task queue and
// blob store, as the command builds it.
func newControl(t *testing.T, a *testApp) *app.Control {
	t.Helper()
	cfg, err := config.LoadControl(a.env)
	require.NoError(t, err)
	c, err := app.NewControl(context.Background(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// failuresWhenVisible returns the failures that sel selects once there
// are want of them (a run shows in visibility shortly after it closes).
func failuresWhenVisible(t *testing.T, c *app.Control, sel recovery.Selection, want int, within time.Duration) []recovery.Failure {
	t.Helper()
	var got []recovery.Failure
	require.Eventually(t, func() bool {
		var err error
		got, err = c.Failures(context.Background(), sel)
		require.NoError(t, err)
		return len(got) == want
	}, within, 500*time.Millisecond, "want %d failures", want)
	return got
}

// sendEvents delivers one completed event per ID, each of a job of its
// own.
func sendEvents(t *testing.T, a *testApp, ids []string) {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(8)
	for _, id := range ids {
		g.Go(func() error {
			if got := deliver(t, a.url, id, eventFor("job-"+id, "completed", ""), secret); got.body["status"] != "started" {
				return fmt.Errorf("event %s: %v", id, got)
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
}

// TestFailedDeliveriesAreRerun is the outage that outlasts the delivery
// window (DELIVERY_RETRY_WINDOW, shortened to 30 s through its documented
// setting): the receiver answers 503 until the events' workflows have
// failed, each once its next attempt would not fit in the window. The dry run counts them exactly, all of one cause. The
// receiver comes back refusing what it gets (400): a re-run stops by
// itself once most of the re-runs that finished failed again. Then it
// works: a re-run interrupted after a few starts, run again, starts the
// rest, and a stale list of the same events starts nothing (each was
// re-run already). Every event completes, its notice taken once; a last
// re-run finds nothing to do.
func TestFailedDeliveriesAreRerun(t *testing.T) {
	t.Parallel()
	const events = 30
	a, receiver := receiverApp(t, http.StatusServiceUnavailable, config.Environ{"DELIVERY_RETRY_WINDOW": "30s"})
	ids := newEventIDs(events)
	sendEvents(t, a, ids)

	ctl := newControl(t, a)
	ctx := context.Background()
	sel := recovery.Selection{Since: 10 * time.Minute}
	failures := failuresWhenVisible(t, ctl, sel, events, 2*time.Minute)
	groups := recovery.Group(failures)
	require.Len(t, groups, 1, "%+v", groups)
	require.Equal(t, "Notify: RetryableHTTP, window ran out", groups[0].Cause)
	require.Equal(t, events, groups[0].Count)
	require.ElementsMatch(t, ids, eventIDs(failures))

	// Back, but refusing: the re-runs fail again at once.
	receiver.answer(http.StatusBadRequest)
	opts := recovery.RerunOptions{Rate: 2, MaxFailing: recovery.DefaultMaxFailing, MinFinished: recovery.DefaultMinFinished, Wait: recovery.DefaultRerunWait}
	sum := ctl.Rerun(ctx, failures, opts)
	t.Logf("refused by the receiver: %+v", sum)
	require.Contains(t, sum.Stopped, "failed again")
	require.Less(t, sum.Started, events, "stopped before the end")
	require.GreaterOrEqual(t, sum.FailedAgain, recovery.DefaultMinFinished)
	require.Zero(t, sum.Completed)
	require.Zero(t, sum.Running(), "waited for those started")

	// Each event still counts once, whatever its latest failure.
	failures = failuresWhenVisible(t, ctl, sel, events, 30*time.Second)
	causes := map[string]int{}
	for _, g := range recovery.Group(failures) {
		causes[g.Cause] = g.Count
	}
	require.Equal(t, map[string]int{"Notify: HTTPStatus": sum.Started, "Notify: RetryableHTTP, window ran out": events - sum.Started}, causes)

	// Working again. Interrupted after about a second…
	receiver.answer(http.StatusNoContent)
	stale := failures
	ictx, cancel := context.WithTimeout(ctx, 1200*time.Millisecond)
	sum = ctl.Rerun(ictx, failures, recovery.RerunOptions{Rate: 5, MaxFailing: recovery.DefaultMaxFailing, MinFinished: recovery.DefaultMinFinished, Wait: recovery.DefaultRerunWait})
	cancel()
	t.Logf("interrupted: %+v", sum)
	require.Equal(t, "interrupted", sum.Stopped)
	require.Positive(t, sum.Started)
	require.Less(t, sum.Started, events)
	first := sum.Started

	// …and run again: the rest.
	failures = failuresWhenVisible(t, ctl, sel, events-first, 30*time.Second)
	sum = ctl.Rerun(ctx, failures, recovery.RerunOptions{Rate: 20, MaxFailing: recovery.DefaultMaxFailing, MinFinished: recovery.DefaultMinFinished, Wait: recovery.DefaultRerunWait})
	t.Logf("run again: %+v", sum)
	require.Empty(t, sum.Stopped)
	require.Equal(t, events-first, sum.Started)
	require.Equal(t, events-first, sum.Completed)
	require.Zero(t, sum.FailedAgain+sum.Refused+sum.AlreadyRerun)

	// A stale list: every event was re-run already.
	sum = ctl.Rerun(ctx, stale, recovery.RerunOptions{Rate: 50, MaxFailing: recovery.DefaultMaxFailing, MinFinished: recovery.DefaultMinFinished})
	require.Equal(t, recovery.RerunCounts{Selected: events, AlreadyRerun: events}, sum.RerunCounts)

	requests := deliveredOnce(t, a, receiver, ids)
	t.Logf("receiver: %d requests, %d notices taken", requests, events)

	// Nothing left.
	failures, err := ctl.Failures(ctx, sel)
	require.NoError(t, err)
	require.Empty(t, failures)
	sum = ctl.Rerun(ctx, failures, opts)
	require.Equal(t, recovery.RerunCounts{}, sum.RerunCounts)
}

func eventIDs(failures []recovery.Failure) []string {
	ids := make([]string, len(failures))
	for i, f := range failures {
		ids[i] = f.EventID
	}
	return ids
}

// TestFailuresAreGroupedByCause: failures of several kinds, each grouped
// under its cause, the newest first, selected by cause, job and query;
// an event run again since, which completed, is no failure any more.
func TestFailuresAreGroupedByCause(t *testing.T) {
	t.Parallel()
	var fixed sync.Map // media paths that answer
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := fixed.Load(r.URL.Path); !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("video"))
	}))
	defer media.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	a := newApp(t, func(c *appConfig) {
		c.env["MEDIA_DIR"] = t.TempDir()
		c.env["MEDIA_ALLOWED_HOSTS"] = "127.0.0.1"
		c.env["ALERT_URL"] = down.URL
	})
	ctl := newControl(t, a)
	ctx := context.Background()

	send := func(job, status, mediaPath string) string {
		id := newEventID()
		url := ""
		if mediaPath != "" {
			url = media.URL + mediaPath
		}
		require.Equal(t, "started", deliver(t, a.url, id, eventFor(job, status, url), secret).body["status"])
		return id
	}
	failed := func(job, status, mediaPath string) string {
		id := send(job, status, mediaPath)
		_, err := a.result(t, id)
		require.Error(t, err)
		return id
	}
	// One after the other: their close times are in this order.
	fixedLater := failed("job-fixed", "completed", "/fixed.mp4")
	missing := failed("job-missing", "completed", "/missing.mp4")
	odd1 := failed("job-odd-1", "weird", "")
	// An alert that cannot be delivered retries for a day: ended by hand.
	stuck := send("job-stuck", "failed", "")
	odd2 := failed("job-odd-2", "weird", "")
	require.NoError(t, a.client.TerminateWorkflow(ctx, stuck, "", "receiver gone for good"))

	// The media host is fixed for one; it is run again, by query.
	fixed.Store("/fixed.mp4", true)
	rerun := failuresWhenVisible(t, ctl, recovery.Selection{Query: fmt.Sprintf(`WorkflowId = %q`, fixedLater)}, 1, 30*time.Second)
	sum := ctl.Rerun(ctx, rerun, recovery.RerunOptions{Rate: 10, MaxFailing: recovery.DefaultMaxFailing, MinFinished: recovery.DefaultMinFinished, Wait: recovery.DefaultRerunWait})
	require.Equal(t, recovery.RerunCounts{Selected: 1, Started: 1, Completed: 1}, sum.RerunCounts)

	all := failuresWhenVisible(t, ctl, recovery.Selection{}, 4, 30*time.Second)
	require.Equal(t, []string{stuck, odd2, odd1, missing}, eventIDs(all), "the newest first")
	groups := recovery.Group(all)
	require.Equal(t, []recovery.CauseGroup{
		{Cause: "UnknownJobStatus", Count: 2, Newest: all[1], Examples: []string{odd2, odd1}},
		{Cause: "terminated", Count: 1, Newest: all[0], Examples: []string{stuck}},
		{Cause: "DownloadMedia: HTTPStatus", Count: 1, Newest: all[3], Examples: []string{missing}},
	}, groups)
	require.Equal(t, "receiver gone for good", all[0].Message)
	require.Contains(t, all[3].Message, "404")

	for _, tc := range []struct {
		sel  recovery.Selection
		want []string
	}{
		{recovery.Selection{Causes: []string{"httpstatus"}}, []string{missing}},
		{recovery.Selection{Causes: []string{"DownloadMedia"}}, []string{missing}},
		{recovery.Selection{Causes: []string{"terminated", "UnknownJobStatus"}}, []string{stuck, odd2, odd1}},
		{recovery.Selection{JobID: "job-odd-1"}, []string{odd1}},
		{recovery.Selection{JobID: `job "odd-1" \`}, []string{}},
		{recovery.Selection{Since: time.Hour, Query: `AnimusJobStatus = "failed"`}, []string{stuck}},
	} {
		got, err := ctl.Failures(ctx, tc.sel)
		require.NoError(t, err)
		require.Equal(t, tc.want, eventIDs(got), "%+v", tc.sel)
	}
	_, err := ctl.Failures(ctx, recovery.Selection{Query: "NoSuchAttribute = 1"})
	require.ErrorContains(t, err, "NoSuchAttribute")
}
