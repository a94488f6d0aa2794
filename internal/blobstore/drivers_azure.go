//go:build mediaflow_azure

package blobstore

import _ "gocloud.dev/blob/azureblob" // registers its URL scheme

func init() { built["azblob"] = true }
