package claimcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/mediaflow/mediaflow/internal/blobstore"

	"github.com/mediaflow/mediaflow/internal/logtest"
)

// uiOrigin is the Temporal UI's origin in these tests (make dev's).
const uiOrigin = "http://localhost:8233"

// codecServer serves c as Handler does in the server, on loopback; the
// log it writes is returned too.
func codecServer(t *testing.T, c *Codec) (string, *logtest.Buffer) {
	t.Helper()
	var log logtest.Buffer
	srv := httptest.NewServer(Handler(c, []string{uiOrigin}, slog.New(slog.NewTextHandler(&log, nil))))
	t.Cleanup(srv.Close)
	return srv.URL, &log
}

func jsonPayload(s string) *commonpb.Payload {
	return &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte("json/plain")}, Data: []byte(`"` + s + `"`)}
}

type answer struct {
	code   int
	header http.Header
	body   []byte
}

// error is the "error" of an answer's JSON body.
func (a answer) error(t *testing.T) string {
	t.Helper()
	var e struct{ Error string }
	require.NoError(t, json.Unmarshal(a.body, &e), "%s", a.body)
	require.NotEmpty(t, e.Error)
	return e.Error
}

func (a answer) payloads(t *testing.T) []*commonpb.Payload {
	t.Helper()
	require.Equal(t, http.StatusOK, a.code, "%s", a.body)
	var ps commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(a.body, &ps))
	return ps.Payloads
}

// post sends body as the UI does (JSON, X-Namespace, its Origin), with
// header's values on top (an empty value removes a header).
func post(t *testing.T, url string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	req.Header.Set("Origin", uiOrigin)
	for k, v := range header {
		req.Header.Del(k)
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, body}
}

func payloadsJSON(t *testing.T, ps ...*commonpb.Payload) []byte {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	require.NoError(t, err)
	return b
}

// TestHandlerEncodesAndDecodes: the two operations, called as the CLI
// calls them (the SDK's remote codec client, with the headers of
// --codec-auth and an endpoint with the namespace in its path) and as the
// UI does (its Origin, a query on the path).
func TestHandlerEncodesAndDecodes(t *testing.T) {
	c, b := newCodec(t)
	url, _ := codecServer(t, c)
	big := jsonPayload(strings.Repeat("y", 2*threshold))
	small := jsonPayload("small")

	cli := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: url + "/default",
		ModifyRequest: func(req *http.Request) error {
			req.Header.Set("X-Namespace", "default")
			req.Header.Set("Authorization", "Bearer cli-token")
			return nil
		},
	})
	enc, err := cli.Encode([]*commonpb.Payload{big, small})
	require.NoError(t, err)
	require.Equal(t, Encoding, string(enc[0].Metadata[converter.MetadataEncoding]), "stored")
	require.Len(t, keys(t, b), 1)
	require.Equal(t, small.Data, enc[1].Data, "inline")
	dec, err := cli.Decode(enc)
	require.NoError(t, err)
	require.Equal(t, big.Data, dec[0].Data)
	require.Equal(t, small.Data, dec[1].Data)

	// The UI 2.53 adds a query; it reads the answer's "payloads".
	got := post(t, url+"/encode?preserveStorageRefs=true", payloadsJSON(t, big), nil)
	require.Equal(t, uiOrigin, got.header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, enc[0].Data, got.payloads(t)[0].Data, "the same payload is the same blob")
	got = post(t, url+"/decode?preserveStorageRefs=true", payloadsJSON(t, enc[0]), nil)
	require.Equal(t, big.Data, got.payloads(t)[0].Data)
	require.JSONEq(t, `{"payloads":[]}`, string(post(t, url+"/decode", []byte(`{}`), nil).body))
}

