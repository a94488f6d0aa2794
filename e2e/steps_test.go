package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/dbtest"
)

// target is a notification or alert receiver: it records each POST.
type target struct {
	mu     sync.Mutex
	keys   map[string]int
	bodies []map[string]any
}

func (tg *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.keys == nil {
		tg.keys = map[string]int{}
	}
	tg.keys[r.Header.Get("Idempotency-Key")]++
	tg.bodies = append(tg.bodies, body)
	w.WriteHeader(http.StatusAccepted)
}

func (tg *target) snapshot() (map[string]int, []map[string]any) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.keys, tg.bodies
}

// eventFor returns a media.completed body for job with status and media URL.
func eventFor(jobID, status, mediaURL string) []byte {
	b, _ := json.Marshal(map[string]any{
		"event_type": "media.completed",
		"timestamp":  "2026-11-20T14:03:27Z",
		"data": map[string]any{"job_id": jobID, "status": status, "media_url": mediaURL,
			"error": "decoder crashed", "custom_payload": map[string]any{"customer_id": "cus_9"}},
	})
	return b
}

// TestAllStepsConfigured runs both paths with MEDIA_DIR, NOTIFY_URL and
// ALERT_URL set, on SQLite and, when TEST_POSTGRES_URL is set, PostgreSQL.
func TestAllStepsConfigured(t *testing.T) {
	databases := map[string]string{"sqlite": ""}
	if u := dbtest.PostgresURL(t); u != "" {
		databases["postgres"] = u
	}
	for kind, dbURL := range databases {
		t.Run(kind, func(t *testing.T) {
			video := bytes.Repeat([]byte("0123456789"), 100_000)
			media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(video) }))
			defer media.Close()
			notify, alert := &target{}, &target{}
			notifySrv, alertSrv := httptest.NewServer(notify), httptest.NewServer(alert)
			defer notifySrv.Close()
			defer alertSrv.Close()

			mediaDir := t.TempDir()
			a := newApp(t, func(c *appConfig) {
				c.env["MEDIA_DIR"], c.env["NOTIFY_URL"], c.env["ALERT_URL"] = mediaDir, notifySrv.URL, alertSrv.URL
				c.env["MEDIA_ALLOWED_HOSTS"] = "127.0.0.1" // the media server
				if dbURL != "" {
					c.env["DATABASE_URL"] = dbURL
				}
			})
			jobOK, jobBad := "job-ok-"+newEventID(), "job-bad-"+newEventID()
			okID, badID := newEventID(), newEventID()
			require.Equal(t, "started", deliver(t, a.url, okID, eventFor(jobOK, "completed", media.URL+"/v/clip.mp4"), secret).body["status"])
			require.Equal(t, "started", deliver(t, a.url, badID, eventFor(jobBad, "FAILED", media.URL+"/v/clip.mp4"), secret).body["status"])

			res, err := a.result(t, okID)
			require.NoError(t, err)
			require.Len(t, res.Steps, 3)
			require.Equal(t, mediaflow.StepResult{Step: "record", Outcome: "stored"}, res.Steps[0])
			require.Equal(t, mediaflow.StepSaved, res.Steps[1].Outcome, res.Steps[1])
			require.Equal(t, mediaflow.StepResult{Step: "notify", Outcome: "delivered", Detail: "HTTP 202"}, res.Steps[2])

			sum := sha256.Sum256(video)
			row, err := a.store.Job(context.Background(), jobOK)
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(sum[:]), row.MediaSHA256)
			require.EqualValues(t, len(video), row.MediaSize)
			saved, err := os.ReadFile(row.MediaPath)
			require.NoError(t, err)
			require.Equal(t, video, saved)

			res, err = a.result(t, badID)
			require.NoError(t, err)
			require.Equal(t, mediaflow.JobFailed, res.Status)
			require.Equal(t, []mediaflow.StepResult{{Step: "record", Outcome: "stored"}, {Step: "alert", Outcome: "delivered", Detail: "HTTP 202"}}, res.Steps)
			row, err = a.store.Job(context.Background(), jobBad)
			require.NoError(t, err)
			require.Equal(t, mediaflow.JobFailed, row.Status)
			require.Empty(t, row.MediaPath, "a failed job's media is not fetched")

			keys, bodies := notify.snapshot()
			require.Equal(t, map[string]int{okID: 1}, keys)
			require.Equal(t, map[string]any{"customer_id": "cus_9"}, bodies[0]["custom_payload"])
			keys, bodies = alert.snapshot()
			require.Equal(t, map[string]int{badID: 1}, keys)
			require.Contains(t, bodies[0]["text"], "decoder crashed", "readable by a Slack-style webhook")
		})
	}
}

