package httpapi

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"
)

// tlsCipherSuites are the TLS 1.2 suites served, those of Mozilla's
// "intermediate" profile that Go has: ECDHE key exchange (forward secrecy)
// with AES-GCM or ChaCha20-Poly1305, no CBC. TLS 1.3's suites are all
// AEAD and are not configurable in Go.
var tlsCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// HTTPServer returns an http.Server for h on addr with the timeouts a
// webhook receiver needs: slow clients cannot hold connections (a body
// still arriving after ReadTimeout is answered 408), and a response is
// written before Svix's 15 s deadline. With TLS: 1.2 or 1.3, and on 1.2
// only the suites of Mozilla's "intermediate" profile.
//
// The server's own errors (failed TLS handshakes, accept errors, panics
// that escape the handler) go to logger at WARN with component=net/http, at
// most one line a second after a burst of 10: a flood of bad handshakes
// adds one "net/http lines suppressed" line with their count every 10 s.
func HTTPServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	return httpServer(addr, h, logger, suppressedEvery)
}

// httpServer is HTTPServer with the period of the "suppressed" lines.
func httpServer(addr string, h http.Handler, logger *slog.Logger, every time.Duration) *http.Server {
	logger = logger.With("component", "net/http")
	budget := newLineBudget(logger, slog.LevelWarn, "net/http")
	budget.every = every
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Longer than the start timeout, shorter than Svix's 15 s.
		WriteTimeout:   14 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 64 << 10,
		TLSConfig:      &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: tlsCipherSuites},
		ErrorLog:       slog.NewLogLogger(budgetHandler{inner: logger.Handler(), budget: budget}, slog.LevelWarn),
	}
}
