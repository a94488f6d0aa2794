package activities_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/egress"
	"github.com/mediaflow/mediaflow/workflows"
)

// shipped is the download's activity options as the worker runs them,
// with package config's defaults.
var shipped = func() workflow.ActivityOptions {
	cfg, err := config.LoadWorker(config.Environ{})
	if err != nil {
		panic(err)
	}
	return workflows.NewOptions(cfg.TaskQueue, workflows.Windows{Database: cfg.DatabaseRetryWindow,
		Download: cfg.DownloadRetryWindow, Delivery: cfg.DeliveryRetryWindow}).Download
}()

// video and edited are two versions of one media, as long as each other;
// every byte differs from the other version's and every line is numbered,
// so bytes from the wrong place or version never pass for the right ones.
var video, edited = versionOf("frame"), versionOf("FRAME")

// longer is video grown by a few frames.
var longer = append(slices.Clip(video), "frame 9999999\n"...)

func versionOf(word string) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 200_000; i++ {
		fmt.Fprintf(&b, "%s %07d\n", word, i)
	}
	return b.Bytes()
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// brotli stands for video's brotli encoding: downloads never decode it,
// so any bytes other than video's will do.
var brotli = gzipped(video)

// An hour and half an hour before now, in HTTP's date format: strong
// Last-Modified dates.
var (
	hourAgo     = time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	halfHourAgo = time.Now().Add(-time.Hour / 2).UTC().Format(http.TimeFormat)
)

// cut declares body whole (with headers kv, pairs of name and value),
// sends its first half and drops the connection: an attempt cut half way.
func cut(w http.ResponseWriter, body []byte, kv ...string) {
	setHeaders(w, kv...)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.Write(body[:len(body)/2])
	abort(w)
}

func abort(w http.ResponseWriter) {
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

func setHeaders(w http.ResponseWriter, kv ...string) {
	for i := 0; i < len(kv); i += 2 {
		w.Header().Set(kv[i], kv[i+1])
	}
}

// whole answers 200 with body and its Content-Length.
func whole(w http.ResponseWriter, body []byte, kv ...string) {
	setHeaders(w, kv...)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.Write(body)
}

// asked is the first byte r's Range asks for ("bytes=<first>-"); -1 when
// it has none.
func asked(r *http.Request) int {
	first := -1
	fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &first)
	return first
}

// rest answers a request for bytes=<first>- with the rest of body, whatever
// its If-Range says (as many servers do), with Content-Range cr (a
// well-formed one when empty) and headers kv.
func rest(w http.ResponseWriter, r *http.Request, body []byte, cr string, kv ...string) {
	first := asked(r)
	if cr == "" {
		cr = fmt.Sprintf("bytes %d-%d/%d", first, len(body)-1, len(body))
	}
	setHeaders(w, kv...)
	w.Header().Set("Content-Range", cr)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)-first))
	w.WriteHeader(http.StatusPartialContent)
	w.Write(body[first:])
}

// cutRest is rest (a well-formed Content-Range), cut half way.
func cutRest(w http.ResponseWriter, r *http.Request, body []byte, kv ...string) {
	first := asked(r)
	setHeaders(w, kv...)
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, len(body)-1, len(body)))
	w.Header().Set("Content-Length", fmt.Sprint(len(body)-first))
	w.WriteHeader(http.StatusPartialContent)
	w.Write(body[first : first+(len(body)-first)/2])
	abort(w)
}

// Headers of the first answer, pairs of name and value: a strong ETag, a
// weak one, a weak one with an old date.
var (
	v1          = []string{"ETag", `"v1"`}
	weak        = []string{"ETag", `W/"w"`}
	weakAndDate = []string{"ETag", `W/"w"`, "Last-Modified", hourAgo}
)

// afterCut is a host whose first answer is video, declared whole with
// headers first and cut half way; later, resume answers a request with a
// Range and a request from byte 0 gets plain whole, with headers kv (when
// plain is nil, the first answer again).
func afterCut(first []string, resume http.HandlerFunc, plain []byte, kv ...string) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		switch {
		case asked(r) > 0:
			resume(w, r)
		case n == 1 || plain == nil:
			cut(w, video, first...)
		default:
			whole(w, plain, kv...)
		}
	}
}

