package webhook

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// Sign returns the headers Svix sends with body for event id at time ts:
// svix-id, svix-timestamp (Unix seconds) and svix-signature ("v1,<base64>"),
// computed by the svix library with secret ("whsec_<base64>"). It returns
// ErrSecret for an unusable secret. Used by the sender, the load tool and
// tests to act as Svix.
func Sign(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	wh, err := svix.NewWebhook(strings.TrimSpace(secret))
	if err != nil {
		return nil, fmt.Errorf("%w: not base64 after its whsec_ prefix", ErrSecret)
	}
	sig, err := wh.Sign(id, ts, body)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("svix-signature", sig)
	return h, nil
}
