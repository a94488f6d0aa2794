package activities

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gofrs/flock"
	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/egress"
)

// loopback lets tests download from their httptest servers on 127.0.0.1.
var loopback = []string{"127.0.0.1"}

// hits counts a server's requests and keeps their headers.
type hits struct {
	mu      sync.Mutex
	headers []http.Header
}

func (h *hits) add(r *http.Request) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.headers = append(h.headers, r.Header.Clone())
	return len(h.headers)
}

func (h *hits) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.headers)
}

func (h *hits) header(i int) http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.headers[i]
}

// port is ts's port.
func port(t *testing.T, ts *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(ts.URL)
	require.NoError(t, err)
	return u.Port()
}

// requireForbidden checks err is a non-retryable ForbiddenAddress error
// that names the address's class and not the URL's path or query.
func requireForbidden(t *testing.T, err error, class string) {
	t.Helper()
	appErr := appError(t, err)
	require.Equal(t, ErrTypeForbiddenAddress, appErr.Type(), "error %v", err)
	require.True(t, appErr.NonRetryable())
	require.Contains(t, err.Error(), class)
	require.Contains(t, err.Error(), "MEDIA_ALLOWED_HOSTS")
	require.NotContains(t, err.Error(), "s3cr3t", "errors never show the URL (a presigned one is a secret)")
}

// TestDownloadRefusesNonPublicAddresses: by default a media_url that
// leads to the worker's own machine, its network or cloud metadata is
// refused before a byte is sent, whatever the spelling.
func TestDownloadRefusesNonPublicAddresses(t *testing.T) {
	var h hits
	ts := mediaServer(t, func(w http.ResponseWriter, r *http.Request) { h.add(r); serveContent(w, r) })
	p := port(t, ts)
	tests := []struct{ name, url, class string }{
		{"loopback IP", "http://127.0.0.1:" + p + "/metrics?sig=s3cr3t", "loopback"},
		{"a name that resolves to loopback", "http://localhost:" + p + "/s3cr3t.mp4", "loopback"},
		{"IPv6 loopback", "http://[::1]:" + p + "/s3cr3t.mp4", "loopback"},
		{"IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]:" + p + "/s3cr3t.mp4", "loopback"},
		{"the unspecified address, which reaches this machine", "http://0.0.0.0:" + p + "/s3cr3t.mp4", "unspecified"},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/s3cr3t", "link-local"},
		{"private network", "http://10.1.2.3/s3cr3t.mp4", "private"},
		{"private network, https", "https://192.168.0.10:8443/s3cr3t.mp4", "private"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &Activities{MediaDir: t.TempDir()}
			_, err := execute[Media](t, a.DownloadMedia, DownloadInput{JobID: "j", URL: tc.url})
			requireForbidden(t, err, tc.class)
			require.Empty(t, files(t, a.MediaDir), "nothing left behind")
		})
	}
	require.Zero(t, h.count(), "no request reached the server")
}

// TestDownloadRedirectToForbiddenAddress: the address is checked on every
// redirect, not only the first hop's.
func TestDownloadRedirectToForbiddenAddress(t *testing.T) {
	var h hits
	ts := mediaServer(t, func(w http.ResponseWriter, r *http.Request) {
		h.add(r)
		switch r.URL.Path {
		case "/to-ip":
			_, p, _ := net.SplitHostPort(r.Host)
			http.Redirect(w, r, "http://127.0.0.1:"+p+"/metrics", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		default:
			serveContent(w, r)
		}
	})
	p := port(t, ts)
	tests := []struct {
		name, url string
		allowed   []string
		class     string
	}{
		// localhost is allowed by name; 127.0.0.1, the same machine, is not.
		{"allowed name to a loopback IP", "http://localhost:" + p + "/to-ip", []string{"localhost"}, "loopback"},
		{"allowed IP to cloud metadata", "http://127.0.0.1:" + p + "/to-metadata", loopback, "link-local"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.count()
			a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: tc.allowed}
			_, err := execute[Media](t, a.DownloadMedia, DownloadInput{JobID: "j", URL: tc.url})
			requireForbidden(t, err, tc.class)
			require.Equal(t, before+1, h.count(), "the first hop only")
			require.Empty(t, files(t, a.MediaDir))
		})
	}
}

