package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkUpsertJob measures one RecordJob write (a new row each time),
// through withConn, on SQLite and, with TEST_POSTGRES_URL, PostgreSQL.
func BenchmarkUpsertJob(b *testing.B) {
	for kind, s := range openStores(b) {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			j := sampleJob(time.Date(2026, 11, 20, 14, 3, 28, 0, time.UTC))
			for i := 0; b.Loop(); i++ {
				j.JobID = fmt.Sprintf("bench-%d", i)
				if _, err := s.UpsertJob(ctx, j); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
