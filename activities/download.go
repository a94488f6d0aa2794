package activities

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"syscall"
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
	// Path is MEDIA_DIR/<job dir>/<URL hash>-<file name> (see pathsFor).
	Path string `json:"path,omitempty"`
	// Size is in bytes; SHA256 is hex.
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Existing is true when an earlier run had already saved the file.
	Existing bool   `json:"existing,omitempty"`
	Skipped  bool   `json:"skipped,omitempty"`
	Note     string `json:"note,omitempty"`
}

// DownloadMedia streams the job's media_url to MEDIA_DIR/<job dir>/<URL
// hash>-<file name> (see pathsFor: names bounded and safe whatever the
// event holds; the URL's hash makes the file the URL's own, so a later
// event for the job with other media gets a file of its own). It writes a
// partial file beside it, computing size and SHA-256 on the way, then
// renames it into place, so the final path only ever holds a whole file.
// Idempotent: when the file is already there it is hashed and described
// (Existing), not downloaded again.
//
// Addresses: the URL, and every redirect, may only lead to public
// addresses, or to the hosts, IPs and CIDRs of MediaAllowedHosts (see
// NewMediaClient); anything else is a non-retryable ForbiddenAddress error
// naming the address and its class, never the URL.
//
// Whole files only: the file is renamed into place only when the host's
// answer is the whole media, by HTTP's own rules (see accept and
// acceptRange): a 200, or a 206 to the range asked; a body of the length
// declared (Content-Length, or to the end of the Content-Range asked);
// an identity body, or a gzip one decoded and checked by its own CRC-32
// (any other Content-Encoding is refused). An answer that breaks them is a
// hostError: when it answered a resume, the attempt starts over from byte
// 0, once; otherwise the download fails with a non-retryable
// InvalidResponse error naming what the host did.
//
// Resume: an attempt that fails with a retryable error keeps its partial
// file when the answer had a strong validator and a length (see
// partialMeta), saved beside it; the next attempt hashes the bytes it has,
// asks for the rest (Range, If-Range) and appends them.
// Two attempts never write the same partial file at once: it is locked
// (flock); an attempt that finds it locked waits up to a heartbeat timeout,
// heartbeating, then fails with a retryable DownloadBusy error. A
// non-retryable failure, a failure of the last attempt, and a failure with
// nothing to resume remove the partial file (and the job's directory when
// nothing else is in it).
//
// It heartbeats the bytes received so far every second while bytes
// arrive; a stalled transfer stops heartbeating and Temporal retries it
// after the heartbeat timeout, and the stalled attempt itself gives up
// after half as long again without a byte (the SDK does not end it).
// Failures: a non-http(s) URL or a redirect to another scheme
// (InvalidURL), a 4xx answer other than 408/429 (HTTPStatus), media larger
// than MediaMaxBytes or than the file system takes (MediaTooLarge), an
// address not allowed (ForbiddenAddress), an answer that cannot be the
// whole media (InvalidResponse) and a path the file system refuses
// whatever the attempt (InvalidPath: name too long or invalid) are
// non-retryable; 408, 429, 5xx (after Retry-After), connection resets, a
// body cut short of its declared length, timeouts, DownloadBusy and other
// file system errors (disk full, permission denied, read-only: an operator
// can fix those) are retried.
// Without MEDIA_DIR or media_url it is Skipped.
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
	p := pathsFor(a.MediaDir, in.JobID, in.URL, u)
	m := Media{URL: in.URL, Path: p.final}
	if found, err := existing(ctx, &m); err != nil {
		return Media{}, err
	} else if found {
		return m, nil
	}
	client, err := a.mediaClient()
	if err != nil {
		return Media{}, err
	}
	done, err := a.download(ctx, client, u, p, &m)
	if err != nil {
		// Only when empty: a first download that failed leaves no
		// directory behind.
		os.Remove(p.dir)
		return Media{}, err
	}
	if !done { // another attempt saved it meanwhile
		if _, err := existing(ctx, &m); err != nil {
			return Media{}, err
		}
	}
	return m, nil
}

// existing describes m.Path (Existing, size and SHA-256) when the file is
// there; found is false when it is not.
func existing(ctx context.Context, m *Media) (found bool, err error) {
	if _, err := os.Stat(m.Path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fsError("looking for the media file", err)
	}
	m.Size, m.SHA256, err = hashFile(ctx, m.Path)
	if err != nil {
		return true, fsError("hashing the media file", err)
	}
	m.Existing = true
	return true, nil
}

