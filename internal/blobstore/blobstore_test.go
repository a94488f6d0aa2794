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

// TestOpenNamesTheTagOfAMissingDriver: a cloud whose driver this build
// leaves out is refused at Open with the build tag that adds it, not with
// gocloud's "no driver registered".
func TestOpenNamesTheTagOfAMissingDriver(t *testing.T) {
	for scheme, tag := range map[string]string{"gs": "mediaflow_gcs", "azblob": "mediaflow_azure"} {
		if built[scheme] {
			continue
		}
		_, err := Open(context.Background(), scheme+"://bucket")
		require.ErrorContains(t, err, scheme+":// is not in this build")
		require.ErrorContains(t, err, tag)
	}
	if built["s3"] {
		b, err := Open(context.Background(), "s3://bucket?region=eu-west-1")
		require.NoError(t, err, "s3 is built in by default; opening does not contact the store")
		b.Close()
	}
}

// TestOpenRefusesFileURLsOfAnotherDirectory: a file:// URL whose directory
// gocloud would read elsewhere than it says (a relative path without its
// "./", which becomes a host and is dropped, or no path at all, the
// current directory) is refused: the blobs would silently go to a
// directory nobody configured.
func TestOpenRefusesFileURLsOfAnotherDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	tmp := t.TempDir()
	for _, u := range []string{
		"file://data" + tmp + "/blobs", // gocloud opens tmp/blobs, not ./data/tmp/blobs
		"file://blobs", "file://", "file:data/blobs", "file:./data/blobs",
	} {
		_, err := Open(context.Background(), u)
		require.ErrorContains(t, err, "file:///absolute/dir or file://./relative/dir", "%q", u)
	}
	require.NoDirExists(t, filepath.Join(tmp, "blobs"))

	for u, dir := range map[string]string{
		"file://./data/blobs/":             "data/blobs",
		"file://" + tmp + "/a":             filepath.Join(tmp, "a"),
		"file://localhost" + tmp + "/b":    filepath.Join(tmp, "b"),
		"file://" + tmp + "/c/?no_tmp_dir": filepath.Join(tmp, "c"),
	} {
		b, err := Open(context.Background(), u)
		require.NoError(t, err, "%q", u)
		require.NoError(t, b.WriteAll(context.Background(), "k", []byte("x"), nil))
		require.NoError(t, b.Close())
		require.FileExists(t, filepath.Join(dir, "k"), "%q", u)
	}
}
