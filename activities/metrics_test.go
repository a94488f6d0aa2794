package activities

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/internal/telemetry"
)

// failingStore fails every write, as a database that is down.
type failingStore struct{ JobStore }

func (failingStore) UpsertJob(context.Context, store.Job) (bool, error) {
	return false, errors.New("database is down")
}

func (failingStore) RecordEvent(context.Context, store.Job) (bool, string, error) {
	return false, "", errors.New("database is down")
}

func recordInput(t *testing.T, id, status string) RecordInput {
	t.Helper()
	job := jobOf(t, `{"job_id":"job-`+id+`","status":"`+status+`"}`)
	return RecordInput{Event: mediaflow.MediaCompletedInput{EventID: id, EventType: "media.completed", ReceivedAt: time.Now(), Job: job}}
}

func TestRecordJobCountsJobsByStatus(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	defer st.Close()
	m := telemetry.NewWorkerMetrics(prometheus.NewRegistry())
	jobs := func(status string) float64 { return testutil.ToFloat64(m.Jobs.WithLabelValues(status)) }
	require.Zero(t, jobs("completed"), "exported from the start at zero")
	require.Zero(t, jobs("failed"))

	a := &Activities{Store: st, Jobs: m.Jobs}
	for _, in := range []RecordInput{recordInput(t, "msg_1", "COMPLETED"), recordInput(t, "msg_2", "succeeded"), recordInput(t, "msg_3", "failed")} {
		_, err := execute[Recorded](t, a.RecordJob, in)
		require.NoError(t, err)
	}
	require.Equal(t, 2.0, jobs("completed"))
	require.Equal(t, 1.0, jobs("failed"))

	// Nothing recorded, nothing counted.
	_, err = execute[Recorded](t, a.RecordJob, RecordInput{Event: mediaflow.MediaCompletedInput{EventID: "msg_4"}})
	require.Error(t, err)
	down := &Activities{Store: failingStore{}, Jobs: m.Jobs}
	_, err = execute[Recorded](t, down.RecordJob, recordInput(t, "msg_5", "failed"))
	require.ErrorContains(t, err, "database is down")
	require.Equal(t, 2.0, jobs("completed"))
	require.Equal(t, 1.0, jobs("failed"))
	require.Equal(t, 2, testutil.CollectAndCount(m.Jobs), "only the two statuses are labels")

	// Without a counter, RecordJob still works.
	_, err = execute[Recorded](t, (&Activities{Store: st}).RecordJob, recordInput(t, "msg_6", "completed"))
	require.NoError(t, err)
}