// TestHandlerCORS: the preflight of each of the UI's codec settings, with
// the exact Access-Control-Request-Headers a browser sends for the headers
// the UI sets (src/lib/services/data-encoder.ts, UI 2.42.1, make dev's,
// and 2.53.1, make cluster's): none; "Pass access token" (Authorization,
// and Authorization-Extras with the login's ID token, or alone in 2.53
// when there is no access token); "Include cross-origin credentials"
// (cookies: the same headers, and the answer must allow credentials).
func TestHandlerCORS(t *testing.T) {
	c, _ := newCodec(t)
	url, _ := codecServer(t, c)
	for _, tc := range []struct{ mode, headers string }{
		{"no auth", "content-type,x-namespace"},
		{"pass access token", "authorization,content-type,x-namespace"},
		{"pass access token with ID token", "authorization,authorization-extras,content-type,x-namespace"},
		{"pass access token, ID token only (2.53)", "authorization-extras,content-type,x-namespace"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			for _, op := range []string{"/encode", "/decode"} {
				req, _ := http.NewRequest(http.MethodOptions, url+op+"?preserveStorageRefs=true", nil)
				req.Header.Set("Origin", uiOrigin)
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", tc.headers)
				got := do(t, req)
				require.Less(t, got.code, 300)
				require.Equal(t, uiOrigin, got.header.Get("Access-Control-Allow-Origin"))
				require.Equal(t, "true", got.header.Get("Access-Control-Allow-Credentials"))
				require.Contains(t, got.header.Get("Access-Control-Allow-Methods"), "POST")
				allowed := strings.Split(strings.ToLower(got.header.Get("Access-Control-Allow-Headers")), ",")
				for _, h := range strings.Split(tc.headers, ",") {
					require.Contains(t, allowed, h)
				}
			}
			// The request itself, with what that mode adds.
			got := post(t, url+"/decode", payloadsJSON(t, jsonPayload("x")), map[string]string{
				"Authorization": "Bearer token", "Authorization-Extras": "id-token", "Cookie": "session=1"})
			require.Equal(t, http.StatusOK, got.code)
			require.Equal(t, uiOrigin, got.header.Get("Access-Control-Allow-Origin"))
			require.Equal(t, "true", got.header.Get("Access-Control-Allow-Credentials"))
		})
	}

	// Another site's page gets no grant.
	req, _ := http.NewRequest(http.MethodOptions, url+"/decode", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
	require.Empty(t, do(t, req).header.Get("Access-Control-Allow-Origin"))
}

// TestHandlerRefusesOtherSitesWrites: what stands between another site's
// page and the store, since /encode writes: its Origin is refused, and a
// request it could send without a preflight (a form's text/plain) is not
// JSON. Nothing is stored.
func TestHandlerRefusesOtherSitesWrites(t *testing.T) {
	c, b := newCodec(t)
	url, _ := codecServer(t, c)
	big := payloadsJSON(t, jsonPayload(strings.Repeat("y", 2*threshold)))
	for name, header := range map[string]map[string]string{
		"another origin":      {"Origin": "https://evil.example"},
		"an opaque origin":    {"Origin": "null"},
		"a form's text/plain": {"Content-Type": "text/plain"},
		"no content type":     {"Content-Type": "", "Origin": ""},
	} {
		t.Run(name, func(t *testing.T) {
			got := post(t, url+"/encode", big, header)
			require.Contains(t, []int{http.StatusForbidden, http.StatusUnsupportedMediaType}, got.code)
			got.error(t)
			require.Empty(t, keys(t, b))
		})
	}
}

// TestHandlerErrors: each kind of bad request and of claim-check failure
// has its status and names the problem.
func TestHandlerErrors(t *testing.T) {
	c, b := newCodec(t)
	url, log := codecServer(t, c)
	ctx := context.Background()
	corrupt := KeyPrefix + strings.Repeat("0", 64)
	require.NoError(t, b.WriteAll(ctx, corrupt, []byte("zqxj"), nil))
	reference := func(key string) []byte {
		data, _ := json.Marshal(Reference{Key: key})
		return payloadsJSON(t, &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding)}, Data: data})
	}
	for _, tc := range []struct {
		name, path string
		body       []byte
		code       int
		says       string
	}{
		{"other operation", "/download", payloadsJSON(t), 404, "no such codec operation"},
		{"no operation", "/", payloadsJSON(t), 404, "no such codec operation"},
		{"not JSON", "/decode", []byte("nope"), 400, "not JSON"},
		{"not Payloads", "/encode", []byte(`{"payloads":"x"}`), 400, "Payloads"},
		{"too large", "/encode", bytes.Repeat([]byte(" "), MaxRequestBytes+1), 413, "over 4 MiB"},
		{"bad reference", "/decode", reference("deadletters/msg_1.json"), 400, `"deadletters/msg_1.json": not a reference`},
		{"missing blob", "/decode", reference(KeyPrefix + strings.Repeat("1", 64)), 404, "not found"},
		{"corrupt blob", "/decode", reference(corrupt), 500, corrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := post(t, url+tc.path, tc.body, nil)
			require.Equal(t, tc.code, got.code, "%s", got.body)
			require.Contains(t, got.error(t), tc.says)
			require.NotContains(t, string(got.body), "zqxj")
		})
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/decode", nil)
	got := do(t, req)
	require.Equal(t, http.StatusMethodNotAllowed, got.code)
	require.Equal(t, "POST", got.header.Get("Allow"))
	require.Contains(t, log.String(), "status=404", "a missing blob is logged")
}

