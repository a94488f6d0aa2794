package activities

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// hostError says what the media host did that makes its answer unusable
// as the media ("answered …", "sent …"; never the URL). fetch starts over
// once when it answers a resume, and fails the download with a
// non-retryable InvalidResponse error otherwise.
type hostError struct{ what string }

func (e hostError) Error() string { return e.what }

func hostErrorf(format string, args ...any) error {
	return hostError{fmt.Sprintf(format, args...)}
}

// answer is a checked response: its body's bytes go at offset of the
// partial file, expect of them (-1: no length declared, the body's own
// framing ends it); gzip when the body is gzip-encoded, to decode; meta
// describes the media for a later resume (see partialMeta; saved when
// the answer starts the partial file over).
type answer struct {
	offset, expect int64
	gzip           bool
	meta           partialMeta
}

// accept checks that resp, the answer to a request (a resume when
// ranged), can be the media or, for a resume, its rest:
//   - a 416 to a resume, and any 2xx but 200 and 206, are hostErrors;
//     another status is statusError's;
//   - a 206 only to a resume, checked by acceptRange;
//   - the body's end must show: a Content-Length, chunked framing, or
//     HTTP/2's; a body ended by closing the connection (HTTP/1 without
//     either) cannot be told from a cut one;
//   - no Content-Encoding but identity and gzip (see contentCoding);
//   - a 200 with the validator of the partial file's version must declare
//     the same length as the first answer did: a host that gives one
//     version two lengths is not telling the truth about one of them.
func (t *transfer) accept(resp *http.Response, ranged bool) (answer, error) {
	code := resp.StatusCode
	switch {
	case code == http.StatusRequestedRangeNotSatisfiable && ranged:
		return answer{}, hostErrorf("answered 416 Range Not Satisfiable to Range: bytes=%d-", t.have)
	case code/100 != 2:
		return answer{}, statusError("downloading media", resp)
	case code != http.StatusOK && code != http.StatusPartialContent:
		return answer{}, hostErrorf("answered %d %s, neither 200 OK nor 206 Partial Content", code, http.StatusText(code))
	case code == http.StatusPartialContent && !ranged:
		return answer{}, hostErrorf("answered 206 Partial Content to a request without Range")
	}
	if undelimited(resp) {
		return answer{}, hostErrorf("sent a body with neither Content-Length nor chunked encoding: its end cannot be told from a cut connection")
	}
	gzip, err := contentCoding(resp)
	if err != nil {
		return answer{}, err
	}
	if code == http.StatusPartialContent {
		return t.acceptRange(resp, gzip)
	}
	ans := answer{expect: resp.ContentLength, gzip: gzip}
	if gzip { // Content-Length counts the encoded bytes
		ans.expect = -1
	}
	v := validatorOf(resp)
	if ans.expect >= 0 && t.ref.same(v) && ans.expect != t.ref.Total {
		return answer{}, hostErrorf("answered %d bytes for the version (%s) it had declared as %d bytes", ans.expect, t.ref.ifRange(), t.ref.Total)
	}
	ans.meta = partialMeta{validator: v, Total: ans.expect}
	return ans, nil
}

// undelimited reports whether resp's body ends only when the connection
// closes (HTTP/1 with neither Content-Length nor chunked encoding).
func undelimited(resp *http.Response) bool {
	return resp.ProtoMajor < 2 && resp.ContentLength < 0 && !slices.Contains(resp.TransferEncoding, "chunked")
}

// contentCoding reports whether resp's body is gzip-encoded. Downloads ask
// for identity (see transfer.get), but a host may still encode: an object
// stored with Content-Encoding: gzip is served so whatever the request
// says. Such a body is decoded, as a browser or curl --compressed would:
// the file a user means is the decoded one, and gzip's CRC-32 and length
// check it whole. Any other coding (br, zstd, deflate, several at once) is
// a hostError: it cannot be decoded here, and its bytes are not the file.
func contentCoding(resp *http.Response) (gzip bool, err error) {
	var codings []string
	for _, v := range resp.Header.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
				codings = append(codings, c)
			}
		}
	}
	switch {
	case len(codings) == 0:
		return false, nil
	case len(codings) == 1 && (codings[0] == "gzip" || codings[0] == "x-gzip"):
		return true, nil
	}
	return false, hostErrorf("answered with Content-Encoding %.80q, which downloads do not decode (they ask for identity)", strings.Join(codings, ", "))
}