// host is a media server that keeps each request's headers and answers
// with serve (n counts requests from 1).
type host struct {
	mu    sync.Mutex
	reqs  []http.Header
	serve func(n int, w http.ResponseWriter, r *http.Request)
}

func (h *host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.reqs = append(h.reqs, r.Header.Clone())
	n := len(h.reqs)
	h.mu.Unlock()
	h.serve(n, w, r)
}

func (h *host) requests() []http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

// exhausted stands for the attempts of a download retried until the retry
// policy gave up.
const exhausted = -1

// TestDownloadHostMisbehaves: media hosts, CDNs and proxies that answer
// other than asked, in the ways real ones do. Each download runs attempt
// after attempt as Temporal runs it with the shipped options
// (its retry policy's window, DOWNLOAD_RETRY_WINDOW, and non-retryable
// types), and ends either with the whole media
// on disk (the right bytes, size and SHA-256) or failed, as asserted, with
// nothing left in MEDIA_DIR.
func TestDownloadHostMisbehaves(t *testing.T) {
	t.Parallel()
	recent := time.Now().Truncate(time.Second)
	tests := []struct {
		name  string
		serve func(n int, w http.ResponseWriter, r *http.Request)
		// want is the media the download must save; nil when it must fail
		// after attempts (exhausted: retried until the retry policy gave
		// up), with an error of type wantType ("": retryable) whose message
		// contains wantMsg.
		want     []byte
		wantType string
		wantMsg  string
		attempts int
		// resumed: the second request asks for the rest; fresh: no request
		// asks for a range.
		resumed, fresh bool
	}{
		// 206, 200 and 416 in the wrong places.
		{
			name: "206 to a request without Range",
			serve: func(_ int, w http.ResponseWriter, r *http.Request) {
				// A cache that holds the first 64 KiB answers with them.
				w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-65535/%d", len(video)))
				w.WriteHeader(http.StatusPartialContent)
				w.Write(video[:65536])
			},
			wantType: activities.ErrTypeInvalidResponse, wantMsg: "206 Partial Content to a request without Range", attempts: 1,
		},
		{
			name: "206 from another byte than asked, cut",
			serve: afterCut(v1, func(w http.ResponseWriter, r *http.Request) {
				r.Header.Set("Range", fmt.Sprintf("bytes=%d-", asked(r)+4096))
				cutRest(w, r, video, v1...)
			}, video, v1...),
			want: video, resumed: true,
		},
		{
			name: "206 from byte 0 to a resume, cut",
			serve: afterCut(v1, func(w http.ResponseWriter, r *http.Request) {
				r.Header.Set("Range", "bytes=0-")
				cutRest(w, r, video, v1...)
			}, video, v1...),
			want: video, resumed: true,
		},
		{
			name: "Range ignored: 200 to a resume",
			serve: afterCut(v1, func(w http.ResponseWriter, _ *http.Request) {
				whole(w, video, v1...)
			}, video, v1...),
			want: video, resumed: true,
		},
		{
			name: "416 to a resume",
			serve: afterCut(v1, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(video)))
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			}, video, v1...),
			want: video, resumed: true,
		},
		{
			name:     "204 No Content",
			serve:    func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) },
			wantType: activities.ErrTypeInvalidResponse, wantMsg: "204 No Content", attempts: 1,
		},

		// Content-Range wrong or changing.
		{
			name: "206 ending short of the total",
			serve: afterCut(v1, func(w http.ResponseWriter, r *http.Request) {
				short := video[:len(video)-1]
				rest(w, r, short, fmt.Sprintf("bytes %d-%d/%d", asked(r), len(short)-1, len(video)), v1...)
			}, video, v1...),
			want: video, resumed: true,
		},
		{
			name: "206 with another total: the media grew under the same ETag",
			serve: afterCut(v1, func(w http.ResponseWriter, r *http.Request) {
				cutRest(w, r, longer, v1...)
			}, longer, v1...),
			wantType: activities.ErrTypeInvalidResponse, wantMsg: fmt.Sprintf("%d bytes for the version (\"v1\") it had declared as %d bytes", len(longer), len(video)),
			attempts: 2, resumed: true,
		},
		{
			name: "206 with a malformed Content-Range",
			serve: afterCut(v1, func(w http.ResponseWriter, r *http.Request) {
				rest(w, r, video, fmt.Sprintf("bytes=%d-%d/%d", asked(r), len(video)-1, len(video)), v1...)
			}, video, v1...),
			want: video, resumed: true,
		},
		{
			// A proxy serving a truncated copy under the origin's ETag.
			name: "200 with another length for the same ETag",
			serve: afterCut(v1, func(w http.ResponseWriter, _ *http.Request) {
				whole(w, video[:150_000], v1...)
			}, video[:150_000], v1...),
			wantType: activities.ErrTypeInvalidResponse, wantMsg: fmt.Sprintf("150000 bytes for the version (\"v1\") it had declared as %d bytes", len(video)),
			attempts: 2, resumed: true,
		},

		// Content-Length against the body.
		{
			// A cache whose copy was cut at half the media.
			name: "Content-Length longer than the body, every time",
			serve: afterCut(v1, func(w http.ResponseWriter, r *http.Request) {
				first := asked(r)
				setHeaders(w, "Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, len(video)-1, len(video)),
					"Content-Length", fmt.Sprint(len(video)-first))
				setHeaders(w, v1...)
				w.WriteHeader(http.StatusPartialContent)
				abort(w) // nothing past the half it has
			}, nil),
			attempts: exhausted, resumed: true,
		},
		{
			name: "206 with a Content-Length shorter than its range",
			serve: afterCut(v1, func(w http.ResponseWriter, r *http.Request) {
				first := asked(r)
				setHeaders(w, "Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, len(video)-1, len(video)), "Content-Length", "1000")
				setHeaders(w, v1...)
				w.WriteHeader(http.StatusPartialContent)
				w.Write(video[first : first+1000])
			}, video, v1...),
			want: video, resumed: true,
		},

		// Bodies without a Content-Length.
		{
			name: "a chunked body cut, every time",
			serve: func(_ int, w http.ResponseWriter, _ *http.Request) {
				setHeaders(w, v1...)
				w.Write(video[:len(video)/2])
				abort(w)
			},
			attempts: exhausted, fresh: true,
		},
		{
			name: "a chunked 206 that ends early",
			serve: afterCut(v1, func(w http.ResponseWriter, r *http.Request) {
				first := asked(r)
				setHeaders(w, "Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, len(video)-1, len(video)))
				setHeaders(w, v1...)
				w.WriteHeader(http.StatusPartialContent)
				w.(http.Flusher).Flush() // chunked from here
				w.Write(video[first : first+1000])
			}, video, v1...),
			want: video, resumed: true,
		},
		{
			name: "a body ended by closing the connection",
			serve: func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Transfer-Encoding", "identity") // neither a length nor chunks
				w.Write(video[:len(video)/2])
			},
			wantType: activities.ErrTypeInvalidResponse, wantMsg: "neither Content-Length nor chunked encoding", attempts: 1,
		},

		// Content-Encoding.
		{
			name: "gzip-encoded (an object stored so)",
			serve: func(_ int, w http.ResponseWriter, _ *http.Request) {
				whole(w, gzipped(video), "Content-Encoding", "gzip", "ETag", `"g1"`)
			},
			want: video,
		},
		{
			name: "x-gzip-encoded, cut, then served by ranges of the encoded bytes",
			serve: func(n int, w http.ResponseWriter, r *http.Request) {
				setHeaders(w, "Content-Encoding", "x-gzip", "ETag", `"g1"`)
				if n == 1 {
					cut(w, gzipped(video))
				}
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(gzipped(video)))
			},
			want: video, fresh: true,
		},
		{
			name: "labelled gzip, not gzip",
			serve: func(_ int, w http.ResponseWriter, _ *http.Request) {
				whole(w, video, "Content-Encoding", "gzip")
			},
			wantType: activities.ErrTypeInvalidResponse, wantMsg: "gzip body that does not decode", attempts: 1,
		},
		{
			name: "Content-Encoding br",
			serve: func(_ int, w http.ResponseWriter, _ *http.Request) {
				whole(w, brotli, "Content-Encoding", "br")
			},
			wantType: activities.ErrTypeInvalidResponse, wantMsg: `Content-Encoding "br"`, attempts: 1,
		},
		{
			name: "any coding when the request names none (RFC 9110, 12.5.3)",
			serve: func(_ int, w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Accept-Encoding") == "" {
					whole(w, brotli, "Content-Encoding", "br")
					return
				}
				whole(w, video, "Content-Encoding", "identity")
			},
			want: video,
		},
		{
			name: "206 gzip-encoded by a proxy that keeps the range's Content-Length",
			serve: afterCut(v1, func(w http.ResponseWriter, r *http.Request) {
				first := asked(r)
				setHeaders(w, "Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, len(video)-1, len(video)),
					"Content-Length", fmt.Sprint(len(video)-first), "Content-Encoding", "gzip")
				setHeaders(w, v1...)
				w.WriteHeader(http.StatusPartialContent)
				w.Write(gzipped(video[first:]))
				abort(w)
			}, video, v1...),
			want: video, resumed: true,
		},

		// Validators: changed, weak.
		{
			name: "206 for a new version: If-Range ignored",
			serve: afterCut(v1, func(w http.ResponseWriter, r *http.Request) {
				rest(w, r, edited, "", "ETag", `"v2"`)
			}, edited, "ETag", `"v2"`),
			want: edited, resumed: true,
		},
		{
			name: "206 for a new version by Last-Modified: If-Range ignored",
			serve: afterCut([]string{"Last-Modified", hourAgo}, func(w http.ResponseWriter, r *http.Request) {
				rest(w, r, edited, "", "Last-Modified", halfHourAgo)
			}, edited, "Last-Modified", halfHourAgo),
			want: edited, resumed: true,
		},
		{
			name: "a weak ETag, the media edited meanwhile, If-Range ignored",
			serve: afterCut(weak, func(w http.ResponseWriter, r *http.Request) {
				rest(w, r, edited, "", weak...)
			}, edited, weak...),
			want: edited, fresh: true,
		},
		{
			name: "a weak ETag and an old Last-Modified, the media edited meanwhile",
			serve: afterCut(weakAndDate, func(w http.ResponseWriter, r *http.Request) {
				rest(w, r, edited, "", weakAndDate...)
			}, edited, weakAndDate...),
			want: edited, fresh: true,
		},
		{
			name: "Last-Modified less than a minute old, the media edited within it",
			serve: func(n int, w http.ResponseWriter, r *http.Request) {
				// Edited within the second of its date; http.ServeContent
				// honours If-Range by the date, as it should.
				if n == 1 {
					cut(w, video, "Last-Modified", recent.UTC().Format(http.TimeFormat))
				}
				http.ServeContent(w, r, "", recent, bytes.NewReader(edited))
			},
			want: edited, fresh: true,
		},
		{
			name: "resumed by an old Last-Modified",
			serve: func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					cut(w, video, "Last-Modified", hourAgo)
				}
				modified, _ := http.ParseTime(hourAgo)
				http.ServeContent(w, r, "", modified, bytes.NewReader(video))
			},
			want: video, resumed: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &host{serve: tc.serve}
			ts := httptest.NewServer(h)
			t.Cleanup(ts.Close)
			a := &activities.Activities{MediaDir: t.TempDir(), MediaAllowedHosts: []string{"127.0.0.1"}}
			in := activities.DownloadInput{JobID: "job", URL: ts.URL + "/clip.mp4?sig=s3cr3t"}

			m, attempts, err := downloadAsShipped(t, a, in)

			reqs := h.requests()
			if tc.resumed {
				require.NotEmpty(t, reqs[1].Get("Range"), "the second request resumes")
			}
			if tc.fresh {
				for i, r := range reqs {
					require.Empty(t, r.Get("Range"), "request %d: nothing to resume", i+1)
				}
			}
			if tc.want != nil {
				require.NoError(t, err)
				got, err := os.ReadFile(m.Path)
				require.NoError(t, err)
				require.True(t, bytes.Equal(tc.want, got), "the file is the media (%d bytes), got %d bytes", len(tc.want), len(got))
				sum := sha256.Sum256(tc.want)
				require.Equal(t, hex.EncodeToString(sum[:]), m.SHA256)
				require.EqualValues(t, len(tc.want), m.Size)
				require.Equal(t, []string{filepath.Base(m.Path)}, activities.Files(t, filepath.Dir(m.Path)), "no partial file or validator left")
				return
			}
			require.Error(t, err)
			require.NotContains(t, err.Error(), "s3cr3t", "errors never show the URL")
			if tc.attempts == exhausted {
				require.Greater(t, attempts, 2, "retried until the retry policy gave up (error %v)", err)
			} else {
				require.Equal(t, tc.attempts, attempts, "attempts made (error %v)", err)
			}
			var appErr *temporal.ApplicationError
			if tc.wantType == "" {
				require.False(t, errors.As(err, &appErr) && appErr.NonRetryable(), "retried: %v", err)
			} else {
				require.ErrorAs(t, err, &appErr)
				require.Equal(t, tc.wantType, appErr.Type(), "error %v", err)
				require.True(t, appErr.NonRetryable())
				require.ErrorContains(t, err, tc.wantMsg)
			}
			require.Empty(t, activities.Files(t, a.MediaDir), "no file, partial file or job directory left")
		})
	}
}

