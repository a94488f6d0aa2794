package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/mediaflow/mediaflow/internal/webhook"
)

// Sender delivers events as Svix does: signed, with a new timestamp on
// each attempt, over one client; event i to URLs[i % len(URLs)], or to one
// at random (as through a load balancer) when Random. It tallies every
// attempt.
type Sender struct {
	URLs   []string
	Secret string
	IDs    IDs
	Body   func(i int, jobID string) []byte // event i's body
	Random bool

	client *http.Client
	mu     sync.Mutex
	tally  Tally
}

// Tally counts a Sender's attempts and their answers.
type Tally struct {
	Deliveries, Transport, Duplicates int
	Codes                             map[int]int
	PerURL                            map[string]int
}

// NewSender returns a Sender of new event IDs whose client keeps conns
// connections open, and waits 15 s for an answer, as Svix does.
func NewSender(urls []string, secret string, conns int, body func(i int, jobID string) []byte) *Sender {
	return &Sender{URLs: urls, Secret: secret, IDs: IDs{Token: NewToken()}, Body: body, tally: Tally{Codes: map[int]int{}, PerURL: map[string]int{}},
		client: &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{Proxy: nil, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true,
				DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext}}}
}

// Send makes one delivery attempt of event i: its Outcome's code is the
// HTTP status, or "error:KIND" for none (canceled, timeout, refused, reset
// or other).
func (s *Sender) Send(ctx context.Context, i int) Outcome {
	url := s.URLs[i%len(s.URLs)]
	if s.Random {
		url = s.URLs[rand.IntN(len(s.URLs))]
	}
	a, err := Deliver(ctx, s.client, url, s.Secret, s.IDs.EventID(i), s.Body(i, s.IDs.JobID(i)))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tally.Deliveries++
	s.tally.PerURL[url]++
	if err == nil {
		s.tally.Codes[a.Code]++
		if a.Status == "duplicate" {
			s.tally.Duplicates++
		}
		return Outcome{Code: strconv.Itoa(a.Code), Status: a.Status}
	}
	s.tally.Transport++
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return Outcome{Code: "error:canceled"}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Outcome{Code: "error:timeout"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return Outcome{Code: "error:refused"}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Outcome{Code: "error:reset"}
	}
	return Outcome{Code: "error:other"}
}

// Tally returns the attempts so far.
func (s *Sender) Tally() Tally {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tally
}

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
