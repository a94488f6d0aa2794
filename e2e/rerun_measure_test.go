package e2e

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/recovery"
)

// TestRerunThroughput measures mediaflowctl rerun on 1,000 events whose
// deliveries failed (the receiver down longer than DELIVERY_RETRY_WINDOW,
// 5 s here), re-run with the command's code once the receiver is back, at
// an unbounded rate: how long the selection takes to read them, how long
// the starts take, and how soon every re-run has completed
// (NOTIFY_MAX_PER_SECOND raised out of the way). It asserts only that all
// complete, and logs the times; a measurement, not run by make test:
//
//	MEDIAFLOW_MEASURE_RERUN=1 go test -run '^TestRerunThroughput$' -v -timeout 20m ./e2e/
//
// (A Go benchmark would need the e2e harness, which takes a *testing.T.)
func TestRerunThroughput(t *testing.T) {
	if os.Getenv("MEDIAFLOW_MEASURE_RERUN") != "1" {
		t.Skip("set MEDIAFLOW_MEASURE_RERUN=1 to measure re-run throughput")
	}
	const events = 1000
	a, receiver := receiverApp(t, http.StatusServiceUnavailable,
		config.Environ{"DELIVERY_RETRY_WINDOW": "5s", "NOTIFY_MAX_PER_SECOND": "2000"})
	sendEvents(t, a, newEventIDs(events))
	ctl := newControl(t, a)
	sel := recovery.Selection{Since: time.Hour}
	failuresWhenVisible(t, ctl, sel, events, 5*time.Minute)
	receiver.answer(http.StatusNoContent)

	began := time.Now()
	failures, err := ctl.Failures(context.Background(), sel)
	require.NoError(t, err)
	require.Len(t, failures, events)
	selected := time.Since(began)
	var started time.Duration
	sum := ctl.Rerun(context.Background(), failures, recovery.RerunOptions{
		Rate: 1e6, MaxFailing: recovery.DefaultMaxFailing, MinFinished: recovery.DefaultMinFinished, Wait: 5 * time.Minute,
		Progress: func(c recovery.RerunCounts) {
			if c.Handled() == events && started == 0 {
				started = time.Since(began) - selected
			}
		},
	})
	completed := time.Since(began)
	require.Equal(t, recovery.RerunCounts{Selected: events, Started: events, Completed: events}, sum.RerunCounts)
	t.Logf("%d failed events: selected in %s (%.0f/s), started in %s more (%.0f/s), all completed %s after the selection began (%.0f/s)",
		events, selected.Round(time.Millisecond), events/selected.Seconds(), started.Round(time.Millisecond), events/started.Seconds(),
		completed.Round(time.Millisecond), events/completed.Seconds())
}