// TestDownloadHTTP2WithoutLength: an HTTP/2 body without Content-Length
// is accepted: HTTP/2's framing shows where it ends, a cut is an error.
func TestDownloadHTTP2WithoutLength(t *testing.T) {
	t.Parallel()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // no Content-Length
		w.Write(video)
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	policy, err := egress.Parse([]string{"127.0.0.1"})
	require.NoError(t, err)
	client := activities.NewMediaClient(policy)
	client.Transport.(*http.Transport).TLSClientConfig = ts.Client().Transport.(*http.Transport).TLSClientConfig
	a := &activities.Activities{MediaDir: t.TempDir(), MediaHTTP: client}

	m, _, err := downloadAsShipped(t, a, activities.DownloadInput{JobID: "job", URL: ts.URL + "/clip.mp4"})
	require.NoError(t, err)
	require.EqualValues(t, len(video), m.Size)
	sum := sha256.Sum256(video)
	require.Equal(t, hex.EncodeToString(sum[:]), m.SHA256)
}

// TestDownloadLastAttemptOfTheWindow: when the download's retries are
// bounded by a window (a ScheduleToClose timeout) rather than a number of
// attempts, the last attempt that fits in it removes the partial file it
// would otherwise keep for a retry: the last whose retry, after the
// backoff or the host's Retry-After, would start past the window.
func TestDownloadLastAttemptOfTheWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		window time.Duration
		resume http.HandlerFunc
	}{
		// Attempts at 0 s and 5 s (InitialInterval); the next, 10 s later
		// (the backoff doubled), would start past the window.
		{"the backoff", 12 * time.Second, func(w http.ResponseWriter, r *http.Request) { cutRest(w, r, video, v1...) }},
		// The backoff (10 s) fits; the host's Retry-After does not.
		{"Retry-After", time.Minute, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusServiceUnavailable)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &host{serve: afterCut(v1, tc.resume, nil)}
			ts := httptest.NewServer(h)
			t.Cleanup(ts.Close)
			a := &activities.Activities{MediaDir: t.TempDir(), MediaAllowedHosts: []string{"127.0.0.1"}}
			policy := *shipped.RetryPolicy
			policy.MaximumAttempts = 0
			opts := shipped
			opts.RetryPolicy = &policy
			opts.ScheduleToCloseTimeout = tc.window

			_, attempts, err := downloadAs(t, opts, a, activities.DownloadInput{JobID: "job", URL: ts.URL + "/clip.mp4"})
			require.Error(t, err)
			require.Equal(t, 2, attempts)
			reqs := h.requests()
			require.NotEmpty(t, reqs[1].Get("Range"), "the partial file was kept for the second attempt")
			require.Empty(t, activities.Files(t, a.MediaDir), "no partial file, validator or job directory left")
		})
	}
}

