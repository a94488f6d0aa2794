package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/mediaflow/mediaflow/activities"
)

// recorder is a media server that keeps each request's headers and
// answers with serve.
type recorder struct {
	mu      sync.Mutex
	headers []http.Header
	serve   func(n int, w http.ResponseWriter, r *http.Request) // n counts from 1
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.headers = append(rc.headers, r.Header.Clone())
	n := len(rc.headers)
	rc.mu.Unlock()
	rc.serve(n, w, r)
}

func (rc *recorder) requests() []http.Header {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.headers
}

// cut sends the first half of video, announced whole with its ETag, and
// drops the connection.
func cut(w http.ResponseWriter, video []byte) {
	w.Header().Set("ETag", `"v1"`)
	w.Header().Set("Content-Length", fmt.Sprint(len(video)))
	w.Write(video[:len(video)/2])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

// TestDownloadRefusesLoopbackByDefault: without MEDIA_ALLOWED_HOSTS, an
// event whose media_url is the worker's own metrics endpoint, or any other
// loopback server, fails the workflow at once with ForbiddenAddress;
// nothing is fetched or saved.
func TestDownloadRefusesLoopbackByDefault(t *testing.T) {
	media := &recorder{serve: func(_ int, w http.ResponseWriter, _ *http.Request) { w.Write([]byte("secret")) }}
	mediaSrv := httptest.NewServer(media)
	defer mediaSrv.Close()
	mediaDir := t.TempDir()
	a := newApp(t, func(c *appConfig) { c.env["MEDIA_DIR"] = mediaDir })

	for _, url := range []string{a.metricsURL + "?sig=s3cr3t", mediaSrv.URL + "/clip.mp4?sig=s3cr3t"} {
		id := newEventID()
		require.Equal(t, "started", deliver(t, a.url, id, eventFor("job-ssrf-"+id, "completed", url), secret).body["status"])
		_, err := a.result(t, id)
		var actErr *temporal.ActivityError
		require.True(t, errors.As(err, &actErr), "got %v", err)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(actErr.Unwrap(), &appErr), "got %v", err)
		require.Equal(t, activities.ErrTypeForbiddenAddress, appErr.Type())
		require.Contains(t, err.Error(), "127.0.0.1 is a loopback address")
		require.NotContains(t, err.Error(), "s3cr3t")
	}
	require.Empty(t, media.requests(), "nothing reached the media server")
	entries, err := os.ReadDir(mediaDir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestDownloadResumedByTheRetry: the first attempt is cut half way; the
// retry Temporal schedules asks for the rest (Range, If-Range) and the
// job's row holds the whole file's size and checksum.
func TestDownloadResumedByTheRetry(t *testing.T) {
	t.Parallel()
	video := bytes.Repeat([]byte("0123456789"), 50_000)
	media := &recorder{serve: func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			cut(w, video)
		}
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(video))
	}}
	mediaSrv := httptest.NewServer(media)
	defer mediaSrv.Close()
	a := newApp(t, func(c *appConfig) {
		c.env["MEDIA_DIR"] = t.TempDir()
		c.env["MEDIA_ALLOWED_HOSTS"] = "127.0.0.1"
	})
	id, job := newEventID(), "job-resume-"+newEventID()
	require.Equal(t, "started", deliver(t, a.url, id, eventFor(job, "completed", mediaSrv.URL+"/clip.mp4"), secret).body["status"])
	_, err := a.result(t, id)
	require.NoError(t, err)

	reqs := media.requests()
	require.Len(t, reqs, 2)
	require.True(t, strings.HasPrefix(reqs[1].Get("Range"), "bytes="), "the retry resumes: %v", reqs[1])
	require.NotEqual(t, "bytes=0-", reqs[1].Get("Range"))
	require.Equal(t, `"v1"`, reqs[1].Get("If-Range"))
	sum := sha256.Sum256(video)
	row, err := a.store.Job(context.Background(), job)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(sum[:]), row.MediaSHA256)
	require.EqualValues(t, len(video), row.MediaSize)
	saved, err := os.ReadFile(row.MediaPath)
	require.NoError(t, err)
	require.Equal(t, video, saved)
}

// TestDownloadOutOfRetriesLeavesNothing: a partial file is kept between
// attempts (the second asks for a range), and removed, with the job's
// directory, when the last attempt in the download's window fails
// (DOWNLOAD_RETRY_WINDOW: two attempts, 5 s apart, fit in 12 s, with time
// to spare on a busy machine; a third, 10 s after the second, does not).
func TestDownloadOutOfRetriesLeavesNothing(t *testing.T) {
	t.Parallel()
	video := bytes.Repeat([]byte("x"), 100_000)
	media := &recorder{serve: func(_ int, w http.ResponseWriter, _ *http.Request) { cut(w, video) }}
	mediaSrv := httptest.NewServer(media)
	defer mediaSrv.Close()
	mediaDir := t.TempDir()
	a := newApp(t, func(c *appConfig) {
		c.env["MEDIA_DIR"] = mediaDir
		c.env["MEDIA_ALLOWED_HOSTS"] = "127.0.0.1"
		c.env["DOWNLOAD_RETRY_WINDOW"] = "12s"
	})
	id := newEventID()
	require.Equal(t, "started", deliver(t, a.url, id, eventFor("job-out-"+id, "completed", mediaSrv.URL+"/clip.mp4"), secret).body["status"])
	_, err := a.result(t, id)
	require.Error(t, err)

	reqs := media.requests()
	require.Len(t, reqs, 2)
	require.NotEmpty(t, reqs[1].Get("Range"), "the partial file was kept for the second attempt")
	entries, err := os.ReadDir(mediaDir)
	require.NoError(t, err)
	require.Empty(t, entries, "no partial file, validator or job directory left")
}
