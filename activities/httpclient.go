package activities

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
)

// NewHTTPClient returns the client the activities use by default: no
// overall timeout (downloads are bounded by heartbeats, POSTs by their
// context) and redirects followed only within the original scheme, at most
// 10 of them.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if req.URL.Scheme != via[0].URL.Scheme {
				return errRedirectScheme{from: via[0].URL.Scheme, to: req.URL.Scheme}
			}
			return nil
		},
	}
}

// httpClient returns a.HTTP, or a new NewHTTPClient() when it is unset
// (tests; the worker sets it, so connections are reused).
func (a *Activities) httpClient() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return NewHTTPClient()
}

type errRedirectScheme struct{ from, to string }

func (e errRedirectScheme) Error() string {
	return fmt.Sprintf("redirect from %s to %s refused", e.from, e.to)
}

// withoutURL drops the URL that net/http puts in its errors: a media URL
// may be presigned and a notification URL (Slack's) is itself a secret.
func withoutURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s: %w", uerr.Op, uerr.Err)
	}
	return err
}

// maxRetryAfter caps a target's Retry-After: the retry policy's own
// backoff takes over past it.
const maxRetryAfter = 10 * time.Minute

// statusError turns a non-2xx answer into an activity error: 408, 429 and
// 5xx are retryable, after the answer's Retry-After when it gives one;
// any other status is a non-retryable HTTPStatus error.
func statusError(what string, resp *http.Response) error {
	msg := fmt.Sprintf("%s: HTTP %d", what, resp.StatusCode)
	code := resp.StatusCode
	if code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 {
		return temporal.NewApplicationErrorWithOptions(msg, ErrTypeRetryableHTTP, temporal.ApplicationErrorOptions{
			NextRetryDelay: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
		})
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeHTTPStatus, nil)
}

// retryAfter parses a Retry-After value (seconds or an HTTP date); 0 when
// absent or unreadable, which leaves the delay to the retry policy.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