// downloadAsShipped is downloadAs with the shipped options.
func downloadAsShipped(t *testing.T, a *activities.Activities, in activities.DownloadInput) (activities.Media, int, error) {
	t.Helper()
	return downloadAs(t, shipped, a, in)
}

// downloadAs runs DownloadMedia attempt after attempt, as Temporal does
// with the activity options opts: until one succeeds, fails with a
// non-retryable error (by its flag or the retry policy's
// NonRetryableErrorTypes), or fails with no retry left: the retry policy's
// MaximumAttempts reached, or the next retry, after its backoff, past the
// ScheduleToClose window. The backoffs are not waited for: each attempt
// is told (activity.GetInfo's ScheduledTime) that they were.
func downloadAs(t *testing.T, opts workflow.ActivityOptions, a *activities.Activities, in activities.DownloadInput) (activities.Media, int, error) {
	t.Helper()
	policy := opts.RetryPolicy
	var elapsed time.Duration // since the first attempt was scheduled
	backoff := policy.InitialInterval
	for attempt := int32(1); ; attempt++ {
		info := asAttempt{opts: opts, attempt: attempt, scheduled: time.Now().Add(-elapsed)}
		m, err := attemptDownload(t, a, in, &info)
		var appErr *temporal.ApplicationError
		done := err == nil || errors.As(err, &appErr) &&
			(appErr.NonRetryable() || slices.Contains(policy.NonRetryableErrorTypes, appErr.Type()))
		delay := backoff
		if appErr != nil && appErr.NextRetryDelay() > 0 {
			delay = appErr.NextRetryDelay()
		}
		if done || attempt == policy.MaximumAttempts ||
			opts.ScheduleToCloseTimeout > 0 && elapsed+delay >= opts.ScheduleToCloseTimeout {
			return m, int(attempt), err
		}
		elapsed += delay
		backoff = min(time.Duration(float64(backoff)*policy.BackoffCoefficient), policy.MaximumInterval)
	}
}

