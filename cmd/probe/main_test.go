package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProbe(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, http.MethodGet, r.Method)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "temporal unreachable", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"2xx", []string{srv.URL + "/ok"}, 0, ""},
		{"503", []string{srv.URL + "/down"}, 1, "503 Service Unavailable"},
		{"redirect is not followed", []string{srv.URL + "/moved"}, 1, "302 Found"},
		{"timeout", []string{srv.URL + "/slow"}, 1, "no answer within"},
		{"nothing listening", []string{closedURL + "/ok"}, 1, "connection refused"},
		{"bad URL", []string{"://nope"}, 1, "missing protocol scheme"},
		{"no argument", nil, 1, "usage: probe URL"},
		{"two arguments", []string{srv.URL + "/ok", srv.URL + "/ok"}, 1, "usage: probe URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			start := time.Now()
			got := run(tc.args, &stderr, 200*time.Millisecond)
			require.Equal(t, tc.wantCode, got, "exit code; stderr %q", stderr.String())
			require.Less(t, time.Since(start), 2*time.Second, "the timeout bounds the probe")
			if tc.wantErr == "" {
				require.Empty(t, stderr.String())
			} else {
				require.Contains(t, stderr.String(), tc.wantErr)
			}
		})
	}
}