// TestDownloadAllowedHosts: hosts on the allow list, by name, IP or CIDR,
// are downloaded from, redirects among them too.
func TestDownloadAllowedHosts(t *testing.T) {
	ts := mediaServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/clip.mp4", http.StatusFound)
			return
		}
		serveContent(w, r)
	})
	p := port(t, ts)
	tests := []struct {
		allowed []string
		url     string
	}{
		{[]string{"127.0.0.1"}, "http://127.0.0.1:" + p + "/clip.mp4"},
		{[]string{"127.0.0.0/8"}, "http://127.0.0.1:" + p + "/moved"},
		{[]string{"LocalHost."}, "http://localhost:" + p + "/clip.mp4"},
		{[]string{"::1", "127.0.0.1"}, "http://localhost:" + p + "/moved"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.allowed, ","), func(t *testing.T) {
			a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: tc.allowed}
			m, err := execute[Media](t, a.DownloadMedia, DownloadInput{JobID: "j", URL: tc.url})
			require.NoError(t, err)
			require.Equal(t, sha(content), m.SHA256)
		})
	}
}

// TestMediaClientUsesNoProxy: a proxy would dial the media's host itself,
// out of the address check's sight.
func TestMediaClientUsesNoProxy(t *testing.T) {
	policy, err := egress.Parse(nil)
	require.NoError(t, err)
	require.Nil(t, NewMediaClient(policy).Transport.(*http.Transport).Proxy)
}

// TestDownloadLaterEventWithOtherMedia: a later event for the same job
// whose media has the same file name gets its own file, downloaded; a
// rerun of either finds its own.
func TestDownloadLaterEventWithOtherMedia(t *testing.T) {
	other := bytes.Repeat([]byte("other "), 1000)
	ts := mediaServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") == "2" || strings.HasPrefix(r.URL.Path, "/v2/") {
			w.Write(other)
			return
		}
		serveContent(w, r)
	})
	a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: loopback}
	download := func(url string) Media {
		t.Helper()
		m, err := execute[Media](t, a.DownloadMedia, DownloadInput{JobID: "job-1", URL: url})
		require.NoError(t, err)
		got, err := os.ReadFile(m.Path)
		require.NoError(t, err)
		require.Equal(t, m.SHA256, sha(got), "the row's checksum is the file's")
		return m
	}
	for _, urls := range [][2]string{
		{ts.URL + "/v1/clip.mp4", ts.URL + "/v2/clip.mp4"},
		{ts.URL + "/clip.mp4?v=1", ts.URL + "/clip.mp4?v=2"},
	} {
		first := download(urls[0])
		second := download(urls[1])
		require.False(t, second.Existing, "the new media is fetched")
		require.NotEqual(t, first.Path, second.Path)
		require.Equal(t, sha(other), second.SHA256)
		require.EqualValues(t, len(other), second.Size)

		again := download(urls[0])
		require.True(t, again.Existing)
		require.Equal(t, first.Path, again.Path)
		require.Equal(t, sha(content), again.SHA256)
	}
}

// cutServer serves body with etag: whole from the second request on, and
// the first time only its first half before it drops the connection.
// Range and If-Range are honoured when ranges is true (http.ServeContent).
type cutServer struct {
	hits
	mu     sync.Mutex
	body   []byte
	etag   string
	ranges bool
}

func (s *cutServer) set(body []byte, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag = body, etag
}

func (s *cutServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.add(r)
	s.mu.Lock()
	body, etag, ranges := s.body, s.etag, s.ranges
	s.mu.Unlock()
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	switch {
	case n == 1:
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case ranges:
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	default:
		w.Write(body)
	}
}

// interrupted runs a download whose first attempt is cut half way and
// returns the partial file's size after it.
func interrupted(t *testing.T, a *Activities, in DownloadInput) int64 {
	t.Helper()
	_, err := execute[Media](t, a.DownloadMedia, in)
	require.Error(t, err)
	require.False(t, appError(t, err).NonRetryable(), "a reset is retried")
	st, err := os.Stat(partPath(t, a, in))
	require.NoError(t, err, "the partial file is kept for the retry")
	require.Positive(t, st.Size())
	return st.Size()
}

func partPath(t *testing.T, a *Activities, in DownloadInput) string {
	t.Helper()
	u, err := url.Parse(in.URL)
	require.NoError(t, err)
	return pathsFor(a.MediaDir, in.JobID, in.URL, u).part
}

