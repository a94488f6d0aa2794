package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRecordEventThenMedia(t *testing.T) {
	for kind, s := range openStores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			ev := sampleJob(t0)

			_, err := s.CurrentEvent(ctx, ev.JobID)
			require.ErrorIs(t, err, ErrNotFound)
			stored, current, err := s.RecordEvent(ctx, ev)
			require.NoError(t, err)
			require.True(t, stored)
			require.Equal(t, "msg_1", current)

			stored, _, err = s.RecordMedia(ctx, ev.JobID, "msg_1", "/media/j/a.mp4", 42, "ab12")
			require.NoError(t, err)
			require.True(t, stored)
			// Recording the same event again (a reset, a resend after a
			// failure) keeps the media saved for it.
			stored, _, err = s.RecordEvent(ctx, ev)
			require.NoError(t, err)
			require.True(t, stored)
			row, err := s.Job(ctx, ev.JobID)
			require.NoError(t, err)
			require.Equal(t, "/media/j/a.mp4", row.MediaPath)
			require.EqualValues(t, 42, row.MediaSize)

			// A newer event takes the row, without the older one's media.
			newer := ev
			newer.EventID, newer.Status, newer.MediaURL, newer.EventAt = "msg_2", "failed", "https://m/b.mp4", t0.Add(5*time.Minute)
			stored, current, err = s.RecordEvent(ctx, newer)
			require.NoError(t, err)
			require.True(t, stored)
			require.Equal(t, "msg_2", current)
			row, err = s.Job(ctx, ev.JobID)
			require.NoError(t, err)
			require.Empty(t, row.MediaPath, "the saved file belongs to the URL recorded with it")

			// The older event, processed again, is stale and names the newer.
			stored, current, err = s.RecordEvent(ctx, ev)
			require.NoError(t, err)
			require.False(t, stored)
			require.Equal(t, "msg_2", current)
			// Its media, saved late, is not paired with the newer event.
			stored, current, err = s.RecordMedia(ctx, ev.JobID, "msg_1", "/media/j/a.mp4", 42, "ab12")
			require.NoError(t, err)
			require.False(t, stored)
			require.Equal(t, "msg_2", current)
			row, err = s.Job(ctx, ev.JobID)
			require.NoError(t, err)
			require.Equal(t, "msg_2", row.EventID)
			require.Empty(t, row.MediaPath)
		})
	}
}

// TestRecordEventConcurrently: two events for one job recorded at once
// end with the newer in the row whatever the order, and each call says
// truthfully whether it holds the row.
func TestRecordEventConcurrently(t *testing.T) {
	for kind, s := range openStores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			for i := range 20 {
				older, newer := sampleJob(t0), sampleJob(t0.Add(time.Minute))
				older.JobID, newer.JobID = older.JobID+string(rune('a'+i)), older.JobID+string(rune('a'+i))
				newer.EventID = "msg_newer"
				var wg sync.WaitGroup
				var olderStored, newerStored bool
				var errs [2]error
				wg.Go(func() { olderStored, _, errs[0] = s.RecordEvent(ctx, older) })
				wg.Go(func() { newerStored, _, errs[1] = s.RecordEvent(ctx, newer) })
				wg.Wait()
				require.NoError(t, errs[0])
				require.NoError(t, errs[1])
				require.True(t, newerStored, "the newer event is always recorded")
				_ = olderStored // either order is right for the older one
				current, err := s.CurrentEvent(ctx, newer.JobID)
				require.NoError(t, err)
				require.Equal(t, "msg_newer", current)
			}
		})
	}
}
