package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"os"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeatEvery is how often a running download reports its progress.
const heartbeatEvery = time.Second

// defaultStallTimeout ends a transfer that receives nothing for this long
// when the activity has no heartbeat timeout of its own.
const defaultStallTimeout = time.Minute

// errStalled cancels a transfer that stopped receiving bytes.
var errStalled = errors.New("no bytes received for 1.5 heartbeat timeouts")

// stallWatch cancels a transfer's context with errStalled once no byte
// arrived for its timeout: longer than the heartbeat timeout, so that
// Temporal's own timeout decides the retry and this only ends the
// abandoned attempt.
type stallWatch struct {
	timer   *time.Timer
	timeout time.Duration
	cancel  context.CancelCauseFunc
}

// watchStall starts a stallWatch of 1.5 heartbeat timeouts
// (defaultStallTimeout without one) on a context derived from ctx.
func watchStall(ctx context.Context) (context.Context, *stallWatch) {
	w := &stallWatch{timeout: defaultStallTimeout}
	if activity.IsActivity(ctx) && activity.GetInfo(ctx).HeartbeatTimeout > 0 {
		w.timeout = activity.GetInfo(ctx).HeartbeatTimeout * 3 / 2
	}
	ctx, w.cancel = context.WithCancelCause(ctx)
	w.timer = time.AfterFunc(w.timeout, func() { w.cancel(errStalled) })
	return ctx, w
}

// reset pushes the deadline back: a byte arrived, or a request starts.
func (w *stallWatch) reset() { w.timer.Reset(w.timeout) }

// stop ends the watch and its context.
func (w *stallWatch) stop() {
	w.timer.Stop()
	w.cancel(nil)
}

// progress counts bytes written through it and heartbeats the count at
// most every heartbeatEvery; onWrite, when set, is called on every write.
type progress struct {
	ctx     context.Context
	w       io.Writer
	n       int64
	last    time.Time
	onWrite func()
}

// newProgress counts from n bytes, its first heartbeat heartbeatEvery
// from now: a download that ends sooner (most media) sends none, each
// heartbeat being a call to Temporal and a write to its database.
func newProgress(ctx context.Context, w io.Writer, n int64) *progress {
	return &progress{ctx: ctx, w: w, n: n, last: time.Now()}
}

func (p *progress) Write(b []byte) (int, error) {
	if p.onWrite != nil {
		p.onWrite()
	}
	n, err := p.w.Write(b)
	p.n += int64(n)
	if now := time.Now(); now.Sub(p.last) >= heartbeatEvery {
		p.last = now
		activity.RecordHeartbeat(p.ctx, p.n)
	}
	return n, err
}

// hashFile returns the size and hex SHA-256 of the file at path,
// heartbeating as it reads (a large file takes a while).
func hashFile(ctx context.Context, path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	var h hash.Hash = sha256.New()
	n, err := io.Copy(newProgress(ctx, h, 0), f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
