package blobstore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpenFileCreatesTheDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "blobs")
	b, err := Open(context.Background(), "file://"+dir)
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	require.NoError(t, b.WriteAll(ctx, "payloads/sha256/ab", []byte("x"), nil))
	got, err := b.ReadAll(ctx, "payloads/sha256/ab")
	require.NoError(t, err)
	require.Equal(t, "x", string(got))
	require.FileExists(t, filepath.Join(dir, "payloads", "sha256", "ab"))
}

func TestOpenRefusesUnknownStores(t *testing.T) {
	for _, u := range []string{"", "data/blobs", "ftp://host/blobs"} {
		_, err := Open(context.Background(), u)
		require.Error(t, err, "%q", u)
	}
}