// TestHandlerStoreDown: a file:// store that cannot be read or written
// (its directory gone, a file in its place) is answered 503 with
// Retry-After, naming no path on disk (the store's error, in the log,
// does); once it is back, the same requests succeed.
func TestHandlerStoreDown(t *testing.T) {
	dir := t.TempDir()
	bucket, err := blobstore.Open(context.Background(), "file://"+dir)
	require.NoError(t, err)
	t.Cleanup(func() { bucket.Close() })
	c := New(bucket, threshold)
	url, log := codecServer(t, c)
	big := payloadsJSON(t, jsonPayload(strings.Repeat("y", 2*threshold)))
	ref := post(t, url+"/encode", big, nil).payloads(t)

	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, []byte("not a directory"), 0o600))
	for op, body := range map[string][]byte{"/encode": big, "/decode": payloadsJSON(t, ref...)} {
		got := post(t, url+op, body, nil)
		require.Equal(t, http.StatusServiceUnavailable, got.code, "%s: %s", op, got.body)
		require.NotEmpty(t, got.header.Get("Retry-After"))
		require.Contains(t, got.error(t), "blob store unavailable")
		require.NotContains(t, string(got.body), dir)
	}
	require.Contains(t, log.String(), dir, "the operator's log has the store's error")

	require.NoError(t, os.Remove(dir))
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.Equal(t, ref[0].Data, post(t, url+"/encode", big, nil).payloads(t)[0].Data)
	require.Equal(t, http.StatusOK, post(t, url+"/decode", payloadsJSON(t, ref...), nil).code)
}

// TestHandlerS3Misbehaves: an S3-compatible store (the s3:// driver, as
// BLOB_URL opens it) that misbehaves as stores do. What may pass is 503,
// with Retry-After: an answer of 5xx (after the SDK's own retries), a body
// cut short, no answer within RequestTimeout. A missing object is 404; an
// object that is not what its key says is refused (500), never returned.
func TestHandlerS3Misbehaves(t *testing.T) {
	t.Parallel()
	stored, err := proto.Marshal(jsonPayload(strings.Repeat("y", 2*threshold)))
	require.NoError(t, err)
	key := blobKey(stored)
	for _, tc := range []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request)
		code  int
	}{
		{"answers", func(w http.ResponseWriter, r *http.Request) { w.Write(stored) }, 200},
		{"slow down", s3Error(503, "SlowDown"), 503},
		{"internal error", s3Error(500, "InternalError"), 503},
		{"cut body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			w.Write(stored[:1000])
		}, 503},
		{"no answer", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, 503},
		{"no such key", s3Error(404, "NoSuchKey"), 404},
		{"another object", func(w http.ResponseWriter, r *http.Request) { w.Write(stored[:len(stored)-1]) }, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s3 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/bucket/"+key) {
					s3Error(400, "Unexpected")(w, r)
					return
				}
				tc.serve(w, r)
			}))
			t.Cleanup(s3.Close)
			bucket, err := blobstore.Open(context.Background(),
				"s3://bucket?region=us-east-1&use_path_style=true&anonymous=true&endpoint="+url.QueryEscape(s3.URL))
			require.NoError(t, err)
			t.Cleanup(func() { bucket.Close() })
			codecURL, _ := codecServer(t, New(bucket, threshold))
			ref, _ := json.Marshal(Reference{Key: key})
			got := post(t, codecURL+"/decode", payloadsJSON(t, &commonpb.Payload{
				Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding)}, Data: ref}), nil)
			require.Equal(t, tc.code, got.code, "%s", got.body)
			switch tc.code {
			case 200:
				require.Equal(t, `"`+strings.Repeat("y", 2*threshold)+`"`, string(got.payloads(t)[0].Data))
			case 503:
				require.NotEmpty(t, got.header.Get("Retry-After"))
				fallthrough
			default:
				require.Contains(t, got.error(t), key)
				require.NotContains(t, string(got.body), s3.URL[len("http://"):], "the store's own error stays in the log")
			}
		})
	}
}

// s3Error answers as S3 does when it refuses a request.
func s3Error(code int, s3Code string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(code)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+s3Code+`</Code><Message>`+s3Code+`</Message></Error>`)
	}
}

// TestHandlerBoundsWhatADecodeReturns: a reference is about 150 bytes and
// may name a blob of megabytes, as often as a request repeats it; a
// request of 4 MiB could make the server hold gigabytes. An answer over
// MaxAnswerBytes is refused (413) before it is built, and the endpoint
// answers the next request.
func TestHandlerBoundsWhatADecodeReturns(t *testing.T) {
	c, _ := newCodec(t)
	url, _ := codecServer(t, c)
	big := jsonPayload(strings.Repeat("z", 2<<20))
	ref := post(t, url+"/encode", payloadsJSON(t, big), nil).payloads(t)[0]
	refs := make([]*commonpb.Payload, MaxAnswerBytes/(2<<20)+1)
	for i := range refs {
		refs[i] = ref
	}
	got := post(t, url+"/decode", payloadsJSON(t, refs...), nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, got.code)
	require.Contains(t, got.error(t), "decoded payloads over 64 MiB")

	got = post(t, url+"/decode", payloadsJSON(t, refs[:len(refs)/2]...), nil)
	require.Len(t, got.payloads(t), len(refs)/2)
}
