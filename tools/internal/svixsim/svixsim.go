// Package svixsim acts as Svix for mediaflow's tools: it sets an event
// body's data members and delivers it signed, as Svix does (svix-id,
// svix-timestamp, svix-signature from webhook.Sign).
package svixsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mediaflow/mediaflow/internal/webhook"
)

// Answer is the server's answer to one delivery.
type Answer struct {
	// Code is the HTTP status.
	Code int
	// Status is the JSON answer's "status" field ("started", "duplicate",
	// "ignored"), empty for an error answer.
	Status string
	// Body is the answer as sent, at most 64 KiB.
	Body []byte
}

// Deliver makes one delivery attempt of event id with body to url, signed
// with secret at the current time (a new timestamp on every attempt, as
// Svix does). It fails on a bad secret or a transport error.
func Deliver(ctx context.Context, c *http.Client, url, secret, id string, body []byte) (Answer, error) {
	h, err := webhook.Sign(secret, id, time.Now(), body)
	if err != nil {
		return Answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Answer{}, err
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Code: resp.StatusCode, Body: bytes.TrimSpace(b)}
	var status struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(b, &status) == nil {
		a.Status = status.Status
	}
	return a, nil
}

// SetData returns body with the given members of its data object set,
// re-encoded (numbers as written).
func SetData(body []byte, members map[string]any) ([]byte, error) {
	var event map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&event); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	data, ok := event["data"].(map[string]any)
	if !ok {
		return nil, errors.New("body has no data object")
	}
	for k, v := range members {
		data[k] = v
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // a URL's & stays as it is
	err := enc.Encode(event)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}
