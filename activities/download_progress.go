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