// TestDownloadResumes: a retry asks for the rest only, validated by the
// first answer's ETag, and the file and its checksum are whole.
func TestDownloadResumes(t *testing.T) {
	srv := &cutServer{body: content, etag: `"v1"`, ranges: true}
	ts := mediaServer(t, srv.ServeHTTP)
	a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: loopback}
	in := DownloadInput{JobID: "job-r", URL: ts.URL + "/clip.mp4"}

	have := interrupted(t, a, in)
	m, err := execute[Media](t, a.DownloadMedia, in)
	require.NoError(t, err)

	require.Equal(t, 2, srv.count())
	require.Empty(t, srv.header(0).Get("Range"))
	require.Equal(t, "identity", srv.header(0).Get("Accept-Encoding"), "bytes as stored: no transparent gzip")
	require.Equal(t, fmt.Sprintf("bytes=%d-", have), srv.header(1).Get("Range"))
	require.Equal(t, `"v1"`, srv.header(1).Get("If-Range"))
	got, err := os.ReadFile(m.Path)
	require.NoError(t, err)
	require.Equal(t, content, got)
	require.Equal(t, sha(content), m.SHA256, "the checksum covers the bytes of both attempts")
	require.EqualValues(t, len(content), m.Size)
	require.Equal(t, []string{filepath.Base(m.Path)}, files(t, filepath.Dir(m.Path)), "no partial file or validator left")
}

