package load

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mediaflow/mediaflow/internal/webhook"
)

// Routes of the peer.
const (
	MediaPath  = "/media/"
	NotifyPath = "/notify"
	AlertPath  = "/alert"
	HealthPath = "/healthz"
)

// MaxNoticeBytes bounds a received notification; mediaflow's are a few KiB.
const MaxNoticeBytes = 1 << 20

// Peer is what the outside world would be for a local mediaflow (devpeer
// for make dev; the far end of loadgen's and the fault test's runs): it
// serves media files (Media) under /media/ and receives the worker's
// notifications (POST /notify) and alerts (POST /alert). Each notification
// is answered 200, printed as one line to Out and appended to Log as one
// JSON line (Received); Counts, Keys and PerSecond count what it served
// and received.
type Peer struct {
	// Media holds the files served under /media/, by name.
	Media fs.FS
	// Out gets one human-readable line per request.
	Out io.Writer
	// Log gets one JSON line (Received) per notification or alert received.
	Log io.Writer
	// Verifier, when set, checks the Standard Webhooks signature that the
	// worker adds with NOTIFY_SECRET; a notification without a valid one
	// is answered 401, as a real receiver would.
	Verifier *webhook.Verifier
	// DownUntil, until then, answers every notification and alert 503, as
	// a gateway in front of a stopped receiver does (loadgen's outage).
	DownUntil time.Time

	mu     sync.Mutex
	seen   map[string]int // notifications by kind + " " + Idempotency-Key
	counts ReceiverCounts
	times  []time.Time // of every notification and alert request
}

// Received is one notification or alert as written to Log.
type Received struct {
	Time time.Time `json:"time"`
	// Kind is "notify" or "alert", from the path it was posted to.
	Kind string `json:"kind"`
	// IdempotencyKey is the Idempotency-Key header: the event ID.
	IdempotencyKey string `json:"idempotency_key"`
	// Repeat is true when a notification of this kind with this key was
	// received before (a retried attempt whose answer was lost, say).
	Repeat bool `json:"repeat,omitempty"`
	// Signature is "unsigned" when the peer has no secret, else "verified".
	Signature string `json:"signature"`
	// Body is the notification as received (mediaflow's activities.Notice).
	Body json.RawMessage `json:"body"`
}

// Handler returns the peer's routes.
func (p *Peer) Handler() http.Handler {
	mux := http.NewServeMux()
	media := http.StripPrefix(MediaPath, http.FileServerFS(p.Media))
	mux.Handle("GET "+MediaPath, p.logged(media))
	mux.HandleFunc("POST "+NotifyPath, func(w http.ResponseWriter, r *http.Request) { p.receive(w, r, "notify") })
	mux.HandleFunc("POST "+AlertPath, func(w http.ResponseWriter, r *http.Request) { p.receive(w, r, "alert") })
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

// logged prints one line per media request: what was asked, the status
// and the bytes sent.
func (p *Peer) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(cw, r)
		p.mu.Lock()
		p.counts.Media++
		p.mu.Unlock()
		p.printf("media  %s %s: %d, %d bytes", r.Method, r.URL.Path, cw.status, cw.n)
	})
}

func (p *Peer) receive(w http.ResponseWriter, r *http.Request, kind string) {
	now := time.Now()
	p.mu.Lock()
	p.times = append(p.times, now)
	p.mu.Unlock()
	if now.Before(p.DownUntil) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxNoticeBytes))
	if err != nil {
		p.refuse(w, http.StatusRequestEntityTooLarge, kind, fmt.Sprintf("body over %d bytes or unreadable: %v", MaxNoticeBytes, err))
		return
	}
	// Marshalled, the body is compacted to one line.
	rec := Received{Time: now.UTC(), Kind: kind, IdempotencyKey: r.Header.Get("Idempotency-Key"), Signature: "unsigned", Body: body}
	if p.Verifier != nil {
		if _, err := p.Verifier.Verify(body, r.Header); err != nil {
			p.refuse(w, http.StatusUnauthorized, kind, err.Error()+"; is NOTIFY_SECRET the same for the worker and devpeer?")
			return
		}
		rec.Signature = "verified"
	}
	if !json.Valid(body) {
		p.refuse(w, http.StatusBadRequest, kind, "the body is not JSON")
		return
	}
	p.mu.Lock()
	if p.seen == nil {
		p.seen = map[string]int{}
	}
	key := kind + " " + rec.IdempotencyKey
	rec.Repeat = rec.IdempotencyKey != "" && p.seen[key] > 0
	p.seen[key]++
	if kind == "notify" {
		p.counts.Notify++
	} else {
		p.counts.Alert++
	}
	line, _ := json.Marshal(rec)
	_, err = p.Log.Write(append(line, '\n'))
	p.mu.Unlock()
	if err != nil {
		// The worker retries a 5xx: the notification is not lost.
		p.refuse(w, http.StatusInternalServerError, kind, "could not write the log: "+err.Error())
		return
	}
	var n struct {
		Text    string `json:"text"`
		EventID string `json:"event_id"`
	}
	json.Unmarshal(body, &n)
	p.printf("%-6s event %s: %s (signature %s)%s", kind, n.EventID, n.Text, rec.Signature,
		map[bool]string{true: " [repeat: this Idempotency-Key was received before]"}[rec.Repeat])
	answer(w, http.StatusOK, map[string]string{"status": "received"})
}

// refuse answers code with why, and prints it.
func (p *Peer) refuse(w http.ResponseWriter, code int, kind, why string) {
	p.printf("%-6s refused (%d): %s", kind, code, why)
	answer(w, code, map[string]string{"error": why})
}

func answer(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (p *Peer) printf(format string, args ...any) {
	if p.Out != nil {
		fmt.Fprintf(p.Out, format+"\n", args...)
	}
}

// countingWriter records the status and the number of body bytes written.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += n
	return n, err
}

// Counts returns what was served and received so far.
func (p *Peer) Counts() ReceiverCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

// PerSecond counts the notification and alert requests (answered 503
// while down included) in each second from t0.
func (p *Peer) PerSecond(t0 time.Time) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var counts []int
	for _, at := range p.times {
		s := max(int(at.Sub(t0)/time.Second), 0)
		for len(counts) <= s {
			counts = append(counts, 0)
		}
		counts[s]++
	}
	return counts
}

// Keys returns the notifications and alerts received, their distinct
// Idempotency-Keys, and how many of those keys do not start with prefix.
func (p *Peer) Keys(prefix string) (posts, distinct, foreign int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := map[string]bool{}
	for k, n := range p.seen {
		_, key, _ := strings.Cut(k, " ")
		posts, keys[key] = posts+n, true
	}
	for k := range keys {
		if !strings.HasPrefix(k, prefix) {
			foreign++
		}
	}
	return posts, len(keys), foreign
}

// StartPeer serves p on addr until Close; its Log, when nil, is discarded.
func StartPeer(addr string, p *Peer) (*http.Server, string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	if p.Log == nil {
		p.Log = io.Discard
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	return srv, l.Addr().String(), nil
}
