package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow"
)

// timedEvent is a media.completed body for jobID with the given status,
// envelope timestamp and media URL.
func timedEvent(jobID, status, timestamp, mediaURL string) []byte {
	b, _ := json.Marshal(map[string]any{
		"event_type": "media.completed",
		"timestamp":  timestamp,
		"data": map[string]any{"job_id": jobID, "status": status, "media_url": mediaURL,
			"error": "decoder crashed"},
	})
	return b
}

// noticeLog records every notice and alert, in the order they arrive.
type noticeLog struct {
	mu      sync.Mutex
	notices []map[string]any
}

func (l *noticeLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n map[string]any
	json.NewDecoder(r.Body).Decode(&n)
	l.mu.Lock()
	l.notices = append(l.notices, n)
	l.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (l *noticeLog) forJob(jobID string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, n := range l.notices {
		if n["job_id"] == jobID {
			out = append(out, n)
		}
	}
	return out
}

// stepsApp is an app with every optional step on: media from media, and
// notifications and alerts both to log.
func stepsApp(t *testing.T, media *httptest.Server, log *noticeLog, configure ...func(*appConfig)) *testApp {
	t.Helper()
	receiver := httptest.NewServer(log)
	t.Cleanup(receiver.Close)
	return newApp(t, append([]func(*appConfig){func(c *appConfig) {
		c.env["MEDIA_DIR"], c.env["NOTIFY_URL"], c.env["ALERT_URL"] = t.TempDir(), receiver.URL, receiver.URL
		c.env["MEDIA_ALLOWED_HOSTS"] = "127.0.0.1" // the media server
	}}, configure...)...)
}

// TestStaleEventCausesNoSideEffects: a failed event stamped 10:05 is
// handled first, then a completed event for the same job stamped 10:00.
// The older one is recorded as stale, naming the newer, and downloads
// nothing and notifies no one; the row keeps the failure.
func TestStaleEventCausesNoSideEffects(t *testing.T) {
	var mediaHits atomic.Int32
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mediaHits.Add(1)
		w.Write([]byte("frames"))
	}))
	defer media.Close()
	log := &noticeLog{}
	a := stepsApp(t, media, log)

	job := "job-stale-" + newEventID()
	failedID, completedID := newEventID(), newEventID()
	require.Equal(t, "started", deliver(t, a.url, failedID, timedEvent(job, "failed", "2026-11-20T10:05:00Z", media.URL+"/a.mp4"), secret).body["status"])
	res, err := a.result(t, failedID)
	require.NoError(t, err)
	require.False(t, res.Stale)

	require.Equal(t, "started", deliver(t, a.url, completedID, timedEvent(job, "completed", "2026-11-20T10:00:00Z", media.URL+"/a.mp4"), secret).body["status"])
	res, err = a.result(t, completedID)
	require.NoError(t, err)
	require.True(t, res.Stale)
	require.Equal(t, failedID, res.NewerEventID)
	require.Equal(t, []mediaflow.StepResult{{Step: mediaflow.StepRecord, Outcome: mediaflow.StepStale,
		Detail: "the job's row holds newer event " + failedID + ": no download, notification or alert"}}, res.Steps)

	require.Zero(t, mediaHits.Load(), "the stale event downloads nothing")
	notices := log.forJob(job)
	require.Len(t, notices, 1, "only the failure's alert")
	require.Equal(t, "mediaflow.job.failed", notices[0]["type"])
	require.Equal(t, "2026-11-20T10:05:00Z", notices[0]["event_timestamp"], "notices carry the event's timestamp")
	row, err := a.store.Job(t.Context(), job)
	require.NoError(t, err)
	require.Equal(t, failedID, row.EventID)
	require.Equal(t, mediaflow.JobFailed, row.Status)
}

// TestTwoEventsForOneJobAtOnce: a completed event (10:00, with media that
// is slow to download) and a failed one (10:05) for the same job are
// delivered together, for several jobs. Whatever the interleaving, the
// row ends with the newer event, and no notice of the older event reaches
// the receiver after the newer event's alert.
func TestTwoEventsForOneJobAtOnce(t *testing.T) {
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("frames"))
	}))
	defer media.Close()
	log := &noticeLog{}
	a := stepsApp(t, media, log)

	type pair struct{ job, older, newer string }
	var pairs []pair
	var wg sync.WaitGroup
	for range 6 {
		p := pair{job: "job-race-" + newEventID(), older: newEventID(), newer: newEventID()}
		pairs = append(pairs, p)
		wg.Go(func() {
			deliver(t, a.url, p.older, timedEvent(p.job, "completed", "2026-11-20T10:00:00Z", media.URL+"/a.mp4"), secret)
		})
		wg.Go(func() {
			deliver(t, a.url, p.newer, timedEvent(p.job, "failed", "2026-11-20T10:05:00Z", media.URL+"/a.mp4"), secret)
		})
	}
	wg.Wait()

	for _, p := range pairs {
		newer, err := a.result(t, p.newer)
		require.NoError(t, err)
		require.False(t, newer.Stale, "the newer event is never stale")
		older, err := a.result(t, p.older)
		require.NoError(t, err)
		if older.Stale {
			require.Equal(t, p.newer, older.NewerEventID)
		}
		row, err := a.store.Job(t.Context(), p.job)
		require.NoError(t, err)
		require.Equal(t, p.newer, row.EventID)
		require.Empty(t, row.MediaPath, "the older event's media is not paired with the newer event")

		var stamps []string
		for _, n := range log.forJob(p.job) {
			stamps = append(stamps, n["event_timestamp"].(string))
		}
		require.Contains(t, stamps, "2026-11-20T10:05:00Z", "the newer event's alert was sent")
		require.IsNonDecreasing(t, stamps, "job %s: notices in arrival order", p.job)
	}
}

// TestResendAfterFailureStartsNewRun: an event whose workflow failed (its
// media answered 404, not retried) runs again when Svix resends it, once
// the cause is fixed; concurrent resends give one run; once the workflow
// has completed, a resend is a duplicate.
func TestResendAfterFailureStartsNewRun(t *testing.T) {
	var gone atomic.Bool
	gone.Store(true)
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gone.Load() {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("frames"))
	}))
	defer media.Close()
	a := newApp(t, func(c *appConfig) { c.env["MEDIA_DIR"], c.env["MEDIA_ALLOWED_HOSTS"] = t.TempDir(), "127.0.0.1" })

	id := newEventID()
	body := timedEvent("job-resend-"+id, "completed", "2026-11-20T10:00:00Z", media.URL+"/a.mp4")
	first := deliver(t, a.url, id, body, secret)
	require.Equal(t, "started", first.body["status"])
	_, err := a.result(t, id)
	require.ErrorContains(t, err, "HTTP 404")

	gone.Store(false) // the media is back
	answers := make([]answer, 4)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() { answers[i] = deliver(t, a.url, id, body, secret) })
	}
	wg.Wait()
	started := 0
	for _, ans := range answers {
		require.Equal(t, 200, ans.code, "%v", ans.body)
		if ans.body["status"] == "started" {
			started++
			require.NotEqual(t, first.body["run_id"], ans.body["run_id"], "a new run")
		}
	}
	require.Equal(t, 1, started, "concurrent resends start one run: %v", answers)
	_, err = a.result(t, id)
	require.NoError(t, err, "the new run completes")

	again := deliver(t, a.url, id, body, secret)
	require.Equal(t, "duplicate", again.body["status"], "a completed event stays handled")
}