// TestDownloadStartsOver: when the media changed since the partial file,
// or the server ignores Range, the retry downloads it all again.
func TestDownloadStartsOver(t *testing.T) {
	changed := bytes.Repeat([]byte("new frame "), 20000)
	tests := []struct {
		name      string
		ranges    bool
		then      []byte // the body from the second request on
		thenETag  string
		wantRange bool // whether the retry asks for a range
	}{
		{name: "validator changed", ranges: true, then: changed, thenETag: `"v2"`, wantRange: true},
		{name: "range not supported", ranges: false, then: content, thenETag: `"v1"`, wantRange: true},
		{name: "weak ETag, nothing to validate", ranges: true, then: content, thenETag: `W/"v1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			etag := `"v1"`
			if strings.HasPrefix(tc.thenETag, "W/") {
				etag = tc.thenETag
			}
			srv := &cutServer{body: content, etag: etag, ranges: tc.ranges}
			ts := mediaServer(t, srv.ServeHTTP)
			a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: loopback}
			in := DownloadInput{JobID: "job-s", URL: ts.URL + "/clip.mp4"}
			if tc.wantRange {
				interrupted(t, a, in)
			} else {
				_, err := execute[Media](t, a.DownloadMedia, in)
				require.Error(t, err)
			}
			srv.set(tc.then, tc.thenETag)

			m, err := execute[Media](t, a.DownloadMedia, in)
			require.NoError(t, err)
			require.Equal(t, tc.wantRange, srv.header(1).Get("Range") != "", "Range: %q", srv.header(1).Get("Range"))
			got, err := os.ReadFile(m.Path)
			require.NoError(t, err)
			require.Equal(t, tc.then, got)
			require.Equal(t, sha(tc.then), m.SHA256)
			require.EqualValues(t, len(tc.then), m.Size)
		})
	}
}

// TestDownloadResumeWithWrongRange: a 206 for another range than asked is
// not appended; the file is downloaded whole.
func TestDownloadResumeWithWrongRange(t *testing.T) {
	var n atomic.Int32
	ts := mediaServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		switch n.Add(1) {
		case 1:
			w.Header().Set("Content-Length", fmt.Sprint(len(content)))
			w.Write(content[:len(content)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case 2: // from byte 0, whatever was asked
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(content)-1, len(content)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(content)
		default:
			w.Write(content)
		}
	})
	a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: loopback}
	in := DownloadInput{JobID: "job-w", URL: ts.URL + "/clip.mp4"}
	interrupted(t, a, in)
	m, err := execute[Media](t, a.DownloadMedia, in)
	require.NoError(t, err)
	require.EqualValues(t, 3, n.Load(), "the wrong 206 is dropped and the media asked for whole")
	require.Equal(t, sha(content), m.SHA256)
	require.EqualValues(t, len(content), m.Size)
}

// TestDownloadCleansUpOnPermanentFailure: a non-retryable failure after an
// interrupted attempt removes the partial file, its validator and the
// job's directory.
func TestDownloadCleansUpOnPermanentFailure(t *testing.T) {
	for _, tc := range []struct {
		name     string
		max      int64
		then     http.HandlerFunc
		wantType string
	}{
		{name: "404", then: http.NotFound, wantType: ErrTypeHTTPStatus},
		{name: "too large", max: int64(len(content)), then: func(w http.ResponseWriter, r *http.Request) {
			w.Write(content)
			w.Write([]byte("and more"))
		}, wantType: ErrTypeMediaTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &cutServer{body: content, etag: `"v1"`}
			var n atomic.Int32
			ts := mediaServer(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					srv.ServeHTTP(w, r)
					return
				}
				tc.then(w, r)
			})
			a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: loopback, MediaMaxBytes: tc.max}
			in := DownloadInput{JobID: "job-c", URL: ts.URL + "/clip.mp4"}
			interrupted(t, a, in)
			_, err := execute[Media](t, a.DownloadMedia, in)
			appErr := appError(t, err)
			require.Equal(t, tc.wantType, appErr.Type(), "error %v", err)
			require.True(t, appErr.NonRetryable())
			require.Empty(t, files(t, a.MediaDir), "no partial file, validator or directory left")
		})
	}
}

// TestDownloadBusy: while another attempt holds the partial file, an
// attempt fails, retryably, and leaves the other's file alone.
func TestDownloadBusy(t *testing.T) {
	ts := mediaServer(t, serveContent)
	a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: loopback}
	in := DownloadInput{JobID: "job-b", URL: ts.URL + "/clip.mp4"}
	part := partPath(t, a, in)
	require.NoError(t, os.MkdirAll(filepath.Dir(part), 0o755))
	require.NoError(t, os.WriteFile(part, []byte("theirs"), 0o600))
	other := flock.New(part)
	ok, err := other.TryLock()
	require.NoError(t, err)
	require.True(t, ok)

	_, err = execute[Media](t, a.DownloadMedia, in)
	appErr := appError(t, err)
	require.Equal(t, ErrTypeDownloadBusy, appErr.Type())
	require.False(t, appErr.NonRetryable())
	got, err := os.ReadFile(part)
	require.NoError(t, err)
	require.Equal(t, "theirs", string(got), "the holder's file is untouched")

	require.NoError(t, other.Unlock())
	m, err := execute[Media](t, a.DownloadMedia, in)
	require.NoError(t, err, "once it is free")
	require.Equal(t, sha(content), m.SHA256)
}

// TestDownloadNamesFromAnyEventData: job IDs and URLs of any bytes and
// length give a file inside MEDIA_DIR that the file system takes.
func TestDownloadNamesFromAnyEventData(t *testing.T) {
	ts := mediaServer(t, serveContent)
	a := &Activities{MediaDir: t.TempDir(), MediaAllowedHosts: loopback}
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct{ jobID, path string }{
		{strings.Repeat("j", 1000), "/" + long + ".mp4"},
		{strings.Repeat("é", 200), "/" + strings.Repeat("%C3%A9", 300)},
		{"../../etc", "/..%2F..%2F" + long},
		{"a\x00b\nc", "/%00%FF%FE%0A.mp4"},
		{"", "/"},
	} {
		m, err := execute[Media](t, a.DownloadMedia, DownloadInput{JobID: tc.jobID, URL: ts.URL + tc.path + "?q=" + long})
		require.NoError(t, err, "job %.20q path %.40q", tc.jobID, tc.path)
		rel, err := filepath.Rel(a.MediaDir, m.Path)
		require.NoError(t, err)
		require.True(t, filepath.IsLocal(rel), rel)
		require.Equal(t, sha(content), m.SHA256)
	}
}

// FuzzPathsFor: whatever the job ID and URL, the paths are
// MEDIA_DIR/<dir>/<name> with each name one printable-ASCII element well
// under NAME_MAX, never "." or "..", and the file system takes them.
func FuzzPathsFor(f *testing.F) {
	for _, seed := range [][2]string{
		{"job-1", "https://m/clip.mp4"},
		{"..", "https://m/.."},
		{"a/b", "https://m/..%2F..%2Fx"},
		{"", "https://m"},
		{"\x00\xff", "https://m/%00%ff%C3%A9?x=1#y"},
		{strings.Repeat("é", 300), "https://m/" + strings.Repeat("a", 3000) + ".mp4"},
		{strings.Repeat(".", 300), "https://m/" + strings.Repeat(".", 300)},
		{"CON", "https://m/" + strings.Repeat("b", 300) + "." + strings.Repeat("c", 300)},
	} {
		f.Add(seed[0], seed[1])
	}
	mediaDir := f.TempDir()
	f.Fuzz(func(t *testing.T, jobID, rawURL string) {
		u, err := url.Parse(rawURL)
		if err != nil {
			return
		}
		p := pathsFor(mediaDir, jobID, rawURL, u)
		for _, path := range []string{p.final, p.part, p.meta} {
			rel, err := filepath.Rel(mediaDir, path)
			require.NoError(t, err)
			elems := strings.Split(rel, string(filepath.Separator))
			require.Len(t, elems, 2, rel)
			for _, e := range elems {
				require.NotContains(t, []string{"", ".", ".."}, e)
				require.LessOrEqual(t, len(e), 200, "well under NAME_MAX (255)")
				require.True(t, utf8.ValidString(e))
				for _, r := range e {
					require.True(t, r > ' ' && r < 0x7f, "printable ASCII: %q", e)
				}
			}
			require.Equal(t, p.dir, filepath.Dir(path))
		}
		require.Equal(t, p, pathsFor(mediaDir, jobID, rawURL, u), "the same event data, the same paths")
		require.NoError(t, os.MkdirAll(p.dir, 0o755))
		require.NoError(t, os.WriteFile(p.part, nil, 0o600), "the file system takes it")
		require.NoError(t, os.Remove(p.part))
	})
}

// TestJobDirsDoNotCollide: IDs that differ only in unsafe characters or
// past the cut get directories of their own.
func TestJobDirsDoNotCollide(t *testing.T) {
	long := strings.Repeat("a", 300)
	seen := map[string]string{}
	for _, jobID := range []string{"a/b", "a:b", "a_b", "a\xffb", long + "1", long + "2", strings.Repeat("a", 100), strings.Repeat("a", 101)} {
		dir := jobDir(jobID)
		require.NotContains(t, seen, dir, "%q and %q share %s", jobID, seen[dir], dir)
		seen[dir] = jobID
	}
	require.Equal(t, "7c0e6f2a-3b1d-4e8f-9a52-1d6c2b7e4f10", jobDir("7c0e6f2a-3b1d-4e8f-9a52-1d6c2b7e4f10"), "a plain ID is its own directory")
}

// TestDownloadPathTooLong: a path the file system refuses the same way on
// every attempt fails at once, saying why; one an operator can fix is
// retried.
func TestDownloadPathTooLong(t *testing.T) {
	ts := mediaServer(t, serveContent)
	a := &Activities{MediaDir: filepath.Join(t.TempDir(), strings.Repeat("d", 300)), MediaAllowedHosts: loopback}
	_, err := execute[Media](t, a.DownloadMedia, DownloadInput{JobID: "j", URL: ts.URL + "/a.mp4"})
	appErr := appError(t, err)
	require.Equal(t, ErrTypeInvalidPath, appErr.Type(), "error %v", err)
	require.True(t, appErr.NonRetryable())
	require.Contains(t, err.Error(), "file name too long")

	for errno, wantType := range map[syscall.Errno]string{
		syscall.ENAMETOOLONG: ErrTypeInvalidPath,
		syscall.EILSEQ:       ErrTypeInvalidPath,
		syscall.EFBIG:        ErrTypeMediaTooLarge,
		syscall.ENOSPC:       "",
		syscall.EDQUOT:       "",
		syscall.EACCES:       "",
		syscall.EROFS:        "",
		syscall.EIO:          "",
	} {
		err := fsError("writing", &os.PathError{Op: "write", Path: "/m/x", Err: errno})
		if wantType == "" {
			require.NotErrorAs(t, err, new(interface{ NonRetryable() bool }), "%v is retried", errno)
			require.ErrorIs(t, err, errno)
			continue
		}
		appErr := appError(t, err)
		require.Equal(t, wantType, appErr.Type(), "%v", errno)
		require.True(t, appErr.NonRetryable(), "%v", errno)
	}
}
