// Package blobstore opens the blob store that holds what mediaflow keeps
// outside Temporal: the event data of large payloads (package claimcheck)
// and the dead letters of rejected events (package deadletter). It is
// gocloud.dev/blob with the drivers a deployment needs: file:// (one host,
// or a volume shared by the server and the worker), s3:// (AWS S3 and
// S3-compatible stores such as MinIO), gs:// (Google Cloud Storage) and
// azblob:// (Azure Blob Storage).
//
// The cloud drivers weigh on the binaries (stripped, measured on the
// server: s3 +9.5 MB, gs +22 MB, azblob +4.4 MB). A build that does not
// need one leaves it out with a tag: go build -tags
// mediaflow_no_gcs,mediaflow_no_azure ./cmd/... (also mediaflow_no_s3);
// its URLs are then refused at start.
package blobstore

import (
	"context"
	"fmt"
	"net/url"

	"gocloud.dev/blob"
	// The drivers register for their URL schemes: file here, the clouds in
	// drivers_*.go, each of which a build tag leaves out.
	_ "gocloud.dev/blob/fileblob"
)

// Open opens the bucket at rawURL, a gocloud.dev/blob URL:
//
//	file:///var/lib/mediaflow/blobs  file://./data/blobs (relative)
//	s3://bucket?region=eu-west-1     s3://bucket?endpoint=http://minio:9000&use_path_style=true
//	gs://bucket                      azblob://container
//
// Credentials come from each cloud's usual environment (AWS_*, Google's
// application default credentials, AZURE_STORAGE_*), never from the URL,
// which is logged and quoted in errors.
// A file:// directory is created when missing, and its temporary files
// are written next to the blobs (so a rename never crosses devices, as it
// would from /tmp to a mounted volume), unless the URL says otherwise
// (create_dir, no_tmp_dir). Opening does not contact the store: an
// unreachable store fails the operations later, not Open. It fails when
// the URL does not parse or names no known scheme.
func Open(ctx context.Context, rawURL string) (*blob.Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("not a blob store URL (file://, s3://, gs://, azblob://)")
	}
	if u.Scheme == "file" {
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
