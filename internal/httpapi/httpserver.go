package httpapi

import (
	"crypto/tls"
	"net/http"
	"time"
)

// HTTPServer returns an http.Server for h on addr with the timeouts a
// webhook receiver needs: slow clients cannot hold connections, and a
// response is written before Svix's 15 s deadline. With TLS, 1.2 is the
// minimum version.
func HTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Longer than the start timeout, shorter than Svix's 15 s.
		WriteTimeout:   14 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 64 << 10,
		TLSConfig:      &tls.Config{MinVersion: tls.VersionTLS12},
	}
}
