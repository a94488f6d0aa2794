package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
)

// partialMeta describes the bytes of a partial file, saved beside it
// (mediaPaths.meta) before the first of them is written: the validator of
// the version they are of, and the whole media's size as the answer
// declared it. A partial file is resumed only with both.
type partialMeta struct {
	validator
	Total int64 `json:"total,omitempty"`
}

// resumable reports whether a partial file described by m can be resumed.
func (m partialMeta) resumable() bool {
	return m.ifRange() != "" && m.Total > 0
}

// validator identifies a version of the media, for If-Range: only
// strong validators, as If-Range takes (RFC 9110, 13.1.5).
type validator struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// strongDate is how long before an answer's Date its Last-Modified must be
// to be a strong validator (RFC 9110, 8.8.2.2): a file changed within the
// same second keeps its date.
const strongDate = time.Minute

// validatorOf returns resp's strong validator: its ETag unless weak
// ("W/…"); else its Last-Modified when at least strongDate before its
// Date. None when the ETag is weak (a date must not stand in for an entity
// tag) or there is neither.
func validatorOf(resp *http.Response) validator {
	if etag := resp.Header.Get("ETag"); etag != "" {
		if strings.HasPrefix(etag, "W/") {
			return validator{}
		}
		return validator{ETag: etag}
	}
	lm := resp.Header.Get("Last-Modified")
	modified, err := http.ParseTime(lm)
	if err != nil {
		return validator{}
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || date.Sub(modified) < strongDate {
		return validator{}
	}
	return validator{LastModified: lm}
}

// ifRange is the If-Range value of v: the ETag, else the date; "" when v
// has neither, and then nothing can be resumed.
func (v validator) ifRange() string {
	if v.ETag != "" {
		return v.ETag
	}
	return v.LastModified
}

// same reports whether other (an answer's validator) names the version v
// does: the same ETag, or, when v has none, the same date. Never when v is
// empty.
func (v validator) same(other validator) bool {
	if v.ETag != "" {
		return other.ETag == v.ETag
	}
	return v.LastModified != "" && other.LastModified == v.LastModified
}

// readMeta reads the partialMeta saved at path; zero when there is none or
// it does not parse (the partial file is then started over).
func readMeta(path string) partialMeta {
	var m partialMeta
	b, err := os.ReadFile(path)
	if err == nil && json.Unmarshal(b, &m) != nil {
		m = partialMeta{}
	}
	return m
}

// saveMeta writes m to path, or removes path when m is not resumable.
func saveMeta(path string, m partialMeta) error {
	if !m.resumable() {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fsError("removing the partial file's validator", err)
		}
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fsError("saving the partial file's validator", err)
	}
	return nil
}

// resumePoint sets t.have and t.ref from the partial file and its saved
// partialMeta, hashing the bytes already there (the checksum covers the
// whole file). It leaves them zero when the partial file cannot be
// resumed: it is then started over.
func (t *transfer) resumePoint(ctx context.Context) error {
	st, err := t.f.Stat()
	if err != nil {
		return fsError("reading the partial file", err)
	}
	if st.Size() == 0 {
		return nil
	}
	ref := readMeta(t.p.meta)
	if !ref.resumable() {
		return nil
	}
	if _, err := io.Copy(newProgress(ctx, t.h, 0), io.NewSectionReader(t.f, 0, st.Size())); err != nil {
		return fsError("hashing the partial file", err)
	}
	t.have, t.ref = st.Size(), ref
	return nil
}

// get GETs t.u, asking for the bytes as stored (Accept-Encoding:
// identity: without it any coding is acceptable, RFC 9110, 12.5.3). When
// ranged it asks for the rest of the partial file, of its version only:
// Range: bytes=<have>-, If-Range: <its validator>.
func (t *transfer) get(ctx context.Context, ranged bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.u.String(), nil)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("media_url does not parse", ErrTypeInvalidURL, nil)
	}
	req.Header.Set("Accept-Encoding", "identity")
	if ranged {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", t.have))
		req.Header.Set("If-Range", t.ref.ifRange())
	}
	return t.client.Do(req)
}

// acceptRange checks a 206 to a resume: its Content-Range is exactly the
// rest asked for, of the total first declared ("bytes <have>-<total-1>/
// <total>"), its bytes are the stored ones (no Content-Encoding) and of the
// version If-Range named (the same validator). Anything else is a
// hostError (the attempt starts over).
func (t *transfer) acceptRange(resp *http.Response, gzip bool) (answer, error) {
	want := fmt.Sprintf("bytes %d-%d/%d", t.have, t.ref.Total-1, t.ref.Total)
	got := resp.Header.Get("Content-Range")
	switch {
	case !strings.EqualFold(got, want):
		return answer{}, hostErrorf("answered 206 with Content-Range %.80q to Range: bytes=%d- (%q expected: to the end of the %d bytes first declared)",
			got, t.have, want, t.ref.Total)
	case gzip:
		return answer{}, hostErrorf("answered 206 with Content-Encoding gzip: a range of encoded bytes, not of the file")
	case !t.ref.same(validatorOf(resp)):
		return answer{}, hostErrorf("answered 206 for another version than If-Range named (ETag %.80q, Last-Modified %.40q; %q asked)",
			resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), t.ref.ifRange())
	}
	return answer{offset: t.have, expect: t.ref.Total - t.have}, nil
}