// download fetches u into p.final through p.part, resuming p.part when it
// can, and sets m.Size and m.SHA256. done is false (and err nil) when the
// final file appeared while it waited for the partial file's lock.
func (a *Activities) download(ctx context.Context, client *http.Client, u *url.URL, p mediaPaths, m *Media) (done bool, err error) {
	f, unlock, err := lockPartial(ctx, p)
	if err != nil {
		return false, err
	}
	defer unlock()
	defer f.Close()
	if _, err := os.Stat(p.final); err == nil {
		// Another attempt finished: f is the empty file this one created.
		os.Remove(p.part)
		os.Remove(p.meta)
		return false, nil
	}
	defer func() {
		if err == nil {
			return
		}
		// Kept for the next attempt only when it can resume it: retries
		// left, and a validator saved.
		_, noValidator := os.Stat(p.meta)
		if final(ctx, err) || noValidator != nil {
			os.Remove(p.part)
			os.Remove(p.meta)
		}
	}()
	if err := a.fetch(ctx, client, u, f, p, m); err != nil {
		return false, err
	}
	return true, nil
}

// final reports whether err ends the download for good: non-retryable,
// of a type the retry policy does not retry, or the last attempt's: the
// retry policy's MaximumAttempts, or the last whose retry would start
// past the activity's ScheduleToClose window (Temporal then schedules no
// retry).
func final(ctx context.Context, err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		return true
	}
	if !activity.IsActivity(ctx) {
		return false
	}
	info := activity.GetInfo(ctx)
	rp := info.RetryPolicy
	if rp == nil {
		return false
	}
	if appErr != nil && slices.Contains(rp.NonRetryableErrorTypes, appErr.Type()) {
		return true
	}
	if rp.MaximumAttempts > 0 && info.Attempt >= rp.MaximumAttempts {
		return true
	}
	if info.ScheduleToCloseTimeout <= 0 {
		return false
	}
	end := info.ScheduledTime.Add(info.ScheduleToCloseTimeout)
	return !time.Now().Add(retryDelay(rp, info.Attempt, appErr)).Before(end)
}

// retryDelay is how long Temporal waits before retrying after attempt
// failed with appErr: the error's NextRetryDelay when it sets one, else
// the policy's backoff, InitialInterval × BackoffCoefficient^(attempt−1)
// up to MaximumInterval (the server fills in the defaults of the fields a
// workflow leaves unset).
func retryDelay(rp *temporal.RetryPolicy, attempt int32, appErr *temporal.ApplicationError) time.Duration {
	if appErr != nil && appErr.NextRetryDelay() > 0 {
		return appErr.NextRetryDelay()
	}
	d := float64(rp.InitialInterval) * math.Pow(rp.BackoffCoefficient, float64(attempt-1))
	return time.Duration(min(d, float64(rp.MaximumInterval)))
}

// fetch downloads u into the locked partial file f (resuming it when it
// can), renames it to p.final, and sets m.Size and m.SHA256. It makes at
// most two requests: a resume that the host answers with a hostError
// starts over from byte 0 once; a hostError to a request from byte 0 is
// a non-retryable InvalidResponse error.
func (a *Activities) fetch(ctx context.Context, client *http.Client, u *url.URL, f *os.File, p mediaPaths, m *Media) error {
	t := &transfer{client: client, u: u, f: f, p: p, maxBytes: a.MediaMaxBytes, h: sha256.New()}
	if err := t.resumePoint(ctx); err != nil {
		return err
	}
	ctx, t.stall = watchStall(ctx)
	defer t.stall.stop()

	ranged := t.have > 0
	size, err := t.receive(ctx, ranged)
	var bad hostError
	if ranged && errors.As(err, &bad) {
		activity.GetLogger(ctx).Warn("Resume refused, starting over from byte 0", "reason", "the host "+bad.Error())
		size, err = t.receive(ctx, false)
	}
	if errors.As(err, &bad) {
		return temporal.NewNonRetryableApplicationError("downloading media: the host "+bad.Error(), ErrTypeInvalidResponse, nil)
	}
	if err != nil {
		return err
	}
	return t.commit(m, size)
}

// fsError turns a file system error into an activity error: errors that
// come from the name or size itself, the same on every attempt, are
// non-retryable (InvalidPath: name too long, invalid name or encoding;
// MediaTooLarge: file too large for the file system); any other (disk
// full, permission denied, read-only file system, …) is retried, as an
// operator can fix it.
func fsError(what string, err error) error {
	msg := fmt.Sprintf("%s: %v", what, err)
	switch {
	case errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.EILSEQ):
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeInvalidPath, nil)
	case errors.Is(err, syscall.EFBIG):
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeMediaTooLarge, nil)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func tooLarge(maxBytes int64) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("media larger than %d bytes (MEDIA_MAX_BYTES)", maxBytes), ErrTypeMediaTooLarge, nil)
}