// TestStalledDownloadIsRetried: the media server sends a little and then
// nothing; heartbeats stop, Temporal times the attempt out and retries it,
// and the second attempt gets the whole file.
func TestStalledDownloadIsRetried(t *testing.T) {
	t.Parallel()
	video := bytes.Repeat([]byte("x"), 200_000)
	var attempts atomic.Int32
	abandoned := make(chan struct{}) // closed when the stalled attempt hangs up
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			w.Header().Set("Content-Length", "200000")
			w.Write(video[:1000])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // stall until the client gives up
			close(abandoned)
			return
		}
		w.Write(video)
	}))
	defer media.Close()

	a := newApp(t, func(c *appConfig) {
		c.env["MEDIA_DIR"] = t.TempDir()
		c.env["MEDIA_ALLOWED_HOSTS"] = "127.0.0.1" // the media server
	})
	id := newEventID()
	require.Equal(t, "started", deliver(t, a.url, id, eventFor("job-stall-"+id, "completed", media.URL+"/slow.mp4"), secret).body["status"])

	// The shipped heartbeat timeout (30 s) ends the stalled attempt.
	res, err := a.resultWithin(t, id, 2*time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 2, attempts.Load(), "one stalled attempt, one retry")
	require.EqualValues(t, 200000, res.Steps[1].Bytes)

	// The history shows the heartbeat timeout as the retry's cause.
	iter := a.client.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var cause enumspb.TimeoutType
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if st := ev.GetActivityTaskStartedEventAttributes(); st != nil && st.GetAttempt() == 2 {
			cause = st.GetLastFailure().GetTimeoutFailureInfo().GetTimeoutType()
		}
	}
	require.Equal(t, enumspb.TIMEOUT_TYPE_HEARTBEAT, cause)

	// The stalled attempt does not linger until its 6 h StartToClose: it
	// hangs up once no byte came for a heartbeat timeout.
	select {
	case <-abandoned:
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled attempt never hung up")
	}
}

// TestDownloadRetriedAfter503: the media server answers 503 once, then
// the file; Temporal retries the download and the workflow completes with
// it. A 404 instead fails the workflow at once, without a retry.
func TestDownloadRetriedAfter503(t *testing.T) {
	video := bytes.Repeat([]byte("v"), 50_000)
	var hits atomic.Int32
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		switch {
		case r.URL.Path == "/gone.mp4":
			http.NotFound(w, r)
		case n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.Write(video)
		}
	}))
	defer media.Close()
	a := newApp(t, func(c *appConfig) {
		c.env["MEDIA_DIR"] = t.TempDir()
		c.env["MEDIA_ALLOWED_HOSTS"] = "127.0.0.1" // the media server
	})

	id := newEventID()
	require.Equal(t, "started", deliver(t, a.url, id, eventFor("job-503-"+id, "completed", media.URL+"/clip.mp4"), secret).body["status"])
	res, err := a.result(t, id)
	require.NoError(t, err)
	require.EqualValues(t, 2, hits.Load(), "one 503, one retry")
	require.EqualValues(t, 50000, res.Steps[1].Bytes)

	hits.Store(0)
	id = newEventID()
	require.Equal(t, "started", deliver(t, a.url, id, eventFor("job-404-"+id, "completed", media.URL+"/gone.mp4"), secret).body["status"])
	_, err = a.result(t, id)
	require.ErrorContains(t, err, "HTTP 404")
	require.EqualValues(t, 1, hits.Load(), "a 404 is not retried")
}
