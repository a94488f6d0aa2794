package activities

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/gofrs/flock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// lockPoll is how often an attempt that finds the partial file locked
// tries again.
const lockPoll = 250 * time.Millisecond

// errLocked is tryLockPartial's answer when the partial file is locked or
// changed under it.
var errLocked = errors.New("locked")

// lockPartial creates p.dir, opens p.part (created when missing) and takes
// its exclusive lock. While another attempt holds it, it waits, heartbeating,
// up to the activity's heartbeat timeout: a holder that Temporal timed out
// gives up within half of one (see fetch's watchdog). Then it fails with a
// retryable DownloadBusy error.
func lockPartial(ctx context.Context, p mediaPaths) (*os.File, func(), error) {
	var wait time.Duration
	if activity.IsActivity(ctx) {
		wait = activity.GetInfo(ctx).HeartbeatTimeout
	}
	deadline := time.Now().Add(wait)
	for {
		f, unlock, err := tryLockPartial(p)
		if !errors.Is(err, errLocked) {
			return f, unlock, err
		}
		if !time.Now().Before(deadline) {
			return nil, nil, temporal.NewApplicationError(
				"downloading media: another attempt is writing this media's partial file", ErrTypeDownloadBusy)
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, int64(0))
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// tryLockPartial is one try of lockPartial: errLocked when another holds
// the lock, or when the file at p.part was renamed or removed between
// opening and locking (the holder finished or cleaned up).
func tryLockPartial(p mediaPaths) (*os.File, func(), error) {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, nil, fsError("creating the media directory", err)
	}
	lk := flock.New(p.part, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	ok, err := lk.TryLock()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, errLocked // the directory, empty, was just removed by a failed attempt
	}
	if err != nil {
		return nil, nil, fsError("locking the partial file", err)
	}
	if !ok {
		return nil, nil, errLocked
	}
	f, err := os.OpenFile(p.part, os.O_RDWR, 0)
	if err == nil {
		locked, err1 := lk.Stat()
		opened, err2 := f.Stat()
		if err1 == nil && err2 == nil && os.SameFile(locked, opened) {
			return f, func() { lk.Unlock() }, nil
		}
		f.Close()
	}
	lk.Unlock()
	return nil, nil, errLocked
}
