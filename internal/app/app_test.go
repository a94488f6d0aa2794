package app

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow/internal/config"
)

// TestTemporalOptionsCompression: the loaded TEMPORAL_GRPC_COMPRESSION
// reaches the client options both programs dial with.
func TestTemporalOptionsCompression(t *testing.T) {
	none := t.TempDir() + "/none.toml"
	for _, tc := range []struct {
		env  config.Environ
		want client.GrpcCompression
	}{
		{config.Environ{"TEMPORAL_ADDRESS": "127.0.0.1:7233"}, &client.GrpcCompressionNone{}},
		{config.Environ{"TEMPORAL_ADDRESS": "media.a2dd3.tmprl.cloud:7233"}, nil},
		{config.Environ{"TEMPORAL_ADDRESS": "127.0.0.1:7233", "TEMPORAL_GRPC_COMPRESSION": "gzip"}, nil},
		{config.Environ{"TEMPORAL_ADDRESS": "media.a2dd3.tmprl.cloud:7233", "TEMPORAL_GRPC_COMPRESSION": "none"}, &client.GrpcCompressionNone{}},
	} {
		tc.env["TEMPORAL_CONFIG_FILE"] = none
		cfg, err := config.LoadWorker(tc.env)
		require.NoError(t, err)
		opts := temporalOptions(cfg.Shared, slog.New(slog.DiscardHandler))
		require.Equal(t, tc.want, opts.ConnectionOptions.GrpcCompression, "%v", tc.env)
		require.Equal(t, tc.env["TEMPORAL_ADDRESS"], opts.HostPort)
	}
}