// attemptDownload runs one attempt, which activity.GetInfo reports as
// info says.
func attemptDownload(t *testing.T, a *activities.Activities, in activities.DownloadInput, info *asAttempt) (activities.Media, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{info}})
	env.RegisterActivity(a.DownloadMedia)
	var m activities.Media
	v, err := env.ExecuteActivity(a.DownloadMedia, in)
	if err == nil {
		require.NoError(t, v.Get(&m))
	}
	return m, err
}

// asAttempt makes activity.GetInfo report an attempt as Temporal would:
// its number, the retry policy, heartbeat and ScheduleToClose timeouts of
// opts, and when the first attempt was scheduled. The test environment
// sets none of them.
type asAttempt struct {
	interceptor.WorkerInterceptorBase
	opts      workflow.ActivityOptions
	attempt   int32
	scheduled time.Time
}

func (w *asAttempt) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &attemptInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, info: w}
}

type attemptInbound struct {
	interceptor.ActivityInboundInterceptorBase
	info *asAttempt
}

func (i *attemptInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return i.Next.Init(&attemptOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}, info: i.info})
}

type attemptOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	info *asAttempt
}

func (o *attemptOutbound) GetInfo(ctx context.Context) activity.Info {
	info := o.Next.GetInfo(ctx)
	info.Attempt = o.info.attempt
	info.RetryPolicy = o.info.opts.RetryPolicy
	info.HeartbeatTimeout = o.info.opts.HeartbeatTimeout
	info.ScheduleToCloseTimeout = o.info.opts.ScheduleToCloseTimeout
	info.ScheduledTime = o.info.scheduled
	return info
}
