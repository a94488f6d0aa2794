package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/logtest"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

const (
	secretA = "whsec_c2VjcmV0LUEtbmV2ZXItcHJpbnRlZC1hbnl3aGVyZQ=="
	secretB = "whsec_c2VjcmV0LUItbmV2ZXItcHJpbnRlZC1hbnl3aGVyZQ=="
)

// lockedBuffer holds what the server process prints; the test reads it
// while the process still writes.
type lockedBuffer = logtest.Buffer

// startServer runs this test binary as the server (see
// TestBadConfigStopsAtStart) with env, waits until it listens, and returns
// the process, its base URL and everything it prints.
func startServer(t *testing.T, scheme string, env ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()

	out := &lockedBuffer{}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBadConfigStopsAtStart$")
	cmd.Env = append([]string{"MEDIAFLOW_RUN_MAIN=1", "HTTP_ADDR=" + addr, "LOG_LEVEL=debug",
		// Nothing listens there: starts fail fast and answer 503.
		"TEMPORAL_ADDRESS=127.0.0.1:1", "START_TIMEOUT=1s", "BLOB_URL=file://" + t.TempDir(),
		"ANIMUS_WEBHOOK_SECRET=" + secretA + "," + secretB}, env...)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "server did not listen; output: %s", out)
	return cmd, scheme + "://" + addr, out
}

// TestOutputNeverShowsSecrets sends every kind of request through the real
// server process, stops it with SIGTERM, and greps all it printed for the
// secrets, whole or in part.
func TestOutputNeverShowsSecrets(t *testing.T) {
	cmd, base, out := startServer(t, "http")
	body, _ := samples.Get("success")
	send := func(secret, id string, body []byte, contentType string) int {
		h, _ := webhook.Sign(secret, id, time.Now(), body)
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/animus", bytes.NewReader(body))
		req.Header = h
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 503, send(secretA, "msg_a", body, "application/json"), "valid, Temporal down")
	require.Equal(t, 503, send(secretB, "msg_b", body, "application/json"), "valid with the second secret")
	require.Equal(t, 401, send("whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==", "msg_c", body, "application/json"))
	require.Equal(t, 400, send(secretA, "msg_d", []byte("not json"), "application/json"))
	require.Equal(t, 415, send(secretA, "msg_e", body, "text/plain"))
	require.Equal(t, 413, send(secretA, "msg_f", bytes.Repeat([]byte("x"), 2<<20), "application/json"))
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/nope"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "a graceful stop exits 0; output: %s", out)
	printed := out.String()
	require.Contains(t, printed, "outcome=unauthorized", "the log has the requests")
	for _, secret := range []string{secretA, secretB} {
		key := strings.TrimPrefix(secret, "whsec_")
		for _, part := range []string{secret, key, key[:16], key[len(key)-16:]} {
			require.NotContains(t, printed, part)
		}
	}
}

// TestTLS serves HTTPS from TLS_CERT_FILE/TLS_KEY_FILE, TLS 1.2 at least.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	_, base, out := startServer(t, "https", "TLS_CERT_FILE="+certFile, "TLS_KEY_FILE="+keyFile)

	client := func(maxVersion uint16) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, MaxVersion: maxVersion,
		}}}
	}
	resp, err := client(tls.VersionTLS12).Get(base + "/healthz")
	require.NoError(t, err, "output: %s", out)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	_, err = client(tls.VersionTLS11).Get(base + "/healthz")
	require.Error(t, err, "TLS 1.1 is refused")
}

// TestTLSProfile: on TLS 1.2 the server offers only Mozilla's
// "intermediate" suites (ECDHE with AES-GCM or ChaCha20-Poly1305): a
// client offering only a CBC suite is refused, and its failed handshake is
// a structured log line (component=net/http), not a bare Go log line.
func TestTLSProfile(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	_, base, out := startServer(t, "https", "TLS_CERT_FILE="+certFile, "TLS_KEY_FILE="+keyFile)

	get := func(suite uint16) error {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite},
		}}}
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for _, suite := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	} {
		require.NoError(t, get(suite), "%s; output: %s", tls.CipherSuiteName(suite), out)
	}
	for _, suite := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	} {
		require.Error(t, get(suite), "%s is refused", tls.CipherSuiteName(suite))
	}
	tls13 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, MinVersion: tls.VersionTLS13,
	}}}
	resp, err := tls13.Get(base + "/healthz")
	require.NoError(t, err, "TLS 1.3")
	resp.Body.Close()

	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), `level=WARN msg="http: TLS handshake error from 127.0.0.1:`)
	}, 10*time.Second, 20*time.Millisecond, "output: %s", out)
	for line := range strings.Lines(out.String()) {
		if strings.Contains(line, "TLS handshake error") {
			require.Contains(t, line, "component=net/http")
			require.True(t, strings.HasPrefix(line, "time="), "a structured line: %q", line)
		}
	}
}

func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}
