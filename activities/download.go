package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// DownloadInput is DownloadMedia's argument.
type DownloadInput struct {
	EventID string `json:"event_id"`
	JobID   string `json:"job_id"`
	URL     string `json:"url"`
}

// Media describes a downloaded file; Skipped (with Note saying why) when
// nothing was downloaded.
type Media struct {
	URL string `json:"url,omitempty"`
	// Path is MEDIA_DIR/<job ID>/<file name>.
	Path string `json:"path,omitempty"`
	// Size is in bytes; SHA256 is hex.
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Existing is true when an earlier run had already saved the file.
	Existing bool   `json:"existing,omitempty"`
	Skipped  bool   `json:"skipped,omitempty"`
	Note     string `json:"note,omitempty"`
}

// heartbeatEvery is how often a running download reports its progress.
const heartbeatEvery = time.Second

// defaultStallTimeout ends a transfer that receives nothing for this long
// when the activity has no heartbeat timeout of its own.
const defaultStallTimeout = time.Minute

// errStalled cancels a transfer that stopped receiving bytes.
var errStalled = errors.New("no bytes received for 1.5 heartbeat timeouts")

// DownloadMedia streams the job's media_url to MEDIA_DIR/<job ID>/<file
// name>: into a temporary file beside it, computing size and SHA-256 on
// the way, then renamed into place, so the final path only ever holds a
// whole file. Idempotent: when the file is already there it is hashed and
// described, not downloaded again.
//
// It heartbeats the bytes received so far every second while bytes
// arrive; a stalled transfer stops heartbeating and Temporal retries it
// after the heartbeat timeout, and the stalled attempt itself gives up
// after half as long again without a byte (the SDK does not end it). Failures: a non-http(s) URL or a redirect
// to another scheme (InvalidURL), a 4xx answer other than 408/429
// (HTTPStatus) and media larger than MediaMaxBytes (MediaTooLarge) are
// non-retryable; 408, 429, 5xx (after Retry-After), connection resets and
// timeouts are retried. Without MEDIA_DIR or media_url it is Skipped.
func (a *Activities) DownloadMedia(ctx context.Context, in DownloadInput) (Media, error) {
	if a.MediaDir == "" {
		return Media{Skipped: true, Note: "MEDIA_DIR not set"}, nil
	}
	if in.URL == "" {
		return Media{Skipped: true, Note: "event has no media_url"}, nil
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Media{}, temporal.NewNonRetryableApplicationError(
			"media_url must be an http or https URL", ErrTypeInvalidURL, nil)
	}
	dir := filepath.Join(a.MediaDir, jobDir(in.JobID))
	m := Media{URL: in.URL, Path: filepath.Join(dir, fileName(u))}

	if _, err := os.Stat(m.Path); err == nil {
		m.Size, m.SHA256, err = hashFile(ctx, m.Path)
		m.Existing = true
		return m, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Media{}, fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := a.fetch(ctx, u, &m); err != nil {
		return Media{}, err
	}
	return m, nil
}

// fetch downloads u into m.Path, setting m.Size and m.SHA256.
func (a *Activities) fetch(ctx context.Context, u *url.URL, m *Media) error {
	maxBytes := a.MediaMaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMediaMaxBytes
	}
	// The watchdog cancels the transfer once no byte came for a heartbeat
	// timeout; progress.Write pushes it back.
	// Longer than the heartbeat timeout, so Temporal's own timeout decides
	// the retry and this only ends the abandoned attempt.
	stall := defaultStallTimeout
	if activity.IsActivity(ctx) && activity.GetInfo(ctx).HeartbeatTimeout > 0 {
		stall = activity.GetInfo(ctx).HeartbeatTimeout * 3 / 2
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(stall, func() { cancel(errStalled) })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("media_url does not parse", ErrTypeInvalidURL, nil)
	}
	resp, err := a.httpClient().Do(req)
	if err != nil {
		if errors.Is(context.Cause(ctx), errStalled) {
			return fmt.Errorf("downloading media: %w", errStalled)
		}
		var scheme errRedirectScheme
		if errors.As(err, &scheme) {
			return temporal.NewNonRetryableApplicationError("downloading media: "+scheme.Error(), ErrTypeInvalidURL, nil)
		}
		return fmt.Errorf("downloading media: %w", withoutURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return statusError("downloading media", resp)
	}
	if resp.ContentLength > maxBytes {
		return tooLarge(maxBytes)
	}

	tmp, err := os.CreateTemp(filepath.Dir(m.Path), "."+filepath.Base(m.Path)+".*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	defer tmp.Close()

	h := sha256.New()
	p := &progress{ctx: ctx, w: io.MultiWriter(tmp, h), onWrite: func() { watchdog.Reset(stall) }}
	// One byte past the limit tells a too-large body from one exactly at it.
	n, err := io.Copy(p, io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		if errors.Is(context.Cause(ctx), errStalled) {
			err = errStalled
		}
		return fmt.Errorf("downloading media after %d bytes: %w", n, err)
	}
	if n > maxBytes {
		return tooLarge(maxBytes)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), m.Path); err != nil {
		return err
	}
	m.Size, m.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	return nil
}

func tooLarge(maxBytes int64) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("media larger than %d bytes (MEDIA_MAX_BYTES)", maxBytes), ErrTypeMediaTooLarge, nil)
}

// progress counts bytes written through it and heartbeats the count at
// most every heartbeatEvery; onWrite, when set, is called on every write.
type progress struct {
	ctx     context.Context
	w       io.Writer
	n       int64
	last    time.Time
	onWrite func()
}

func (p *progress) Write(b []byte) (int, error) {
	if p.onWrite != nil {
		p.onWrite()
	}
	n, err := p.w.Write(b)
	p.n += int64(n)
	if now := time.Now(); now.Sub(p.last) >= heartbeatEvery {
		p.last = now
		activity.RecordHeartbeat(p.ctx, p.n)
	}
	return n, err
}

// hashFile returns the size and hex SHA-256 of the file at path,
// heartbeating as it reads (a large file takes a while).
func hashFile(ctx context.Context, path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	var h hash.Hash = sha256.New()
	n, err := io.Copy(&progress{ctx: ctx, w: h}, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// jobDir is the directory name of a job: the job ID itself when it is a
// safe name, else the safe name plus a hash of the ID, so two IDs that
// differ only in unsafe characters ("a/b", "a:b") never share a directory.
func jobDir(jobID string) string {
	name := safeName(jobID)
	if name == jobID {
		return name
	}
	sum := sha256.Sum256([]byte(jobID))
	return name + "-" + hex.EncodeToString(sum[:4])
}

// fileName is the URL path's last element made safe as a file name;
// "media" when the path has none.
func fileName(u *url.URL) string {
	name := safeName(path.Base(u.Path))
	if name == "_" {
		return "media"
	}
	return name
}

// safeName maps s to one path element: letters, digits, '.', '-' and '_'
// kept, anything else '_', and never "", "." or "..", so a job ID cannot
// climb out of MEDIA_DIR.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
	if strings.Trim(s, ".") == "" {
		return "_"
	}
	return s
}
