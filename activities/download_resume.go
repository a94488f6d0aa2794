package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// validator identifies the version of the media whose bytes the partial
// file holds, saved in mediaPaths.meta.
type validator struct {
	ETag         string `json:"etag,omitempty"` // strong ETags only
	LastModified string `json:"last_modified,omitempty"`
}

// validatorOf returns resp's validator: its ETag unless weak (If-Range
// takes strong ones only), its Last-Modified.
func validatorOf(resp *http.Response) validator {
	v := validator{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	if strings.HasPrefix(v.ETag, "W/") {
		v.ETag = ""
	}
	return v
}

// ifRange is the If-Range value of v: the ETag, else the date; "" when v
// has neither, and then nothing can be resumed.
func (v validator) ifRange() string {
	if v.ETag != "" {
		return v.ETag
	}
	return v.LastModified
}

// readValidator reads the validator saved at path; zero when there is
// none or it does not parse (the partial file is then started over).
func readValidator(path string) validator {
	var v validator
	b, err := os.ReadFile(path)
	if err == nil && json.Unmarshal(b, &v) != nil {
		v = validator{}
	}
	return v
}

// request GETs u. With have bytes of it already and their validator, it
// asks for the rest (Range, If-Range) and returns offset = have when the
// answer is a 206 for exactly that: from have to the end, of the version
// validated. Any other 206, or a 416, is discarded and u asked for whole;
// a 200 (the version changed, or ranges unsupported) starts over. offset
// is 0 for any answer but a usable 206.
func request(ctx context.Context, client *http.Client, u *url.URL, have int64, saved validator) (*http.Response, int64, error) {
	get := func(ranged bool) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError("media_url does not parse", ErrTypeInvalidURL, nil)
		}
		if ranged {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
			req.Header.Set("If-Range", saved.ifRange())
		}
		return client.Do(req)
	}
	if have == 0 || saved.ifRange() == "" {
		resp, err := get(false)
		return resp, 0, err
	}
	resp, err := get(true)
	if err != nil {
		return nil, 0, err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if rangeFrom(resp, have) && (saved.ETag == "" || resp.Header.Get("ETag") == "" || resp.Header.Get("ETag") == saved.ETag) {
			return resp, have, nil
		}
	case http.StatusRequestedRangeNotSatisfiable:
	default:
		return resp, 0, nil
	}
	resp.Body.Close()
	resp, err = get(false)
	return resp, 0, err
}

// rangeFrom reports whether resp's Content-Range is from first to the end
// of the media ("bytes <first>-<total-1>/<total>").
func rangeFrom(resp *http.Response, first int64) bool {
	var start, end, total int64
	if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil {
		return false
	}
	return start == first && end == total-1
}

// saveValidator writes v to path, or removes path when v is empty.
func saveValidator(path string, v validator) error {
	if v.ifRange() == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fsError("removing the partial file's validator", err)
		}
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fsError("saving the partial file's validator", err)
	}
	return nil
}
