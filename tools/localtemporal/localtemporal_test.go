package localtemporal

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoopbackGuard(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/webhooks/animus", true},
		{"http://127.3.4.5:8080/x", true},
		{"http://localhost:8080/x", true},
		{"http://LOCALHOST/x", true},
		{"http://[::1]:8080/x", true},
		{"http://10.0.0.1:8080/x", false},
		{"http://0.0.0.0:8080/x", false},
		{"http://example.com/x", false},
		{"http://localhost.example.com/x", false},
		{"http://[::ffff:8.8.8.8]/x", false},
		{"ftp://127.0.0.1/x", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			err := CheckURL(tc.url)
			require.Equal(t, tc.ok, err == nil, "got %v", err)
		})
	}
	require.NoError(t, CheckHostPort("127.0.0.1:7233"))
	require.NoError(t, CheckHostPort("localhost:7233"))
	require.Error(t, CheckHostPort("temporal.example.com:7233"))
	require.Error(t, CheckHostPort("127.0.0.1"))
}
