package activities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/store"
)

// heldReceiver answers each POST once release is closed, and counts the
// Idempotency-Keys it got; arrived gets one value per POST as it arrives.
type heldReceiver struct {
	mu      sync.Mutex
	keys    map[string]int
	arrived chan string
	release chan struct{}
	status  int
}

func newHeldReceiver(t *testing.T, status int) (*heldReceiver, string) {
	rc := &heldReceiver{keys: map[string]int{}, arrived: make(chan string, 10), release: make(chan struct{}), status: status}
	ts := httptest.NewServer(rc)
	t.Cleanup(ts.Close)
	return rc, ts.URL
}

func (rc *heldReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	rc.mu.Lock()
	rc.keys[key]++
	rc.mu.Unlock()
	rc.arrived <- key
	<-rc.release
	w.WriteHeader(rc.status)
}

// TestSameOutcomeUnderTwoEventIDsAtOnceIsSentOnce: Animus sends one
// outcome of a job twice, under two event IDs; the second is handled while
// the first's POST to a slow receiver is under way. The second waits
// (a retryable DeliveryBusy error) and then finds the outcome delivered:
// the receiver gets it once, under one Idempotency-Key. When the first's
// POST fails instead, the second sends it.
func TestSameOutcomeUnderTwoEventIDsAtOnceIsSentOnce(t *testing.T) {
	for _, answer := range []int{200, 503} {
		t.Run(http.StatusText(answer), func(t *testing.T) {
			first := event("msg_1", "j1", "failed", "2026-11-20T14:03:27Z")
			second := event("msg_2", "j1", "failed", "2026-11-20T14:03:27Z")
			rc, url := newHeldReceiver(t, answer)
			st := jobStore(t, first)
			a := &Activities{AlertURL: url, Store: st}
			done := make(chan error)
			go func() {
				_, err := execute[Delivery](t, a.Alert, eventNotice(first))
				done <- err
			}()
			require.Equal(t, "msg_1", <-rc.arrived)

			_, _, err := st.RecordEvent(context.Background(), jobRow(second)) // the second takes the row
			require.NoError(t, err)
			_, err = execute[Delivery](t, a.Alert, eventNotice(second))
			require.Equal(t, ErrTypeDeliveryBusy, appError(t, err).Type())
			require.False(t, appError(t, err).NonRetryable())
			close(rc.release)
			firstErr := <-done

			d, err := execute[Delivery](t, a.Alert, eventNotice(second)) // its retry
			if answer == 200 {
				require.NoError(t, firstErr)
				require.NoError(t, err)
				require.Equal(t, Delivery{DeliveredBy: "msg_1"}, d)
				require.Equal(t, map[string]int{"msg_1": 1}, rc.keys)
			} else {
				require.Error(t, firstErr)
				require.Equal(t, ErrTypeRetryableHTTP, appError(t, err).Type(), "the first's claim was released: the second sent it")
				require.Equal(t, map[string]int{"msg_1": 1, "msg_2": 1}, rc.keys)
			}
		})
	}
}

// agedClaims is the job store as it is when the worker that claimed a
// delivery was lost mid-POST longer ago than deliveryLease.
type agedClaims struct{ *store.Store }

func (s agedClaims) ClaimDelivery(ctx context.Context, d store.Delivery) (store.Claim, error) {
	c, err := s.Store.ClaimDelivery(ctx, d)
	c.At = c.At.Add(-2 * deliveryLease)
	return c, err
}

// TestAbandonedClaimIsTakenOver: an event whose worker was lost mid-POST
// (its claim never marked delivered nor released) does not keep the
// outcome from a second event ID for good.
func TestAbandonedClaimIsTakenOver(t *testing.T) {
	first := event("msg_1", "j1", "completed", "2026-11-20T14:03:27Z")
	second := event("msg_2", "j1", "completed", "2026-11-20T14:03:27Z")
	st := jobStore(t, first)
	memo := store.Delivery{JobID: "j1", Receiver: "notify", Status: "completed", Outcome: outcomeKey(eventNotice(first)), EventID: "msg_1"}
	_, err := st.ClaimDelivery(context.Background(), memo)
	require.NoError(t, err)
	_, _, err = st.RecordEvent(context.Background(), jobRow(second))
	require.NoError(t, err)

	rc := &receiver{}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	d, err := execute[Delivery](t, (&Activities{NotifyURL: ts.URL, Store: agedClaims{st}}).Notify, eventNotice(second))
	require.NoError(t, err)
	require.Equal(t, Delivery{Status: 200}, d)
	require.Equal(t, map[string]int{"msg_2": 1}, rc.keys)
}
