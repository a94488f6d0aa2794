package webhook

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/mediaflow/mediaflow/internal/samples"
)

// FuzzVerify feeds arbitrary headers and bodies to Verify: it must never
// panic, and it may accept only what was signed with the secret.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1764410000, 0)
	for _, name := range samples.Names() {
		body, _ := samples.Get(name)
		h, _ := Sign(docSecret, "msg_seed_"+name, now, body)
		f.Add(body, h.Get("svix-id"), h.Get("svix-timestamp"), h.Get("svix-signature"), false)
		f.Add(body, h.Get("svix-id"), h.Get("svix-timestamp"), h.Get("svix-signature"), true)
	}
	f.Add([]byte(docBody), docID, docTS, docSig, false)
	f.Add([]byte{}, "", "", "", false)
	f.Add([]byte("{}"), "msg", "-1", "v1,", true)
	f.Add([]byte("{}"), "msg", "1764410000", "v1,a v1,b v2,c ,, v1", false)

	v, err := NewVerifier([]string{docSecret, otherSecret})
	if err != nil {
		f.Fatal(err)
	}
	v.Now = func() time.Time { return now }
	f.Fuzz(func(t *testing.T, body []byte, id, ts, sig string, unbranded bool) {
		prefix := "svix-"
		if unbranded {
			prefix = "webhook-"
		}
		h := http.Header{}
		h.Set(prefix+"id", id)
		h.Set(prefix+"timestamp", ts)
		h.Set(prefix+"signature", sig)
		d, err := v.Verify(body, h)
		if err != nil {
			return
		}
		// Accepted: then the signature list must hold the right one for
		// one of the secrets, for exactly these id, timestamp and body.
		secs, _ := strconv.ParseInt(ts, 10, 64)
		if d.ID != id || d.Timestamp.Unix() != secs {
			t.Fatalf("delivery %+v does not match headers id=%q ts=%q", d, id, ts)
		}
		ok := false
		for _, secret := range []string{docSecret, otherSecret} {
			want, _ := Sign(secret, id, time.Unix(secs, 0), body)
			ok = ok || containsSignature(sig, want.Get("svix-signature"))
		}
		if !ok {
			t.Fatalf("accepted a signature that no secret made: %q", sig)
		}
	})
}

// containsSignature reports whether the space-separated list has want.
func containsSignature(list, want string) bool {
	for i := 0; i+len(want) <= len(list); i++ {
		if list[i:i+len(want)] == want && (i == 0 || list[i-1] == ' ') &&
			(i+len(want) == len(list) || list[i+len(want)] == ' ') {
			return true
		}
	}
	return false
}
