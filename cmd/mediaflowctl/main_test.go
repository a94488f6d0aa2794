package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/blobstore"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/deadletter"
)

// The redrive itself runs against a real Temporal in
// e2e/deadletter_test.go; these tests need only the blob store.

func environ(t *testing.T) config.Environ {
	return config.Environ{
		"BLOB_URL":             "file://" + t.TempDir(),
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
		// Nothing listens there: a redrive that reached Temporal would fail.
		"TEMPORAL_ADDRESS": "127.0.0.1:1",
	}
}

func ctl(env config.Environ, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, env, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	env := environ(t)
	for _, args := range [][]string{nil, {"frobnicate"}, {"show"}, {"show", "a", "b"}, {"redrive"}, {"redrive", "-all", "msg_1"}, {"list", "-x"}} {
		code, _, errOut := ctl(env, args...)
		require.Equal(t, 2, code, "%q", args)
		require.Contains(t, errOut, "usage:")
	}
}

func TestListAndShow(t *testing.T) {
	env := environ(t)
	code, out, _ := ctl(env, "list")
	require.Equal(t, 0, code)
	require.Equal(t, "EVENT ID  REJECTED AT  BYTES\n", out)

	b, err := blobstore.Open(context.Background(), env["BLOB_URL"])
	require.NoError(t, err)
	defer b.Close()
	at := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	body := []byte(`{"event_type":"media.completed","data":{"job_id":"j1","status":"completed"}}`)
	require.NoError(t, deadletter.Store{Bucket: b}.Put(context.Background(), deadletter.Letter{
		EventID: "msg_a/b", ReceivedAt: at, RejectedAt: at, Reason: "no mapping defined for search attribute AnimusJobID",
		Headers: map[string][]string{"Svix-Id": {"msg_a/b"}}, Body: body,
	}))

	code, out, _ = ctl(env, "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "msg_a/b")

	code, out, _ = ctl(env, "show", "msg_a/b")
	require.Equal(t, 0, code)
	require.Contains(t, out, "reason:       no mapping defined for search attribute AnimusJobID")
	require.Contains(t, out, "Svix-Id: msg_a/b")

	code, out, _ = ctl(env, "show", "-body", "msg_a/b")
	require.Equal(t, 0, code)
	require.Equal(t, string(body), out, "the body as received")

	code, _, errOut := ctl(env, "show", "msg_none")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no dead letter")
	code, out, _ = ctl(env, "redrive", "msg_none")
	require.Equal(t, 1, code)
	require.Contains(t, out, "msg_none\tfailed")
}
