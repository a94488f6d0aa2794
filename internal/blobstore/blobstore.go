// Package blobstore opens the blob store that holds what mediaflow keeps
// outside Temporal: the event data of large payloads (package claimcheck)
// and the dead letters of rejected events (package deadletter). It is
// gocloud.dev/blob with the drivers a deployment needs: file:// (one host,
// or a volume shared by the server and the worker), s3:// (AWS S3 and
// S3-compatible stores such as MinIO), gs:// (Google Cloud Storage) and
// azblob:// (Azure Blob Storage).
//
// The cloud drivers weigh on the binaries and on every process's memory
// (measured on the server: s3 +9.5 MB of binary and about 12 MiB of
// resident memory at start, gs +22 MB and about 15 MiB, azblob +4.4 MB),
// so file:// and s3:// are built in and the others are added with a build
// tag: go build -tags mediaflow_gcs,mediaflow_azure ./cmd/... (and
// mediaflow_no_s3 leaves s3 out). A URL whose driver is not built in is
// refused at start, naming the tag.
package blobstore

import (
	"context"
	"fmt"
	"net/url"

	"gocloud.dev/blob"
	// The drivers register for their URL schemes: file here, the clouds in
	// drivers_*.go, each built in or out by a build tag.
	_ "gocloud.dev/blob/fileblob"
)

// built holds the URL schemes of the cloud drivers in this build.
var built = map[string]bool{}

// tags are the build tags that add the cloud drivers left out by default.
var tags = map[string]string{"s3": "without mediaflow_no_s3", "gs": "with -tags mediaflow_gcs", "azblob": "with -tags mediaflow_azure"}

// Open opens the bucket at rawURL, a gocloud.dev/blob URL:
//
//	file:///var/lib/mediaflow/blobs  file://./data/blobs (relative)
//	s3://bucket?region=eu-west-1     s3://bucket?endpoint=http://minio:9000&use_path_style=true
//	gs://bucket                      azblob://container
//
// Credentials come from each cloud's usual environment (AWS_*, Google's
// application default credentials, AZURE_STORAGE_*), never from the URL,
// which is logged and quoted in errors.
// A file:// URL names its directory after "file://" (absolute) or
// "file://." (relative); another host, or no directory, is refused rather
// than read as gocloud would (file://data/blobs as /blobs).
// A file:// directory is created when missing, and its temporary files
// are written next to the blobs (so a rename never crosses devices, as it
// would from /tmp to a mounted volume), unless the URL says otherwise
// (create_dir, no_tmp_dir). Opening does not contact the store: an
// unreachable store fails the operations later, not Open. It fails when
// the URL does not parse, names no known scheme, or names a cloud whose
// driver is not in this build.
func Open(ctx context.Context, rawURL string) (*blob.Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("not a blob store URL (file://, s3://, gs://, azblob://)")
	}
	if tag, ok := tags[u.Scheme]; ok && !built[u.Scheme] {
		return nil, fmt.Errorf("%s:// is not in this build: build mediaflow %s (docs/storage.md)", u.Scheme, tag)
	}
	if u.Scheme == "file" {
		// gocloud drops a host other than "." and reads an empty path as
		// the current directory: file://data/blobs would be /blobs.
		if u.Opaque != "" || u.Path == "" && u.Host != "." || u.Host != "" && u.Host != "." && u.Host != "localhost" {
			return nil, fmt.Errorf("a file:// blob store URL is file:///absolute/dir or file://./relative/dir")
		}
		q := u.Query()
		for _, k := range []string{"create_dir", "no_tmp_dir"} {
			if !q.Has(k) {
				q.Set(k, "true")
			}
		}
		u.RawQuery = q.Encode()
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("opening the blob store: %w", err)
	}
	return b, nil
}
