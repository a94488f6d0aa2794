package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
// Resume: an attempt that fails with a retryable error keeps its partial
// file when the response had a validator (a strong ETag, else
// Last-Modified), saved beside it; the next attempt asks for the rest
// (Range, If-Range), hashes the bytes it has, and appends. A server that
// answers 200 instead, a 206 for another range, or a 416: it starts over.
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
// address not allowed (ForbiddenAddress) and a path the file system
// refuses whatever the attempt (InvalidPath: name too long or invalid) are
// non-retryable; 408, 429, 5xx (after Retry-After), connection resets,
// timeouts, DownloadBusy and other file system errors (disk full,
// permission denied, read-only: an operator can fix those) are retried.
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
// of a type the retry policy does not retry, or the last attempt's.
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
	return rp.MaximumAttempts > 0 && info.Attempt >= rp.MaximumAttempts
}

// fetch downloads u into the locked partial file f (resuming it when it
// can), renames it to p.final, and sets m.Size and m.SHA256.
func (a *Activities) fetch(ctx context.Context, client *http.Client, u *url.URL, f *os.File, p mediaPaths, m *Media) error {
	maxBytes := a.MediaMaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMediaMaxBytes
	}
	st, err := f.Stat()
	if err != nil {
		return fsError("reading the partial file", err)
	}
	have, saved := st.Size(), validator{}
	if have > 0 {
		saved = readValidator(p.meta)
	}
	h := sha256.New()
	if have > 0 && saved.ifRange() != "" {
		// The checksum covers the whole file: the bytes already here too.
		if _, err := io.Copy(newProgress(ctx, h, 0), io.NewSectionReader(f, 0, have)); err != nil {
			return fsError("hashing the partial file", err)
		}
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

	resp, offset, err := request(ctx, client, u, have, saved)
	if err != nil {
		if errors.Is(context.Cause(ctx), errStalled) {
			return fmt.Errorf("downloading media: %w", errStalled)
		}
		var scheme errRedirectScheme
		if errors.As(err, &scheme) {
			return temporal.NewNonRetryableApplicationError("downloading media: "+scheme.Error(), ErrTypeInvalidURL, nil)
		}
		if ferr, ok := forbidden(err); ok {
			return ferr
		}
		return fmt.Errorf("downloading media: %w", withoutURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return statusError("downloading media", resp)
	}
	if resp.ContentLength >= 0 && offset+resp.ContentLength > maxBytes {
		return tooLarge(maxBytes)
	}
	if offset == 0 {
		// Starting over: the partial file and its validator are this
		// response's, the validator saved before any byte.
		h.Reset()
		if err := f.Truncate(0); err != nil {
			return fsError("emptying the partial file", err)
		}
		if err := saveValidator(p.meta, validatorOf(resp)); err != nil {
			return err
		}
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fsError("writing the partial file", err)
	}

	pr := newProgress(ctx, io.MultiWriter(f, h), offset)
	pr.onWrite = func() { watchdog.Reset(stall) }
	// One byte past the limit tells a too-large body from one exactly at it.
	n, err := io.Copy(pr, io.LimitReader(resp.Body, maxBytes-offset+1))
	if err != nil {
		if errors.Is(context.Cause(ctx), errStalled) {
			err = errStalled
		}
		var perr *fs.PathError // the file's, not the network's
		if errors.As(err, &perr) {
			return fsError("writing the partial file", err)
		}
		return fmt.Errorf("downloading media after %d bytes: %w", offset+n, err)
	}
	if offset+n > maxBytes {
		return tooLarge(maxBytes)
	}
	if err := f.Sync(); err != nil {
		return fsError("writing the partial file", err)
	}
	// The validator goes first: a partial file without one is started
	// over, never resumed against bytes it does not describe.
	if err := os.Remove(p.meta); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fsError("removing the partial file's validator", err)
	}
	if err := os.Rename(p.part, p.final); err != nil {
		return fsError("renaming the partial file into place", err)
	}
	m.Size, m.SHA256 = offset+n, hex.EncodeToString(h.Sum(nil))
	return nil
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
