package config

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMaxBodyBytes: large event data goes to the blob store, so the body
// limit may be raised to 16 MiB, and no further.
func TestMaxBodyBytes(t *testing.T) {
	c, err := LoadServer(Environ{"ANIMUS_WEBHOOK_SECRET": secret, "MAX_BODY_BYTES": fmt.Sprint(16 << 20)})
	require.NoError(t, err)
	require.EqualValues(t, 16<<20, c.MaxBodyBytes)

	_, err = LoadServer(Environ{"ANIMUS_WEBHOOK_SECRET": secret, "MAX_BODY_BYTES": fmt.Sprint(16<<20 + 1)})
	require.ErrorContains(t, err, `"MAX_BODY_BYTES" must be between 1 and 16777216 (16 MiB)`)
	require.NotContains(t, err.Error(), "2 MiB")
}

func TestBlobStoreSettings(t *testing.T) {
	for _, load := range map[string]func(Environ) (Shared, error){
		"server":  func(e Environ) (Shared, error) { c, err := LoadServer(e); return c.Shared, err },
		"worker":  func(e Environ) (Shared, error) { c, err := LoadWorker(e); return c.Shared, err },
		"control": func(e Environ) (Shared, error) { c, err := LoadControl(e); return c.Shared, err },
	} {
		c, err := load(Environ{"ANIMUS_WEBHOOK_SECRET": secret})
		require.NoError(t, err)
		require.Equal(t, DefaultBlobURL, c.BlobURL)
		require.Equal(t, 128<<10, c.BlobThresholdBytes)

		c, err = load(Environ{"ANIMUS_WEBHOOK_SECRET": secret, "BLOB_URL": "s3://media-events?region=eu-west-1", "BLOB_THRESHOLD_BYTES": "65536"})
		require.NoError(t, err)
		require.Equal(t, "s3://media-events?region=eu-west-1", c.BlobURL)
		require.Equal(t, 65536, c.BlobThresholdBytes)

		for name, env := range map[string]Environ{
			"not a URL":         {"BLOB_URL": "media-events"},
			"credentials":       {"BLOB_URL": "s3://AKIA:hunter2@media-events"},
			"threshold too low": {"BLOB_THRESHOLD_BYTES": "100"},
			"over Temporal's":   {"BLOB_THRESHOLD_BYTES": fmt.Sprint(2 << 20)},
		} {
			env["ANIMUS_WEBHOOK_SECRET"] = secret
			_, err := load(env)
			require.Error(t, err, name)
			require.NotContains(t, err.Error(), "hunter2", "errors never quote the URL")
		}
	}
}

func TestLoadControlNeedsNoSecret(t *testing.T) {
	c, err := LoadControl(Environ{"TEMPORAL_TASK_QUEUE": "media", "BLOB_URL": "file:///srv/blobs"})
	require.NoError(t, err)
	require.Equal(t, "media", c.TaskQueue)
	require.Equal(t, "file:///srv/blobs", c.BlobURL)
	require.NotContains(t, Variables[Control](), "ANIMUS_WEBHOOK_SECRET")
}

func TestCodecSettings(t *testing.T) {
	c, err := LoadServer(Environ{"ANIMUS_WEBHOOK_SECRET": secret})
	require.NoError(t, err)
	require.Empty(t, c.CodecAddr, "off by default")
	require.Equal(t, []string{"http://localhost:8233", "http://127.0.0.1:8233"}, c.CodecOrigins)

	c, err = LoadServer(Environ{"ANIMUS_WEBHOOK_SECRET": secret, "CODEC_ADDR": "127.0.0.1:8234",
		"CODEC_CORS_ORIGINS": " https://temporal.internal/ , http://localhost:8233"})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8234", c.CodecAddr)
	require.Equal(t, []string{"https://temporal.internal", "http://localhost:8233"}, c.CodecOrigins)

	for name, env := range map[string]Environ{
		"no port":          {"CODEC_ADDR": "localhost"},
		"the webhook's":    {"CODEC_ADDR": ":9000", "HTTP_ADDR": ":9000"},
		"origin with path": {"CODEC_CORS_ORIGINS": "http://localhost:8233/namespaces"},
		"origin not a URL": {"CODEC_CORS_ORIGINS": "localhost:8233"},
	} {
		env["ANIMUS_WEBHOOK_SECRET"] = secret
		_, err := LoadServer(env)
		require.Error(t, err, name)
	}
}
