// Package webhook verifies Svix webhook deliveries: the svix-* (or
// unbranded webhook-*) headers, the timestamp tolerance and the HMAC
// signature, with the svix library doing the cryptography. It never logs or
// returns a secret.
package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// Tolerance is how far a delivery's timestamp may be from now, either way,
// as in the svix libraries.
const Tolerance = 5 * time.Minute

// Errors returned by Verifier.Verify; each makes the server answer 401 with
// the error's text. Wrapped errors add detail (which header, how far off).
var (
	ErrMissingHeaders = errors.New("missing signature headers")
	ErrTimestamp      = errors.New("invalid timestamp")
	ErrSignature      = errors.New("no matching signature")
)

// ErrSecret is returned by NewVerifier for a secret that is not base64
// (with or without the whsec_ prefix) or is empty. Its text never includes
// the secret.
var ErrSecret = errors.New("invalid webhook secret")

// Delivery is what the headers of a verified delivery say.
type Delivery struct {
	// ID is the event ID (svix-id or webhook-id), the same on every retry.
	ID string
	// Timestamp is this attempt's time (svix-timestamp, Unix seconds).
	Timestamp time.Time
}

// Verifier checks deliveries against one or more secrets (several during a
// rotation: a delivery signed with any of them is accepted).
type Verifier struct {
	hooks []*svix.Webhook
	// Now returns the current time; tests set it to check old deliveries.
	Now func() time.Time
}

// NewVerifier returns a Verifier for the given secrets, each "whsec_<base64>"
// (surrounding white space is ignored). It returns ErrSecret, naming the
// position of the bad secret but never its value, when one cannot be used.
func NewVerifier(secrets []string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrSecret)
	}
	v := &Verifier{Now: time.Now}
	for i, s := range secrets {
		s = strings.TrimSpace(s)
		if s == "" || s == "whsec_" {
			return nil, fmt.Errorf("%w: secret %d of %d is empty", ErrSecret, i+1, len(secrets))
		}
		wh, err := svix.NewWebhook(s)
		if err != nil {
			return nil, fmt.Errorf("%w: secret %d of %d is not base64 after its whsec_ prefix", ErrSecret, i+1, len(secrets))
		}
		v.hooks = append(v.hooks, wh)
	}
	return v, nil
}

// Verify checks a delivery's headers and its body, byte for byte as
// received. It returns ErrMissingHeaders when neither the svix-* nor the
// webhook-* set is complete, ErrTimestamp when the timestamp is not Unix
// seconds or is more than Tolerance from now, and ErrSignature when no
// v1 signature matches any secret. When both sets are complete (a relay
// that forwards the svix-* headers it got and signs with webhook-*, or
// the other way round), the delivery is verified when either is, svix-*
// first; when neither is, the error is the svix-* set's.
func (v *Verifier) Verify(body []byte, h http.Header) (Delivery, error) {
	var first error
	for _, prefix := range []string{"svix-", "webhook-"} {
		set := headerSet{h.Get(prefix + "id"), h.Get(prefix + "timestamp"), h.Get(prefix + "signature")}
		if set.id == "" || set.ts == "" || set.sig == "" {
			continue
		}
		d, err := v.verify(body, set)
		if err == nil {
			return d, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = missingHeaders(h)
	}
	return Delivery{}, first
}

// verify checks body against one header set.
func (v *Verifier) verify(body []byte, set headerSet) (Delivery, error) {
	secs, err := strconv.ParseInt(set.ts, 10, 64)
	if err != nil {
		return Delivery{}, fmt.Errorf("%w: not Unix seconds", ErrTimestamp)
	}
	// Checked here rather than left to the library, whose errors are
	// unexported, so the answer can say what was wrong.
	now := v.Now()
	switch skew := now.Sub(time.Unix(secs, 0)); {
	case skew > Tolerance:
		return Delivery{}, fmt.Errorf("%w: too old (%s past the %s tolerance)", ErrTimestamp, (skew - Tolerance).Round(time.Second), Tolerance)
	case skew < -Tolerance:
		hint := ""
		if secs > 1e11 {
			hint = "; milliseconds instead of seconds?"
		}
		return Delivery{}, fmt.Errorf("%w: too far in the future%s", ErrTimestamp, hint)
	}
	// The library reads svix-* first, so give it exactly this set.
	canon := http.Header{}
	canon.Set("svix-id", set.id)
	canon.Set("svix-timestamp", set.ts)
	canon.Set("svix-signature", set.sig)
	for _, wh := range v.hooks {
		if wh.VerifyIgnoringTimestamp(body, canon) == nil {
			return Delivery{ID: set.id, Timestamp: time.Unix(secs, 0)}, nil
		}
	}
	return Delivery{}, ErrSignature
}

// headerSet is one complete set of signature headers.
type headerSet struct{ id, ts, sig string }

// missingHeaders is ErrMissingHeaders naming what h lacks: h has no
// complete set.
func missingHeaders(h http.Header) error {
	var missing []string
	for _, name := range []string{"id", "timestamp", "signature"} {
		if h.Get("svix-"+name) == "" && h.Get("webhook-"+name) == "" {
			missing = append(missing, "svix-"+name)
		}
	}
	if len(missing) == 0 {
		return fmt.Errorf("%w: mixed svix-* and webhook-* headers; send one complete set", ErrMissingHeaders)
	}
	return fmt.Errorf("%w: %s (or webhook-*)", ErrMissingHeaders, strings.Join(missing, ", "))
}
