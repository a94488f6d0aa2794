package load

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/mediaflow/mediaflow/internal/animus"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", durations(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 1..100", hundred, 90, 90 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"p99 of 10 values is the max", durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p50 of 4 values is the 2nd", durations(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"tiny p is the min", durations(1, 2, 3), 0.001, time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := percentile(tc.sorted, tc.p)
			require.Equal(t, tc.want, got, "got %v, want %v", got, tc.want)
		})
	}
}

func TestSummarizeSortsAndRounds(t *testing.T) {
	s := Summarize(durations(30, 10, 20))
	require.Equal(t, Latency{P50: 20, P90: 30, P99: 30, Max: 30, Mean: 20}, s)
	s = Summarize([]time.Duration{1500 * time.Microsecond})
	require.Equal(t, 1.5, s.P50)
}

func TestSummarizePhase(t *testing.T) {
	start := time.Now()
	res := Result{Start: start, End: start.Add(2 * time.Second), Records: []Record{
		{I: 0, Base: start, Latency: 10 * time.Millisecond, Out: Outcome{Code: "200", Status: "started"}},
		{I: 1, Base: start, Latency: 20 * time.Millisecond, Out: Outcome{Code: "503"}},
		{I: 2, Base: start, Latency: 30 * time.Millisecond, Out: Outcome{Code: "error:refused"}},
		{I: 3, Base: start, Latency: 40 * time.Millisecond, Out: Outcome{Code: "200", Status: "started"}},
	}}
	s := SummarizePhase("http", res)
	require.Equal(t, 4, s.Requests)
	require.Equal(t, 2.0, s.Rate)
	require.Equal(t, map[string]int{"200": 2, "503": 1, "error:refused": 1}, s.Codes)
	require.Equal(t, map[string]int{"started": 2}, s.Statuses)
	require.Contains(t, s.String(), "200=2 503=1 error:refused=1")
}

func TestOpenLoopCount(t *testing.T) {
	tests := []struct {
		name string
		rate float64
		n    int
		d    time.Duration
		want int
	}{
		{"count only", 100, 250, 0, 250},
		{"duration only", 100, 0, 3 * time.Second, 300},
		{"count first", 100, 50, 3 * time.Second, 50},
		{"duration first", 100, 5000, 3 * time.Second, 300},
		{"fractional rate rounds up", 2.5, 0, time.Second, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := OpenLoopCount(tc.rate, tc.n, tc.d)
			require.Equal(t, tc.want, got, "got %v, want %v", got, tc.want)
		})
	}
}

func TestScheduledAtDoesNotDrift(t *testing.T) {
	start := time.Unix(1000, 0)
	require.Equal(t, start, scheduledAt(start, 300, 0))
	require.Equal(t, start.Add(time.Second), scheduledAt(start, 300, 300))
	require.Equal(t, start.Add(100*time.Second), scheduledAt(start, 300, 30000))
	require.Equal(t, start.Add(400*time.Millisecond), scheduledAt(start, 2.5, 1))
}

// TestOpenLoopKeepsScheduledTimes runs an open loop far faster than its
// requests can go (a million per second, 4 in flight, 1 ms each): every
// request is dispatched late, none is skipped, each counts from its
// scheduled time, and the schedule does not slide with the lateness.
func TestOpenLoopKeepsScheduledTimes(t *testing.T) {
	const rate = 1e6
	var waited []time.Time
	wait := func(ctx context.Context, at time.Time) error {
		waited = append(waited, at)
		return ctx.Err()
	}
	var sent atomic.Int64
	send := func(context.Context, int) Outcome {
		sent.Add(1)
		time.Sleep(time.Millisecond)
		return Outcome{Code: "200"}
	}
	res := runOpenLoop(context.Background(), Plan{N: 50, Rate: rate, MaxInflight: 4}, send, wait)

	require.EqualValues(t, 50, sent.Load())
	require.Len(t, res.Records, 50)
	require.Len(t, waited, 50)
	for i, at := range waited {
		require.Equal(t, scheduledAt(res.Start, rate, i), at)
	}
	for _, r := range res.Records {
		require.Equal(t, scheduledAt(res.Start, rate, r.I), r.Base)
		require.GreaterOrEqual(t, r.Latency, time.Millisecond)
	}
	// 50 requests of 1 ms, 4 at a time: at least 12 ms of work, and the
	// last ones waited for it.
	require.False(t, res.End.Before(res.Start.Add(12*time.Millisecond)))
	slowest := time.Duration(0)
	for _, r := range res.Records {
		slowest = max(slowest, r.Latency)
	}
	require.GreaterOrEqual(t, slowest, 12*time.Millisecond)
}

