package load

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Receiver is the far end of mediaflow's optional steps, on loopback: it
// serves every event's media (GET /media/<job ID>.bin, the same bytes for
// each) and takes notifications and alerts (POST /notify, POST /alert,
// answered 204), counting each Idempotency-Key, by which a receiver keeps
// one side effect per event. A worker with MEDIA_DIR, NOTIFY_URL and
// ALERT_URL pointing here runs all three steps without the network.
type Receiver struct {
	Addr  string
	media []byte
	srv   *http.Server

	mu     sync.Mutex
	counts ReceiverCounts
	keys   map[string]int // POSTs by Idempotency-Key
}

// ReceiverCounts is what a Receiver saw.
type ReceiverCounts struct {
	Media  int64 `json:"media"`
	Notify int64 `json:"notify"`
	Alert  int64 `json:"alert"`
}

// StartReceiver listens on addr and serves mediaSize bytes of media per
// request.
func StartReceiver(addr string, mediaSize int) (*Receiver, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &Receiver{Addr: l.Addr().String(), media: make([]byte, mediaSize), keys: map[string]int{}}
	for i := range r.media {
		r.media[i] = byte(i*7 + i>>8)
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(l)
	return r, nil
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	path := req.URL.Path
	switch {
	case req.Method == http.MethodGet && strings.HasPrefix(path, "/media/") && strings.HasSuffix(path, ".bin"):
		r.count(func() { r.counts.Media++ })
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(r.media)
	case req.Method == http.MethodPost && (path == "/notify" || path == "/alert"):
		io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
		r.count(func() {
			r.keys[req.Header.Get("Idempotency-Key")]++
			if path == "/notify" {
				r.counts.Notify++
			} else {
				r.counts.Alert++
			}
		})
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, req)
	}
}

func (r *Receiver) count(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

// MediaURL is the media_url template: the job ID placeholder is replaced
// per event.
func (r *Receiver) MediaURL() string { return "http://" + r.Addr + "/media/" + JobIDPlaceholder + ".bin" }

// Counts returns what was served so far.
func (r *Receiver) Counts() ReceiverCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts
}

// Keys returns the notifications and alerts received, their distinct
// Idempotency-Keys, and how many of those keys do not start with prefix.
func (r *Receiver) Keys(prefix string) (posts, distinct, foreign int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, n := range r.keys {
		posts += n
		if !strings.HasPrefix(k, prefix) {
			foreign++
		}
	}
	return posts, len(r.keys), foreign
}

// Close stops serving.
func (r *Receiver) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.srv.Shutdown(ctx)
}
