package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// upfront bounds what readBody allocates before the bytes arrive, so a
// request that only announces a large Content-Length pins little memory.
const upfront = 64 << 10

// readBody reads the whole body, exactly as sent, up to limit bytes: in
// one allocation when Content-Length is given and at most 64 KiB, else
// growing as bytes arrive. A larger body fails with *http.MaxBytesError,
// before any of it is read when Content-Length already says so.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	body := http.MaxBytesReader(nil, r.Body, limit)
	if r.ContentLength >= 0 && r.ContentLength <= upfront {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, upfront))
	_, err := buf.ReadFrom(body)
	return buf.Bytes(), err
}

func errTooLarge(limit int64) error {
	return fmt.Errorf("body larger than %d bytes", limit)
}

// checkContentType accepts what Svix sends (application/json), any other
// JSON type (…+json) and no type at all; an explicit non-JSON type is
// refused (415) before the body is read.
func checkContentType(v string) error {
	if v == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(v)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return errors.New("content type must be application/json")
}

// checkContentEncoding refuses a body sent with a content coding other
// than identity (gzip, br, …): Svix signs and sends the JSON uncompressed,
// and nothing here decompresses, so such a body could only fail the
// signature check with a misleading 401. The error names the coding.
func checkContentEncoding(h http.Header) error {
	for _, v := range h.Values("Content-Encoding") {
		for coding := range strings.SplitSeq(v, ",") {
			coding = strings.TrimSpace(coding)
			if coding == "" || strings.EqualFold(coding, "identity") {
				continue
			}
			if len(coding) > 32 {
				coding = coding[:32] + "…"
			}
			return fmt.Errorf("content encoding %q is not supported: send the body uncompressed (identity)", coding)
		}
	}
	return nil
}
