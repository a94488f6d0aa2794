package main

import (
	"io"
	"net/http"
	"sync"
)

// target is the local notification and alert receiver: it counts POSTs per
// Idempotency-Key, which is how a receiver deduplicates side effects.
type target struct {
	mu   sync.Mutex
	keys map[string]int
	n    int
}

func (t *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	t.mu.Lock()
	if t.keys == nil {
		t.keys = map[string]int{}
	}
	t.keys[r.Header.Get("Idempotency-Key")]++
	t.n++
	t.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// counts returns the POSTs received, the distinct keys, and how many of
// those keys are not in want.
func (t *target) counts(want map[string]bool) (posts, distinct, foreign int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.keys {
		if !want[k] {
			foreign++
		}
	}
	return t.n, len(t.keys), foreign
}
