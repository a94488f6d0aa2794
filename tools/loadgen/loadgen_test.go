package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/animus"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/webhook"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
)

const testSecret = "whsec_bG9hZGdlbi10ZXN0LXNlY3JldC1ub3QtdXNlZC1lbHNld2hlcmU="

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
	s := summarize(durations(30, 10, 20))
	require.Equal(t, latencyStats{P50: 20, P90: 30, P99: 30, Max: 30, Mean: 20}, s)
	s = summarize([]time.Duration{1500 * time.Microsecond})
	require.Equal(t, 1.5, s.P50)
}

func TestSummarizePhase(t *testing.T) {
	start := time.Now()
	res := phaseResult{Start: start, End: start.Add(2 * time.Second), Records: []record{
		{I: 0, Base: start, Latency: 10 * time.Millisecond, Out: outcome{Code: "200", Status: "started"}},
		{I: 1, Base: start, Latency: 20 * time.Millisecond, Out: outcome{Code: "503"}},
		{I: 2, Base: start, Latency: 30 * time.Millisecond, Out: outcome{Code: "error:refused"}},
		{I: 3, Base: start, Latency: 40 * time.Millisecond, Out: outcome{Code: "200", Status: "started"}},
	}}
	s := summarizePhase("http", plan{}, res)
	require.Equal(t, 4, s.Requests)
	require.Equal(t, 2.0, s.Rate)
	require.Equal(t, map[string]int{"200": 2, "503": 1, "error:refused": 1}, s.Codes)
	require.Equal(t, map[string]int{"started": 2}, s.Statuses)
	require.Equal(t, 1, s.Errors)
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
			got := openLoopCount(tc.rate, tc.n, tc.d)
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
	send := func(context.Context, int) outcome {
		sent.Add(1)
		time.Sleep(time.Millisecond)
		return outcome{Code: "200"}
	}
	res := runOpenLoop(context.Background(), plan{N: 50, Rate: rate, MaxInflight: 4}, send, wait)

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
	send := func(context.Context, int) outcome {
		time.Sleep(20 * time.Millisecond)
		return outcome{Code: "200"}
	}
	res := runOpenLoop(context.Background(), plan{N: 5, Rate: 1000, MaxInflight: 1}, send, sleepUntil)
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
	send := func(context.Context, int) outcome {
		if n.Add(1) == 3 {
			cancel()
		}
		return outcome{Code: "200"}
	}
	res := runOpenLoop(ctx, plan{N: 1000, Rate: 1000, MaxInflight: 1}, send, sleepUntil)
	require.Less(t, len(res.Records), 10)
}

func TestClosedLoopSendsEachIndexOnceWithinConcurrency(t *testing.T) {
	var inflight, peak atomic.Int64
	var mu sync.Mutex
	seen := map[int]int{}
	send := func(_ context.Context, i int) outcome {
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
		return outcome{Code: "200"}
	}
	res := runClosedLoop(context.Background(), plan{N: 200, Conc: 8}, send)
	require.Len(t, res.Records, 200)
	require.Len(t, seen, 200)
	for i := range 200 {
		require.Equal(t, 1, seen[i], "index %d", i)
	}
	require.LessOrEqual(t, peak.Load(), int64(8))
	require.False(t, res.End.Before(res.Start))
}

func TestClosedLoopByDuration(t *testing.T) {
	send := func(context.Context, int) outcome {
		time.Sleep(time.Millisecond)
		return outcome{Code: "200"}
	}
	start := time.Now()
	res := runClosedLoop(context.Background(), plan{Duration: 50 * time.Millisecond, Conc: 2}, send)
	require.Less(t, time.Since(start), time.Second)
	require.NotEmpty(t, res.Records)
}

