package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The verification example from the Svix docs (also in the Animus docs).
const (
	docSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	docID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	docTS     = "1614265330"
	docBody   = `{"test": 2432232314}`
	docSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

const otherSecret = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM="

func docHeaders() http.Header {
	h := http.Header{}
	h.Set("svix-id", docID)
	h.Set("svix-timestamp", docTS)
	h.Set("svix-signature", docSig)
	return h
}

func docTime() time.Time {
	secs, _ := strconv.ParseInt(docTS, 10, 64)
	return time.Unix(secs, 0)
}

func newVerifier(t *testing.T, now time.Time, secrets ...string) *Verifier {
	t.Helper()
	v, err := NewVerifier(secrets)
	require.NoError(t, err)
	v.Now = func() time.Time { return now }
	return v
}

// sign returns headers for body signed with secret, as Svix sends them,
// under the svix- or webhook- prefix.
func sign(t *testing.T, secret, id string, ts time.Time, body string, prefix string) http.Header {
	t.Helper()
	h, err := Sign(secret, id, ts, []byte(body))
	require.NoError(t, err)
	if prefix != "svix-" {
		for _, name := range []string{"id", "timestamp", "signature"} {
			h.Set(prefix+name, h.Get("svix-"+name))
			h.Del("svix-" + name)
		}
	}
	return h
}

func TestDocsVector(t *testing.T) {
	d, err := newVerifier(t, docTime().Add(time.Minute), docSecret).Verify([]byte(docBody), docHeaders())
	require.NoError(t, err)
	require.Equal(t, docID, d.ID)
	require.Equal(t, docTime(), d.Timestamp)

	// Checked live, the same delivery is years old.
	_, err = newVerifier(t, time.Now(), docSecret).Verify([]byte(docBody), docHeaders())
	require.ErrorIs(t, err, ErrTimestamp)
	require.Contains(t, err.Error(), "too old")
}

func TestVerify(t *testing.T) {
	now := time.Now()
	both := func(a, b http.Header) http.Header {
		for k, v := range b {
			a[k] = v
		}
		return a
	}
	body := `{"event_type":"media.completed","data":{"job_id":"j1"}}`
	tests := []struct {
		name    string
		secrets []string
		headers http.Header
		body    string
		wantErr error
		wantMsg string
	}{
		{name: "valid", secrets: []string{docSecret}, headers: sign(t, docSecret, "msg_1", now, body, "svix-"), body: body},
		{name: "unbranded headers", secrets: []string{docSecret}, headers: sign(t, docSecret, "msg_1", now, body, "webhook-"), body: body},
		{name: "rotated: new secret first", secrets: []string{otherSecret, docSecret}, headers: sign(t, docSecret, "msg_1", now, body, "svix-"), body: body},
		{name: "rotated: old secret first", secrets: []string{docSecret, otherSecret}, headers: sign(t, otherSecret, "msg_1", now, body, "svix-"), body: body},
		{name: "secret with surrounding white space", secrets: []string{"  " + docSecret + "\n"}, headers: sign(t, docSecret, "msg_1", now, body, "svix-"), body: body},
		{name: "timestamp 4 minutes old", secrets: []string{docSecret}, headers: sign(t, docSecret, "msg_1", now.Add(-4*time.Minute), body, "svix-"), body: body},
		{name: "tampered body", secrets: []string{docSecret}, headers: sign(t, docSecret, "msg_1", now, body, "svix-"), body: body + " ", wantErr: ErrSignature},
		{name: "signature for another event ID", secrets: []string{docSecret}, headers: func() http.Header {
			h := sign(t, docSecret, "msg_1", now, body, "svix-")
			h.Set("svix-id", "msg_2")
			return h
		}(), body: body, wantErr: ErrSignature},
		{name: "wrong secret", secrets: []string{otherSecret}, headers: sign(t, docSecret, "msg_1", now, body, "svix-"), body: body, wantErr: ErrSignature},
		{name: "missing headers", secrets: []string{docSecret}, headers: http.Header{}, body: body, wantErr: ErrMissingHeaders, wantMsg: "svix-id, svix-timestamp, svix-signature"},
		{name: "missing signature", secrets: []string{docSecret}, headers: func() http.Header {
			h := sign(t, docSecret, "msg_1", now, body, "svix-")
			h.Del("svix-signature")
			return h
		}(), body: body, wantErr: ErrMissingHeaders, wantMsg: "svix-signature"},
		{name: "timestamp too old", secrets: []string{docSecret}, headers: sign(t, docSecret, "msg_1", now.Add(-6*time.Minute), body, "svix-"), body: body, wantErr: ErrTimestamp, wantMsg: "too old"},
		{name: "timestamp too new", secrets: []string{docSecret}, headers: sign(t, docSecret, "msg_1", now.Add(6*time.Minute), body, "svix-"), body: body, wantErr: ErrTimestamp, wantMsg: "future"},
		{name: "timestamp in milliseconds", secrets: []string{docSecret}, headers: func() http.Header {
			h := sign(t, docSecret, "msg_1", now, body, "svix-")
			h.Set("svix-timestamp", strconv.FormatInt(now.UnixMilli(), 10))
			return h
		}(), body: body, wantErr: ErrTimestamp, wantMsg: "milliseconds"},
		{name: "timestamp not a number", secrets: []string{docSecret}, headers: func() http.Header {
			h := sign(t, docSecret, "msg_1", now, body, "svix-")
			h.Set("svix-timestamp", "yesterday")
			return h
		}(), body: body, wantErr: ErrTimestamp, wantMsg: "Unix seconds"},
		{name: "unknown signature version only", secrets: []string{docSecret}, headers: func() http.Header {
			h := sign(t, docSecret, "msg_1", now, body, "svix-")
			h.Set("svix-signature", strings.Replace(h.Get("svix-signature"), "v1,", "v2,", 1))
			return h
		}(), body: body, wantErr: ErrSignature},
		// A relay that forwards the svix-* headers it got and signs what
		// it sends with webhook-* (or the other way round).
		{name: "svix-* of another signer beside a valid webhook-* set", secrets: []string{docSecret},
			headers: both(sign(t, docSecret, "msg_1", now, body, "webhook-"), sign(t, otherSecret, "msg_upstream", now, body, "svix-")), body: body},
		{name: "valid svix-* beside webhook-* of another signer", secrets: []string{docSecret},
			headers: both(sign(t, docSecret, "msg_1", now, body, "svix-"), sign(t, otherSecret, "msg_other", now, body, "webhook-")), body: body},
		{name: "stale svix-* beside a valid webhook-* set", secrets: []string{docSecret},
			headers: both(sign(t, docSecret, "msg_1", now, body, "webhook-"), sign(t, docSecret, "msg_upstream", now.Add(-time.Hour), body, "svix-")), body: body},
		{name: "neither complete set verifies: the svix-* set's reason", secrets: []string{docSecret},
			headers: both(sign(t, otherSecret, "msg_1", now, body, "webhook-"), sign(t, docSecret, "msg_upstream", now.Add(-time.Hour), body, "svix-")),
			body:    body, wantErr: ErrTimestamp, wantMsg: "too old"},
		{name: "valid among several signatures", secrets: []string{docSecret}, headers: func() http.Header {
			h := sign(t, docSecret, "msg_1", now, body, "svix-")
			h.Set("svix-signature", "v1,AAAA v1a,xyz "+h.Get("svix-signature"))
			return h
		}(), body: body},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := newVerifier(t, now, tc.secrets...).Verify([]byte(tc.body), tc.headers)
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.Equal(t, "msg_1", d.ID)
				return
			}
			require.ErrorIs(t, err, tc.wantErr, "got %v, want %v", err, tc.wantErr)
			require.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

func TestNewVerifierRejectsBadSecrets(t *testing.T) {
	for _, secrets := range [][]string{nil, {""}, {"whsec_"}, {docSecret, "  "}, {"whsec_not*base64!"}} {
		_, err := NewVerifier(secrets)
		require.ErrorIs(t, err, ErrSecret, "secrets %q", secrets)
		for _, s := range secrets {
			if len(s) > 6 {
				require.NotContains(t, err.Error(), strings.TrimPrefix(s, "whsec_"), "error leaks the secret")
			}
		}
	}
}

func TestSignMatchesDocsVector(t *testing.T) {
	h, err := Sign(docSecret, docID, docTime(), []byte(docBody))
	require.NoError(t, err)
	require.Equal(t, docSig, h.Get("svix-signature"))
	require.Equal(t, docTS, h.Get("svix-timestamp"))
}
