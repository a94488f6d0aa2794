package activities

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/mediaflow/mediaflow/internal/egress"
)

// NewHTTPClient returns the client of notifications and alerts: no
// overall timeout (a POST is bounded by its context), the proxy from the
// environment (HTTPS_PROXY, …), and redirects followed only within the
// original scheme, at most 10 of them (post itself follows none).
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t, CheckRedirect: sameScheme}
}

// NewMediaClient returns the client of downloads. Its dialer refuses
// addresses that are not public unless policy allows them (see
// egress.Parse: host names, IPs, CIDRs; MEDIA_ALLOWED_HOSTS, which
// package config parses), on every connection, redirects included. It
// uses no proxy: a proxy would make the connection, and the check on the
// address dialled would only ever see the proxy. It asks for no
// transparent gzip, so sizes, checksums and Range offsets are of the
// bytes the server stores. Redirects: as NewHTTPClient.
func NewMediaClient(policy *egress.Policy) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = policy.DialContext
	t.DisableCompression = true
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t, CheckRedirect: sameScheme}
}

// sameScheme follows at most 10 redirects, none to another scheme.
func sameScheme(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Scheme != via[0].URL.Scheme {
		return errRedirectScheme{from: via[0].URL.Scheme, to: req.URL.Scheme}
	}
	return nil
}

// httpClient returns a.HTTP, or a new NewHTTPClient() when it is unset
// (tests; the worker sets it, so connections are reused).
func (a *Activities) httpClient() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return NewHTTPClient()
}

// mediaClient returns a.MediaHTTP (the worker sets it from the policy
// config parsed), or else the NewMediaClient of a.MediaAllowedHosts,
// made once so its connections are reused.
func (a *Activities) mediaClient() (*http.Client, error) {
	if a.MediaHTTP != nil {
		return a.MediaHTTP, nil
	}
	a.media.once.Do(func() {
		var policy *egress.Policy
		if policy, a.media.err = egress.Parse(a.MediaAllowedHosts); a.media.err == nil {
			a.media.client = NewMediaClient(policy)
		}
	})
	if a.media.err != nil {
		return nil, fmt.Errorf("MEDIA_ALLOWED_HOSTS: %w", a.media.err)
	}
	return a.media.client, nil
}

// forbidden turns a refused connection into a non-retryable
// ForbiddenAddress error naming the address and its class (never the
// URL); ok is false when err is not one.
func forbidden(err error) (_ error, ok bool) {
	var fe *egress.ForbiddenError
	if !errors.As(err, &fe) {
		return nil, false
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("downloading media: %s, not a public one: refused (list the media's host or address in MEDIA_ALLOWED_HOSTS to allow it)", fe),
		ErrTypeForbiddenAddress, nil), true
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
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Capped before it is multiplied: a huge value would overflow.
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