func TestTemplateSizesAndJobIDs(t *testing.T) {
	sample, err := samples.Get("success")
	require.NoError(t, err)
	d := ids{token: "abcdefghijkl"}
	jobLen := len(d.JobID(0))
	for _, size := range []int{0, 1024, 64 << 10} {
		tmpl, err := newTemplate(sample, size, jobLen, "")
		require.NoError(t, err)
		body := tmpl.Body(d.JobID(7))
		require.Equal(t, tmpl.Size(jobLen), len(body))
		if size > 0 {
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
		require.Equal(t, size > 0, bytes.Contains(job.Raw, []byte(paddingField)))
	}
}

func TestTemplateSmallerThanSample(t *testing.T) {
	sample, err := samples.Get("success")
	require.NoError(t, err)
	tmpl, err := newTemplate(sample, 10, 20, "")
	require.NoError(t, err)
	require.Greater(t, tmpl.Size(20), 10, "the sample is never cut")
	require.NotContains(t, string(tmpl.Body(strings.Repeat("j", 20))), paddingField)
}

func TestIDs(t *testing.T) {
	d := ids{token: "tok"}
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

func TestParseFlags(t *testing.T) {
	base := []string{"-secret", testSecret}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o options)
	}{
		{name: "defaults", args: base, check: func(t *testing.T, o options) {
			require.Equal(t, 1000, o.n)
			require.Equal(t, 32, o.conc)
			require.Equal(t, []string{"http://127.0.0.1:8080/webhooks/animus"}, o.urls)
		}},
		{name: "duration alone drops the default count", args: append(base, "-d", "10s"), check: func(t *testing.T, o options) {
			require.Equal(t, 0, o.n)
		}},
		{name: "duration and count", args: append(base, "-d", "10s", "-n", "5"), check: func(t *testing.T, o options) {
			require.Equal(t, 5, o.n)
		}},
		{name: "remote URL refused", args: append(base, "-url", "http://192.168.1.10:8080/webhooks/animus"), wantErr: "not loopback"},
		{name: "remote Temporal refused", args: append(base, "-temporal", "10.1.1.1:7233"), wantErr: "not loopback"},
		{name: "unbounded refused", args: append(base, "-n", "0"), wantErr: "bounded"},
		{name: "no secret", args: []string{"-secret", ""}, wantErr: "required"},
		{name: "bad secret", args: []string{"-secret", "whsec_!!"}, wantErr: "invalid webhook secret"},
		{name: "too many", args: append(base, "-n", "2000000"), wantErr: "-n"},
		{name: "huge open loop", args: append(base, "-rate", "100000", "-d", "1h"), wantErr: "-rate"},
		{name: "bare implies e2e", args: append(base, "-bare"), check: func(t *testing.T, o options) {
			require.True(t, o.e2e)
		}},
		{name: "several URLs", args: append(base, "-url", "http://127.0.0.1:8080/w, http://127.0.0.1:8081/w"), check: func(t *testing.T, o options) {
			require.Equal(t, []string{"http://127.0.0.1:8080/w", "http://127.0.0.1:8081/w"}, o.urls)
		}},
		{name: "one remote URL among several", args: append(base, "-url", "http://127.0.0.1:8080/w,http://10.0.0.1:8081/w"), wantErr: "not loopback"},
		{name: "bare and baseline", args: append(base, "-bare", "-baseline"), wantErr: "give one"},
		{name: "sweep without -d", args: append(base, "-sweep", "25,50"), wantErr: "-d"},
		{name: "sweep with -e2e", args: append(base, "-sweep", "25,50", "-d", "5s", "-e2e"), wantErr: "-sweep"},
		{name: "sweep descending", args: append(base, "-sweep", "50,25", "-d", "5s"), wantErr: "ascend"},
		{name: "remote receiver", args: append(base, "-receiver", "10.0.0.1:9000"), wantErr: "not loopback"},
		{name: "bad cpu", args: append(base, "-cpu", "server"), wantErr: "-cpu"},
		{name: "bad compression", args: append(base, "-grpc-compression", "zstd"), wantErr: "-grpc-compression"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tserver\nVmPeak:\t 1300000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\nThreads:\t12\n"
	m, err := parseStatus(strings.NewReader(status))
	require.NoError(t, err)
	require.Equal(t, 40.0, m.RSSMiB)
	require.Equal(t, 80.0, m.PeakMiB)
	_, err = parseStatus(strings.NewReader("Name:\tkthread\n"))
	require.Error(t, err)
}

type instantStarter struct{ n atomic.Int64 }

func (s *instantStarter) Start(context.Context, mediaflow.MediaCompletedInput) (string, error) {
	s.n.Add(1)
	return "run", nil
}

// TestHTTPRun drives the real handler over loopback HTTP: every event is
// signed correctly, has its own ID, and is counted as started.
func TestHTTPRun(t *testing.T) {
	v, err := webhook.NewVerifier([]string{testSecret})
	require.NoError(t, err)
	starter := &instantStarter{}
	api, err := httpapi.New(httpapi.Options{
		Verifier:          v,
		Starter:           starter,
		Ready:             func(context.Context) error { return nil },
		MaxBodyBytes:      1 << 20,
		StartTimeout:      5 * time.Second,
		MaxInflightStarts: 256,
		Logger:            slog.New(slog.DiscardHandler),
		Registry:          prometheus.NewRegistry(),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	defer srv.Close()

	var out bytes.Buffer
	err = run(context.Background(), []string{"-url", srv.URL + httpapi.WebhookPath, "-secret", testSecret,
		"-n", "60", "-c", "4", "-size", "2048", "-json", "-label", "test", "-cpu", fmt.Sprintf("server=%d", os.Getpid())}, &out, io.Discard)
	require.NoError(t, err)
	var rep report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	// The handler runs in this process: its CPU time is the server's.
	require.Equal(t, 60, rep.CPU["http"].Events)
	require.Contains(t, rep.CPU["http"].MS, "server")
	require.Contains(t, rep.CPU["http"].MS, "loadgen")
	require.Equal(t, "test", rep.Label)
	require.Equal(t, 2048, rep.BodyBytes)
	require.Equal(t, 60, rep.HTTP.Requests)
	require.Equal(t, map[string]int{"200": 60}, rep.HTTP.Codes)
	require.Equal(t, map[string]int{"started": 60}, rep.HTTP.Statuses)
	require.EqualValues(t, 60, starter.n.Load())

	// Open loop, human-readable output.
	out.Reset()
	err = run(context.Background(), []string{"-url", srv.URL + httpapi.WebhookPath, "-secret", testSecret,
		"-n", "20", "-rate", "200"}, &out, io.Discard)
	require.NoError(t, err)
	require.Contains(t, out.String(), "open loop at 200/s")
	require.Contains(t, out.String(), "codes: 200=20")
	require.EqualValues(t, 80, starter.n.Load())
}

// TestExitCodes: --help is what was asked for (0, the usage printed), a
// flag that does not exist is a usage error (2, named by the flag
// package), a bad value an error (1, printed).
func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    int
		wantOut string
	}{
		{[]string{"--help"}, 0, "Usage of loadgen"},
		{[]string{"--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"-secret", testSecret, "-n", "0"}, 1, "every run is bounded"},
	} {
		var stderr bytes.Buffer
		code := cli.ExitCode("loadgen", run(context.Background(), tc.args, io.Discard, &stderr), &stderr)
		require.Equal(t, tc.want, code, "loadgen %v", tc.args)
		require.Contains(t, stderr.String(), tc.wantOut, "loadgen %v", tc.args)
	}
}
