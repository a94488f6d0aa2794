package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/tools/internal/load"
	"github.com/mediaflow/mediaflow/tools/internal/svixsim"
)

// svixSchedule is Svix's retry schedule (immediately, 5 s, 5 min, 30 min,
// 2 h, 5 h, 10 h, 10 h) compressed 100 times, so a fault test sees the
// same pattern in minutes.
var svixSchedule = []time.Duration{0, 50 * time.Millisecond, 3 * time.Second, 18 * time.Second,
	72 * time.Second, 180 * time.Second, 360 * time.Second, 360 * time.Second}

// sender delivers events as Svix does: signed, with a new timestamp on each
// attempt, each attempt to one of urls at random (as through a load
// balancer); it tallies every attempt. One event in five is a failed job,
// so that both paths (notify and alert) run.
type sender struct {
	urls        []string
	ids         load.IDs
	done, fails load.Template
	client      *http.Client

	mu sync.Mutex
	t  tally
}

// tally counts the attempts and their answers.
type tally struct {
	deliveries, transport, duplicates int
	codes                             map[int]int
	perURL                            map[string]int
}

func (t tally) fiveXX() int {
	n := 0
	for code, c := range t.codes {
		if code >= 500 {
			n += c
		}
	}
	return n
}

func newSender(urls []string) (*sender, error) {
	s := &sender{urls: urls, ids: load.IDs{Token: load.NewToken()}, t: tally{codes: map[int]int{}, perURL: map[string]int{}},
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	for name, t := range map[string]*load.Template{"success": &s.done, "failure": &s.fails} {
		body, err := samples.Get(name)
		if err == nil {
			*t, err = load.NewTemplate(body, 0, "")
		}
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// deliver tries event i along the schedule until it is acknowledged (2xx),
// and returns the last answer.
func (s *sender) deliver(ctx context.Context, i int) load.Outcome {
	var out load.Outcome
	for _, wait := range svixSchedule {
		// Jitter as Svix does, so retries do not arrive in lockstep.
		wait += time.Duration(rand.Int64N(int64(wait/10) + 1))
		select {
		case <-ctx.Done():
			return out
		case <-time.After(wait):
		}
		if out = s.once(ctx, i); strings.HasPrefix(out.Code, "2") {
			return out
		}
	}
	return out
}

// once makes one delivery attempt of event i.
func (s *sender) once(ctx context.Context, i int) load.Outcome {
	t := s.done
	if i%5 == 4 {
		t = s.fails
	}
	url := s.urls[rand.IntN(len(s.urls))]
	a, err := svixsim.Deliver(ctx, s.client, url, secret, s.ids.EventID(i), t.Body(s.ids.JobID(i)))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t.deliveries++
	s.t.perURL[url]++
	if err != nil {
		s.t.transport++
		return load.Outcome{Code: "error"}
	}
	s.t.codes[a.Code]++
	if a.Status == "duplicate" {
		s.t.duplicates++
	}
	return load.Outcome{Code: strconv.Itoa(a.Code), Status: a.Status}
}

func (s *sender) tally() tally {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t
}
