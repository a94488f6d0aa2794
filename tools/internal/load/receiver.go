package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// receiver is the far end of mediaflow's optional steps, on loopback: it
// serves every event's media (GET /media/<job ID>.bin, mediaSize bytes)
// and takes notifications and alerts (POST /notify, POST /alert, answered
// 204), so a worker with MEDIA_DIR, NOTIFY_URL and ALERT_URL set runs all
// three steps without the network.
type Receiver struct {
	addr   string
	media  []byte
	srv    *http.Server
	l      net.Listener
	served struct{ media, notify, alert atomic.Int64 }
}

// receiverCounts is what the receiver saw during a run.
type ReceiverCounts struct {
	Media  int64 `json:"media"`
	Notify int64 `json:"notify"`
	Alert  int64 `json:"alert"`
}

// startReceiver listens on addr (loopback) and serves mediaSize bytes of
// media per request.
func StartReceiver(addr string, mediaSize int) (*Receiver, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-receiver: %w", err)
	}
	r := &Receiver{addr: l.Addr().String(), l: l, media: make([]byte, mediaSize)}
	for i := range r.media {
		r.media[i] = byte(i*7 + i>>8)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /media/", r.serveMedia)
	mux.HandleFunc("POST /notify", r.take(&r.served.notify))
	mux.HandleFunc("POST /alert", r.take(&r.served.alert))
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := r.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("loadgen: receiver:", err)
		}
	}()
	return r, nil
}

// MediaURL is the media_url template: the job ID placeholder is replaced
// per event.
func (r *Receiver) MediaURL() string {
	return "http://" + r.addr + "/media/" + JobIDPlaceholder + ".bin"
}

func (r *Receiver) serveMedia(w http.ResponseWriter, req *http.Request) {
	if !strings.HasSuffix(req.URL.Path, ".bin") {
		http.NotFound(w, req)
		return
	}
	r.served.media.Add(1)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(r.media)))
	w.Write(r.media)
}

func (r *Receiver) take(n *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}
}

// Counts returns what was served so far.
func (r *Receiver) Counts() ReceiverCounts {
	return ReceiverCounts{Media: r.served.media.Load(), Notify: r.served.notify.Load(), Alert: r.served.alert.Load()}
}

// Close stops serving.
func (r *Receiver) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.srv.Shutdown(ctx)
}