// TestOpenLoopQueueingIsCounted: with one slot and requests slower than
// the schedule, the later requests' latency grows with the queue.
func TestOpenLoopQueueingIsCounted(t *testing.T) {
	send := func(context.Context, int) Outcome {
		time.Sleep(20 * time.Millisecond)
		return Outcome{Code: "200"}
	}
	res := runOpenLoop(context.Background(), Plan{N: 5, Rate: 1000, MaxInflight: 1}, send, sleepUntil)
	require.Len(t, res.Records, 5)
	byI := map[int]time.Duration{}
	for _, r := range res.Records {
		byI[r.I] = r.Latency
	}
	// Request 4 was due at 4 ms and waited for 4 × 20 ms of earlier work.
	require.Greater(t, byI[4], 80*time.Millisecond)
	require.Less(t, byI[0], 80*time.Millisecond)
}

func TestOpenLoopStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	send := func(context.Context, int) Outcome {
		if n.Add(1) == 3 {
			cancel()
		}
		return Outcome{Code: "200"}
	}
	res := runOpenLoop(ctx, Plan{N: 1000, Rate: 1000, MaxInflight: 1}, send, sleepUntil)
	require.Less(t, len(res.Records), 10)
}

func TestClosedLoopSendsEachIndexOnceWithinConcurrency(t *testing.T) {
	var inflight, peak atomic.Int64
	var mu sync.Mutex
	seen := map[int]int{}
	send := func(_ context.Context, i int) Outcome {
		cur := inflight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		time.Sleep(200 * time.Microsecond)
		inflight.Add(-1)
		mu.Lock()
		seen[i]++
		mu.Unlock()
		return Outcome{Code: "200"}
	}
	res := runClosedLoop(context.Background(), Plan{N: 200, Conc: 8}, send)
	require.Len(t, res.Records, 200)
	require.Len(t, seen, 200)
	for i := range 200 {
		require.Equal(t, 1, seen[i], "index %d", i)
	}
	require.LessOrEqual(t, peak.Load(), int64(8))
	require.False(t, res.End.Before(res.Start))
}

func TestClosedLoopByDuration(t *testing.T) {
	send := func(context.Context, int) Outcome {
		time.Sleep(time.Millisecond)
		return Outcome{Code: "200"}
	}
	start := time.Now()
	res := runClosedLoop(context.Background(), Plan{Duration: 50 * time.Millisecond, Conc: 2}, send)
	require.Less(t, time.Since(start), time.Second)
	require.NotEmpty(t, res.Records)
}

func TestTemplateSizesAndJobIDs(t *testing.T) {
	sample, err := samples.Get("success")
	require.NoError(t, err)
	d := IDs{Token: "abcdefghijkl"}
	require.Len(t, d.JobID(0), len(JobIDPlaceholder))
	for _, size := range []int{0, 10, 1024, 64 << 10} {
		tmpl, err := NewTemplate(sample, size, "")
		require.NoError(t, err)
		body := tmpl.Body(d.JobID(7))
		require.Len(t, body, len(tmpl))
		if size > len(sample) {
			require.Equal(t, size, len(body), "got %d bytes, want %d", len(body), size)
		}

		// The service reads it as it would any event; the padding is an
		// unknown field inside data, kept in the raw job.
		env, err := animus.ParseEnvelope(body)
		require.NoError(t, err)
		require.Equal(t, animus.EventMediaCompleted, env.EventType)
		job, err := animus.ParseJob(env.Data)
		require.NoError(t, err)
		require.Equal(t, d.JobID(7), job.JobID)
		require.Equal(t, "completed", job.Status)
		require.JSONEq(t, `{"customer_id": "cus_1042", "upload_id": 88213}`, string(job.CustomPayload))
		require.Equal(t, size > len(sample), bytes.Contains(job.Raw, []byte(paddingField)))
	}
}

func TestIDs(t *testing.T) {
	d := IDs{Token: "tok"}
	require.Equal(t, "msg_lgtok_00000042", d.EventID(42))
	i, ok := d.Index(d.EventID(42))
	require.True(t, ok)
	require.Equal(t, 42, i)
	for _, bad := range []string{"msg_lgother_00000042", "msg_lgtok_", "msg_lgtok_12x"} {
		_, ok := d.Index(bad)
		require.False(t, ok, bad)
	}
	require.Equal(t, len(d.JobID(0)), len(d.JobID(99_999_999)))
}

