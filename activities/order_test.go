package activities

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRecordEventOrdersTimestampsWrittenOtherwise: events whose envelope
// timestamp is ISO 8601 but not strict RFC 3339 (no zone, as Python's
// isoformat() writes a naive datetime; "+0000"; a space for the "T") are
// ordered by that timestamp, not by when they were received: an older
// event that gets through after a newer one (its deliveries failed until
// then, or an operator resent it) is stale and leaves the row alone.
func TestRecordEventOrdersTimestampsWrittenOtherwise(t *testing.T) {
	for _, tc := range []struct{ newer, older string }{
		{"2026-11-20T14:05:00", "2026-11-20T14:00:00"},
		{"2026-11-20T14:05:00.123456", "2026-11-20T14:00:00.5"},
		{"2026-11-20T14:05:00+0000", "2026-11-20T16:00:00+0200"},
		{"2026-11-20 14:05:00Z", "2026-11-20 14:00:00Z"},
		{"2026-11-20 14:05:00", "2026-11-20T14:00:00Z"},
	} {
		t.Run(tc.newer, func(t *testing.T) {
			newer := event("msg_new", "j1", "failed", tc.newer)
			a := &Activities{Store: jobStore(t, newer)}
			older := event("msg_old", "j1", "completed", tc.older)
			older.ReceivedAt = time.Now().Add(time.Hour) // received last
			rec, err := execute[Recorded](t, a.RecordEvent, older)
			require.NoError(t, err)
			require.Equal(t, Recorded{Stale: true, NewerEventID: "msg_new"}, rec)
		})
	}
}
