package activities

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/store"
)

// jobStore is a real SQLite job store holding the rows of events.
func jobStore(t *testing.T, events ...mediaflow.MediaCompletedInput) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	for _, ev := range events {
		_, _, err := st.RecordEvent(context.Background(), jobRow(ev))
		require.NoError(t, err)
	}
	return st
}

func event(id, jobID, status, timestamp string) mediaflow.MediaCompletedInput {
	return mediaflow.MediaCompletedInput{EventID: id, EventType: "media.completed", EventTimestamp: timestamp,
		ReceivedAt: time.Now().UTC(), Status: mediaflow.ClassifyStatus(status),
		Job: mediaflow.Job{JobID: jobID, Status: status, Raw: []byte(`{"job_id":"` + jobID + `"}`)}}
}

func eventNotice(ev mediaflow.MediaCompletedInput) Notice {
	return Notice{Type: "mediaflow.job." + string(ev.JobStatus()), EventID: ev.EventID, JobID: ev.Job.JobID,
		Status: ev.JobStatus(), EventTimestamp: ev.EventTimestamp, IfCurrent: true, Text: "Animus job " + ev.Job.JobID}
}

// TestOutcomeDeliveredOnce: the job database remembers each outcome
// delivered to a receiver: the same event's notice again (a resend after
// Temporal's retention removed its run), or the same outcome under a
// second event ID (same timestamp, written another way), is not POSTed
// again; a newer outcome is; a failed POST is not remembered.
func TestOutcomeDeliveredOnce(t *testing.T) {
	first := event("msg_1", "j1", "failed", "2026-11-20T14:03:27Z")
	second := event("msg_2", "j1", "FAILED", "2026-11-20T15:03:27+01:00") // the same instant
	later := event("msg_3", "j1", "failed", "2026-11-20T14:10:00Z")
	rc := &receiver{statuses: []int{503}}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "d"}, []string{"receiver", "result"})
	a := &Activities{AlertURL: ts.URL, Store: jobStore(t, first), Deliveries: deliveries}

	_, err := execute[Delivery](t, a.Alert, eventNotice(first))
	require.Error(t, err, "the receiver answers 503")
	require.Equal(t, 1.0, testutil.ToFloat64(deliveries.WithLabelValues("alert", "failed")))
	d, err := execute[Delivery](t, a.Alert, eventNotice(first))
	require.NoError(t, err)
	require.Equal(t, Delivery{Status: 200}, d, "a failed attempt is not remembered")

	d, err = execute[Delivery](t, a.Alert, eventNotice(first))
	require.NoError(t, err)
	require.Equal(t, Delivery{DeliveredBy: "msg_1"}, d, "the same event again")

	_, _, err = a.Store.RecordEvent(context.Background(), jobRow(second))
	require.NoError(t, err)
	d, err = execute[Delivery](t, a.Alert, eventNotice(second))
	require.NoError(t, err)
	require.Equal(t, Delivery{DeliveredBy: "msg_1"}, d, "the same outcome under another event ID")
	require.Equal(t, 2, len(rc.bodies), "POSTs: the 503 and one delivery")

	_, _, err = a.Store.RecordEvent(context.Background(), jobRow(later))
	require.NoError(t, err)
	d, err = execute[Delivery](t, a.Alert, eventNotice(later))
	require.NoError(t, err)
	require.Equal(t, Delivery{Status: 200}, d, "a newer outcome is news")
	require.Equal(t, 3, len(rc.bodies))
	require.Equal(t, 2.0, testutil.ToFloat64(deliveries.WithLabelValues("alert", "delivered")))

	// The notify receiver has a memory of its own.
	a.NotifyURL = ts.URL
	n := eventNotice(later)
	d, err = execute[Delivery](t, a.Notify, n)
	require.NoError(t, err)
	require.Equal(t, Delivery{Status: 200}, d)
}

// signalCheck is a Temporal client whose SignalWorkflow records whether
// the job's row was final when the signal was sent.
type signalCheck struct {
	st          *store.Store
	finalAtCall bool
}

func (s *signalCheck) SignalWorkflow(ctx context.Context, _, _, _ string, arg any) error {
	row, err := s.st.Job(ctx, arg.(mediaflow.JobOutcome).JobID)
	s.finalAtCall = err == nil && !row.HandledAt.IsZero()
	return nil
}

// TestTellWatchMarksTheOutcomeFinalFirst: LookupJob answers nothing for a
// job whose event is still being handled (a watch then waits for the
// signal), and the whole outcome once TellWatch ran, which marks the row
// before it signals, so a watch that starts at any moment gets it.
func TestTellWatchMarksTheOutcomeFinalFirst(t *testing.T) {
	ev := event("msg_1", "j1", "completed", "2026-11-20T14:03:27Z")
	st := jobStore(t, ev)
	sig := &signalCheck{st: st}
	a := &Activities{Store: st, Temporal: sig}

	o, err := execute[*mediaflow.JobOutcome](t, a.LookupJob, "j1")
	require.NoError(t, err)
	require.Nil(t, o, "recorded, not final: the media may still be downloading")

	_, _, err = st.RecordMedia(context.Background(), "j1", "msg_1", "/media/j1/a.mp4", 3, "abc")
	require.NoError(t, err)
	told, err := execute[Told](t, a.TellWatch, mediaflow.JobOutcome{JobID: "j1", EventID: "msg_1", Status: mediaflow.JobCompleted,
		MediaPath: "/media/j1/a.mp4"})
	require.NoError(t, err)
	require.True(t, told.Watch)
	require.True(t, sig.finalAtCall, "the row is final before the watch is signalled")

	o, err = execute[*mediaflow.JobOutcome](t, a.LookupJob, "j1")
	require.NoError(t, err)
	require.NotNil(t, o)
	require.Equal(t, "/media/j1/a.mp4", o.MediaPath)
}
