//go:build mediaflow_gcs

package blobstore

import _ "gocloud.dev/blob/gcsblob" // registers its URL scheme

func init() { built["gs"] = true }
