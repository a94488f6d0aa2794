package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/mediaflow/mediaflow/tools/internal/svixsim"
)

// svixSchedule is Svix's retry schedule (immediately, 5 s, 5 min, 30 min,
// 2 h, 5 h, 10 h, 10 h) compressed 100 times, so a fault test sees the
// same pattern in minutes.
var svixSchedule = []time.Duration{0, 50 * time.Millisecond, 3 * time.Second, 18 * time.Second,
	72 * time.Second, 180 * time.Second, 360 * time.Second, 360 * time.Second}

// event is one Animus event as the test sends it.
type event struct {
	id   string
	body []byte
}

// tally counts what the sender saw; safe for concurrent use.
type tally struct {
	mu         sync.Mutex
	deliveries int
	codes      map[int]int
	transport  int // connection refused, reset, timeout
	statuses   map[string]int
	perURL     map[string]int
}

func newTally() *tally {
	return &tally{codes: map[int]int{}, statuses: map[string]int{}, perURL: map[string]int{}}
}

func (t *tally) add(url string, code int, status string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.deliveries++
	t.perURL[url]++
	if err != nil {
		t.transport++
		return
	}
	t.codes[code]++
	if status != "" {
		t.statuses[status]++
	}
}

func (t *tally) count5xx() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for code, c := range t.codes {
		if code >= 500 {
			n += c
		}
	}
	return n
}

// sender delivers events as Svix does: signed, with a new timestamp on
// each attempt, retried on anything but 2xx along the schedule. Each
// attempt goes to one of urls at random, as through a load balancer.
type sender struct {
	urls     []string
	secret   string
	client   *http.Client
	schedule []time.Duration
	tally    *tally
}

// deliver tries ev along the schedule and reports whether it was
// acknowledged (2xx).
func (s *sender) deliver(ctx context.Context, ev event) bool {
	for _, wait := range s.schedule {
		// Jitter as Svix does, so retries do not arrive in lockstep.
		wait += time.Duration(rand.Int64N(int64(wait/10) + 1))
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		if code, _ := s.once(ctx, ev); code/100 == 2 {
			return true
		}
	}
	return false
}

// once makes one delivery attempt and returns the status code (0 on a
// transport error) and the answer's "status" field.
func (s *sender) once(ctx context.Context, ev event) (int, string) {
	url := s.urls[rand.IntN(len(s.urls))]
	a, err := svixsim.Deliver(ctx, s.client, url, s.secret, ev.id, ev.body)
	if err != nil {
		s.tally.add(url, 0, "", err)
		return 0, ""
	}
	s.tally.add(url, a.Code, a.Status, nil)
	return a.Code, a.Status
}

// ackSet collects the IDs of acknowledged events; safe for concurrent use.
// Read ids once the senders are done.
type ackSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (a *ackSet) add(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ids == nil {
		a.ids = map[string]bool{}
	}
	a.ids[id] = true
}

// sendPaced starts send(events[i]) at i*gap from now, each on a goroutine
// of its own (open loop: a slow answer delays no later event), waits for
// them all, and returns the IDs that send reported acknowledged. When ctx
// ends it starts no more and returns ctx's error.
func sendPaced(ctx context.Context, events []event, gap time.Duration, send func(event) bool) (map[string]bool, error) {
	var acked ackSet
	var wg sync.WaitGroup
	start := time.Now()
	for i, ev := range events {
		select {
		case <-ctx.Done():
			wg.Wait()
			return acked.ids, ctx.Err()
		case <-time.After(time.Until(start.Add(time.Duration(i) * gap))):
		}
		wg.Go(func() {
			if send(ev) {
				acked.add(ev.id)
			}
		})
	}
	wg.Wait()
	return acked.ids, nil
}
