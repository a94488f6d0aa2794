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

// TestMarkHandled: an event's outcome is final once marked, for that event
// only; a newer event's row starts unmarked, and recording the same event
// again keeps the mark.
func TestMarkHandled(t *testing.T) {
	for kind, s := range openStores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			ev := sampleJob(t0)
			_, _, err := s.RecordEvent(ctx, ev)
			require.NoError(t, err)
			row, err := s.Job(ctx, ev.JobID)
			require.NoError(t, err)
			require.True(t, row.HandledAt.IsZero(), "not final while its steps run")

			marked, err := s.MarkHandled(ctx, ev.JobID, "msg_other")
			require.NoError(t, err)
			require.False(t, marked, "another event's outcome is not this row's")
			marked, err = s.MarkHandled(ctx, ev.JobID, ev.EventID)
			require.NoError(t, err)
			require.True(t, marked)
			row, err = s.Job(ctx, ev.JobID)
			require.NoError(t, err)
			require.WithinDuration(t, time.Now(), row.HandledAt, time.Minute)

			_, _, err = s.RecordEvent(ctx, ev) // a resend of the event
			require.NoError(t, err)
			row, err = s.Job(ctx, ev.JobID)
			require.NoError(t, err)
			require.False(t, row.HandledAt.IsZero(), "the same event keeps its mark")

			newer := ev
			newer.EventID, newer.EventAt = "msg_2", t0.Add(time.Minute)
			_, _, err = s.RecordEvent(ctx, newer)
			require.NoError(t, err)
			row, err = s.Job(ctx, ev.JobID)
			require.NoError(t, err)
			require.True(t, row.HandledAt.IsZero(), "a newer event starts unmarked")
		})
	}
}

// TestDeliveries: an outcome delivered to a receiver is remembered, under
// the event that carried it; the first record stays; another receiver,
// status or outcome is another delivery. Before its POST an event claims
// the delivery: a second event of the outcome finds the claim, not
// delivered, until it is recorded delivered or released; an abandoned one
// can be taken over, once.
func TestDeliveries(t *testing.T) {
	for kind, s := range openStores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			d := Delivery{JobID: "j1", Receiver: "notify", Status: "completed", Outcome: "2026-11-20T14:03:27Z", EventID: "msg_1", HTTPStatus: 202}
			c, err := s.ClaimDelivery(ctx, d)
			require.NoError(t, err)
			require.Equal(t, "msg_1", c.EventID, "a new claim")
			require.Zero(t, c.HTTPStatus)
			require.WithinDuration(t, time.Now(), c.At, time.Minute)
			again := d
			again.EventID, again.HTTPStatus = "msg_2", 200
			c, err = s.ClaimDelivery(ctx, again)
			require.NoError(t, err)
			require.Equal(t, Claim{EventID: "msg_1", At: c.At}, c, "msg_1's POST is under way")

			require.NoError(t, s.ReleaseDelivery(ctx, again), "msg_2 holds no claim: nothing released")
			require.NoError(t, s.ReleaseDelivery(ctx, d))
			c, err = s.ClaimDelivery(ctx, again)
			require.NoError(t, err)
			require.Equal(t, "msg_2", c.EventID, "released: msg_2 claims it")
			took, err := s.TakeOverDelivery(ctx, d, "msg_2")
			require.NoError(t, err)
			require.True(t, took)
			took, err = s.TakeOverDelivery(ctx, again, "msg_2")
			require.NoError(t, err)
			require.False(t, took, "taken over once")

			require.NoError(t, s.RecordDelivery(ctx, d))
			require.NoError(t, s.RecordDelivery(ctx, again), "recording twice is no error")
			c, err = s.ClaimDelivery(ctx, again)
			require.NoError(t, err)
			require.Equal(t, "msg_1", c.EventID, "the first delivery stays")
			require.Equal(t, 202, c.HTTPStatus)
			require.NoError(t, s.ReleaseDelivery(ctx, d), "a delivery is not released")
			took, err = s.TakeOverDelivery(ctx, again, "msg_1")
			require.NoError(t, err)
			require.False(t, took, "nor taken over")
			for _, other := range []Delivery{
				{JobID: "j1", Receiver: "alert", Status: "completed", Outcome: d.Outcome},
				{JobID: "j1", Receiver: "notify", Status: "failed", Outcome: d.Outcome},
				{JobID: "j1", Receiver: "notify", Status: "completed", Outcome: "2026-11-20T14:04:00Z"},
				{JobID: "j2", Receiver: "notify", Status: "completed", Outcome: d.Outcome},
			} {
				other.EventID = "msg_3"
				c, err := s.ClaimDelivery(ctx, other)
				require.NoError(t, err)
				require.Equal(t, "msg_3", c.EventID, "%+v", other)
			}
		})
	}
}
