package activities

import (
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"sync"

	"go.temporal.io/sdk/temporal"
)

// transfer is one attempt's download of u into the locked partial file f.
type transfer struct {
	client   *http.Client
	u        *url.URL
	f        *os.File
	p        mediaPaths
	maxBytes int64 // 0: no bound
	// The first have bytes of f are of the version ref describes, and
	// hashed into h; have is 0 when f cannot be resumed.
	have  int64
	ref   partialMeta
	h     hash.Hash
	stall *stallWatch
}

// receive makes one request (a resume when ranged) and writes its body
// into the partial file, at the offset the answer is for. It returns the
// partial file's size: that of the whole media once the answer checks out.
func (t *transfer) receive(ctx context.Context, ranged bool) (int64, error) {
	t.stall.reset()
	resp, err := t.get(ctx, ranged)
	if err != nil {
		return 0, requestError(ctx, err)
	}
	defer resp.Body.Close()
	ans, err := t.accept(resp, ranged)
	if err != nil {
		return 0, err
	}
	if ans.expect >= 0 && t.over(ans.offset+ans.expect) {
		return 0, tooLarge(t.maxBytes)
	}
	if ans.offset == 0 {
		if err := t.startOver(ans.meta); err != nil {
			return 0, err
		}
	}
	if _, err := t.f.Seek(ans.offset, io.SeekStart); err != nil {
		return 0, fsError("writing the partial file", err)
	}
	n, err := t.copyBody(ctx, resp.Body, ans)
	if err != nil {
		return 0, err
	}
	if t.over(ans.offset + n) {
		return 0, tooLarge(t.maxBytes)
	}
	if ans.expect >= 0 && n != ans.expect {
		return 0, hostErrorf("sent %d bytes where it declared %d", n, ans.expect)
	}
	return ans.offset + n, nil
}

// startOver empties the partial file and its hash and saves meta beside
// it, before any byte: the partial file's bytes are then this answer's.
func (t *transfer) startOver(meta partialMeta) error {
	t.h.Reset()
	if err := t.f.Truncate(0); err != nil {
		return fsError("emptying the partial file", err)
	}
	return saveMeta(t.p.meta, meta)
}

// copyBody writes body (decoded when ans.gzip) to the partial file and
// its hash, and returns the bytes written. One byte past MediaMaxBytes
// is read, to tell a body too large from one exactly at the limit.
func (t *transfer) copyBody(ctx context.Context, body io.Reader, ans answer) (int64, error) {
	if ans.gzip {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return 0, bodyError(ctx, ans.offset, err)
		}
		defer zr.Close()
		body = zr
	}
	pr := newProgress(ctx, io.MultiWriter(t.f, t.h), ans.offset)
	pr.onWrite = t.stall.reset
	if t.maxBytes > 0 {
		body = io.LimitReader(body, t.maxBytes-ans.offset+1)
	}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, err := io.CopyBuffer(pr, body, *buf)
	if err != nil {
		return n, bodyError(ctx, ans.offset+n, err)
	}
	return n, nil
}

// copyBuffers are copyBody's buffers, io.Copy's size: one allocated per
// download was a tenth of the worker's allocations under load.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// over reports whether size is past MediaMaxBytes.
func (t *transfer) over(size int64) bool {
	return t.maxBytes > 0 && size > t.maxBytes
}

// commit makes the whole partial file the final one.
func (t *transfer) commit(m *Media, size int64) error {
	if err := t.f.Sync(); err != nil {
		return fsError("writing the partial file", err)
	}
	// The validator goes first: a partial file without one is started
	// over, never resumed against bytes it does not describe.
	if err := os.Remove(t.p.meta); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fsError("removing the partial file's validator", err)
	}
	if err := os.Rename(t.p.part, t.p.final); err != nil {
		return fsError("renaming the partial file into place", err)
	}
	m.Size, m.SHA256 = size, hex.EncodeToString(t.h.Sum(nil))
	return nil
}

// requestError turns a failed request into an activity error: a stall, a
// redirect to another scheme (InvalidURL), a forbidden address, or a
// retryable error without the URL.
func requestError(ctx context.Context, err error) error {
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

// bodyError turns a failure to receive the body, at byte at, into an
// activity error: a file system error (see fsError), a gzip body that
// does not decode (a hostError), or else a retryable error: a stall, a
// connection cut before the declared end (io.ErrUnexpectedEOF).
func bodyError(ctx context.Context, at int64, err error) error {
	if errors.Is(context.Cause(ctx), errStalled) {
		err = errStalled
	}
	var perr *fs.PathError // the file's, not the network's
	if errors.As(err, &perr) {
		return fsError("writing the partial file", err)
	}
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt) || err == io.EOF {
		// io.EOF: gzip.NewReader's, of an empty body.
		return hostErrorf("sent a gzip body that does not decode (%v)", err)
	}
	return fmt.Errorf("downloading media after %d bytes: %w", at, err)
}
