// Package deadletter keeps the verified events that Temporal refused to
// start for a reason that retrying will not remove (a search attribute
// not registered, a namespace not found…), so that nothing verified is
// lost: each is one blob, deadletters/<event ID>.json, in the blob store
// that also holds large payloads (package blobstore), until mediaflowctl
// redrive starts its workflow.
package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Prefix is where dead letters are, in the blob store.
const Prefix = "deadletters/"

// ErrNotFound is returned for an event that has no dead letter.
var ErrNotFound = errors.New("no dead letter for this event")

// Letter is one refused event: the verified delivery as received (its
// body byte for byte, the headers that describe it) and why and when
// Temporal refused it.
type Letter struct {
	// EventID is the Svix message ID (svix-id): the workflow ID.
	EventID string `json:"event_id"`
	// ReceivedAt is when the server accepted the delivery that was
	// refused (the workflow input's received_at); RejectedAt is when
	// Temporal refused it. A later delivery of the event that is refused
	// again replaces the letter.
	ReceivedAt time.Time `json:"received_at"`
	RejectedAt time.Time `json:"rejected_at"`
	// Reason is Temporal's answer, e.g. "Namespace default has no mapping
	// defined for search attribute AnimusJobID".
	Reason string `json:"reason"`
	// Headers are the delivery's headers that describe it (Headers
	// keeps them): never the signature or a credential.
	Headers http.Header `json:"headers"`
	// Body is the verified body, exactly as received (base64 in the JSON).
	Body []byte `json:"body"`
}

// kept are the headers a letter holds: those that describe the delivery.
// Any other may carry a credential (Svix sends an endpoint's custom
// headers, where its own API key or token goes, with every delivery; a
// proxy adds its own), and re-driving a verified event needs none of them,
// nor the signature.
var kept = []string{"Svix-Id", "Svix-Timestamp", "Webhook-Id", "Webhook-Timestamp", "Content-Type", "User-Agent"}

// Headers returns a copy of the headers of h that a letter keeps: the
// event ID and timestamp headers, Content-Type and User-Agent.
func Headers(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range kept {
		if v := h.Values(k); len(v) > 0 {
			out[k] = slices.Clone(v)
		}
	}
	return out
}

// Key returns the blob key of event id's letter: the ID path-escaped, so
// an ID with "/" or ".." stays one blob under Prefix.
func Key(id string) string { return Prefix + url.PathEscape(id) + ".json" }

// Summary describes a letter without reading its body.
type Summary struct {
	EventID    string
	RejectedAt time.Time
	// Size is the letter's size in bytes (the body is most of it).
	Size int64
}

// Store reads and writes the letters in Bucket.
type Store struct {
	Bucket *blob.Bucket
}

// Put writes l, replacing a letter of the same event.
func (s Store) Put(ctx context.Context, l Letter) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("dead letter %s: %w", l.EventID, err)
	}
	if err := s.Bucket.WriteAll(ctx, Key(l.EventID), b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("dead letter %s: %w", l.EventID, err)
	}
	return nil
}

// Get reads event id's letter; ErrNotFound when it has none.
func (s Store) Get(ctx context.Context, id string) (Letter, error) {
	b, err := s.Bucket.ReadAll(ctx, Key(id))
	if gcerrors.Code(err) == gcerrors.NotFound {
		return Letter{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Letter{}, fmt.Errorf("dead letter %s: %w", id, err)
	}
	var l Letter
	if err := json.Unmarshal(b, &l); err != nil {
		return Letter{}, fmt.Errorf("dead letter %s: %w", id, err)
	}
	return l, nil
}

// Delete removes event id's letter; ErrNotFound when it has none.
func (s Store) Delete(ctx context.Context, id string) error {
	err := s.Bucket.Delete(ctx, Key(id))
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("dead letter %s: %w", id, err)
	}
	return nil
}

// List returns every letter's summary, in key order. RejectedAt is the
// blob's modification time.
func (s Store) List(ctx context.Context) ([]Summary, error) {
	var out []Summary
	it := s.Bucket.List(&blob.ListOptions{Prefix: Prefix})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("listing dead letters: %w", err)
		}
		name, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, Prefix), ".json")
		if obj.IsDir || !ok {
			continue
		}
		id, err := url.PathUnescape(name)
		if err != nil {
			continue // not a letter's key
		}
		out = append(out, Summary{EventID: id, RejectedAt: obj.ModTime, Size: obj.Size})
	}
}