// TestTemplateMediaURL: with -receiver, each event's media URL names its
// job, and the body keeps its size.
func TestTemplateMediaURL(t *testing.T) {
	sample, err := samples.Get("success")
	require.NoError(t, err)
	d := IDs{Token: "abcdefghijkl"}
	tmpl, err := NewTemplate(sample, 2048, "http://127.0.0.1:9/media/"+JobIDPlaceholder+".bin?a=1&b=2")
	require.NoError(t, err)
	body := tmpl.Body(d.JobID(3))
	require.Len(t, body, 2048)
	ev, err := animus.ReadEvent("msg_x", body, time.Now())
	require.NoError(t, err)
	require.Equal(t, d.JobID(3), ev.Input.Job.JobID)
	require.Equal(t, "http://127.0.0.1:9/media/"+d.JobID(3)+".bin?a=1&b=2", ev.Input.Job.MediaURL)
}

// TestPeerCounts: what loadgen and the fault test read from their Peer.
func TestPeerCounts(t *testing.T) {
	p := &Peer{Media: fstest.MapFS{"clip.bin": {Data: make([]byte, 1000)}}}
	srv, addr, err := StartPeer("127.0.0.1:0", p)
	require.NoError(t, err)
	defer srv.Close()
	resp, err := http.Get("http://" + addr + "/media/clip.bin")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Len(t, b, 1000)
	for _, post := range [][2]string{{NotifyPath, "msg_1"}, {NotifyPath, "msg_1"}, {AlertPath, "msg_2"}, {NotifyPath, "other"}} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+post[0], strings.NewReader(`{}`))
		req.Header.Set("Idempotency-Key", post[1])
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
	}
	require.Equal(t, ReceiverCounts{Media: 1, Notify: 3, Alert: 1}, p.Counts())
	posts, distinct, foreign := p.Keys("msg_")
	require.Equal(t, []int{4, 3, 1}, []int{posts, distinct, foreign})
	require.Equal(t, []int{4}, p.PerSecond(time.Now().Add(-500*time.Millisecond)))
}

// TestPeerDown: while down, notifications and alerts are answered 503,
// counted per second but not received.
func TestPeerDown(t *testing.T) {
	p := &Peer{DownUntil: time.Now().Add(time.Hour)}
	srv, addr, err := StartPeer("127.0.0.1:0", p)
	require.NoError(t, err)
	defer srv.Close()
	resp, err := http.Post("http://"+addr+NotifyPath, "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, ReceiverCounts{}, p.Counts())
	require.Equal(t, []int{0, 0, 1}, p.PerSecond(time.Now().Add(-2500*time.Millisecond)))
}

// TestSummarizeE2E: the rate counts the closes up to the 95th percentile
// of the close times, so one straggler does not make it; events not of
// the phase, or not started by it, are left out.
func TestSummarizeE2E(t *testing.T) {
	start := time.Unix(1000, 0)
	d := IDs{Token: "tok"}
	res := Result{Start: start}
	closed := map[string]CloseInfo{"msg_other_1": {CloseTime: start}}
	for i := range 40 {
		res.Records = append(res.Records, Record{I: i, Base: start, Out: Outcome{Code: "200", Status: "started"}})
		at := start.Add(time.Duration(i+1) * 100 * time.Millisecond) // 10 a second
		if i == 39 {
			at = start.Add(time.Minute) // a straggler
		}
		closed[d.EventID(i)] = CloseInfo{Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, CloseTime: at}
	}
	res.Records = append(res.Records, Record{I: 40, Base: start, Out: Outcome{Code: "503"}})
	closed[d.EventID(40)] = CloseInfo{CloseTime: start}
	s := SummarizeE2E(res, d, closed, WaitResult{})
	require.Equal(t, 40, s.Started)
	require.Equal(t, 40, s.Closed)
	require.Equal(t, map[string]int{"Completed": 40}, s.Statuses)
	require.Equal(t, 60.0, s.Seconds)
	require.Equal(t, 10.0, s.Rate, "38 closes in 3.8 s")
}

// TestSenderTallies: each attempt is signed, counted by server and
// answer; a server that is gone is a transport error named by its kind.
func TestSenderTallies(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v, err := webhook.NewVerifier([]string{secret})
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := v.Verify(body, r.Header); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"status":"duplicate"}`)
	}))
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	s := NewSender([]string{srv.URL, gone.URL}, secret, 2, func(i int, jobID string) []byte { return []byte(`{"job":"` + jobID + `"}`) })
	require.Equal(t, Outcome{Code: "200", Status: "duplicate"}, s.Send(context.Background(), 0))
	require.Equal(t, Outcome{Code: "error:refused"}, s.Send(context.Background(), 1))
	tally := s.Tally()
	require.Equal(t, Tally{Deliveries: 2, Transport: 1, Duplicates: 1, Codes: map[int]int{200: 1}, PerURL: map[string]int{srv.URL: 1, gone.URL: 1}}, tally)
}
