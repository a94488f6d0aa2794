package claimcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"google.golang.org/protobuf/encoding/protojson"
)

const threshold = 1 << 10

func newCodec(t *testing.T) (*Codec, *blob.Bucket) {
	t.Helper()
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { b.Close() })
	return New(b, threshold), b
}

func keys(t *testing.T, b *blob.Bucket) []string {
	t.Helper()
	var out []string
	it := b.List(nil)
	for {
		obj, err := it.Next(context.Background())
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		out = append(out, obj.Key)
	}
}

type event struct {
	ID   string `json:"id"`
	HTML string `json:"html"`
}

func TestSmallPayloadStaysInline(t *testing.T) {
	c, b := newCodec(t)
	dc := DataConverter(c)
	p, err := dc.ToPayload(event{ID: "msg_1", HTML: "<p>small</p>"})
	require.NoError(t, err)
	require.Equal(t, "json/plain", string(p.Metadata[converter.MetadataEncoding]), "readable in the UI as without a codec")
	require.JSONEq(t, `{"id":"msg_1","html":"<p>small</p>"}`, string(p.Data))
	require.Empty(t, keys(t, b))
}

func TestLargePayloadIsStoredAndRestored(t *testing.T) {
	c, b := newCodec(t)
	dc := DataConverter(c)
	// JSON writes each < > & as a 6-byte escape: the payload is larger
	// than the value.
	in := event{ID: "msg_2", HTML: strings.Repeat("<p>&nbsp;</p>", 1000)}
	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	require.Equal(t, Encoding, string(p.Metadata[converter.MetadataEncoding]))
	require.Less(t, len(p.Data), 200, "the history holds a reference")
	var ref Reference
	require.NoError(t, json.Unmarshal(p.Data, &ref))
	require.Regexp(t, `^payloads/sha256/[0-9a-f]{64}$`, ref.Key)
	require.Greater(t, ref.Size, 30000)
	require.Equal(t, []string{ref.Key}, keys(t, b))

	var out event
	require.NoError(t, dc.FromPayload(p, &out))
	require.Equal(t, in, out)

	// Content-addressed: the same payload again is the same blob.
	again, err := dc.ToPayload(in)
	require.NoError(t, err)
	require.Equal(t, p.Data, again.Data)
	require.Len(t, keys(t, b), 1)
}

func TestDecodeRefusesBadReferences(t *testing.T) {
	c, b := newCodec(t)
	ctx := context.Background()
	big := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: bytes.Repeat([]byte("x"), 2*threshold)}
	enc, err := c.Encode([]*commonpb.Payload{big})
	require.NoError(t, err)
	var ref Reference
	require.NoError(t, json.Unmarshal(enc[0].Data, &ref))

	reference := func(key string) *commonpb.Payload {
		data, _ := json.Marshal(Reference{Key: key})
		return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(Encoding)}, Data: data}
	}
	require.NoError(t, b.WriteAll(ctx, "deadletters/msg_1.json", []byte("{}"), nil))
	tampered := KeyPrefix + strings.Repeat("0", 64)
	require.NoError(t, b.WriteAll(ctx, tampered, []byte("not what the key says"), nil))

	for name, p := range map[string]*commonpb.Payload{
		"another blob":     reference("deadletters/msg_1.json"),
		"escaping":         reference(KeyPrefix + "../deadletters/msg_1.json"),
		"content mismatch": reference(tampered),
		"missing blob":     reference(KeyPrefix + strings.Repeat("1", 64)),
		"not JSON":         {Metadata: map[string][]byte{"encoding": []byte(Encoding)}, Data: []byte("nope")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Decode([]*commonpb.Payload{p})
			require.Error(t, err)
		})
	}

	got, err := c.Decode([]*commonpb.Payload{enc[0]})
	require.NoError(t, err)
	require.Equal(t, big.Data, got[0].Data)
}

// TestEncodeFailsWhenTheStoreFails: a store that cannot be written fails
// the encoding (the start, the task), never writes the payload inline.
func TestEncodeFailsWhenTheStoreFails(t *testing.T) {
	c, b := newCodec(t)
	require.NoError(t, b.Close())
	big := &commonpb.Payload{Data: bytes.Repeat([]byte("x"), 2*threshold)}
	_, err := c.Encode([]*commonpb.Payload{big})
	require.ErrorContains(t, err, "claim check")
}

func TestContextBoundsTheStore(t *testing.T) {
	c, _ := newCodec(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := &commonpb.Payload{Data: bytes.Repeat([]byte("x"), 2*threshold)}
	_, err := c.WithContext(ctx).Encode([]*commonpb.Payload{big})
	require.ErrorIs(t, err, context.Canceled)

	// Through the data converter, as a client start binds it.
	dc := DataConverter(c).(converter.ContextAware).WithContext(ctx)
	_, err = dc.ToPayload(strings.Repeat("x", 2*threshold))
	require.ErrorIs(t, err, context.Canceled)
}

func TestHandler(t *testing.T) {
	c, _ := newCodec(t)
	big := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"` + strings.Repeat("y", 2*threshold) + `"`)}
	enc, err := c.Encode([]*commonpb.Payload{big})
	require.NoError(t, err)
	srv := httptest.NewServer(Handler(c, []string{"http://localhost:8233"}))
	defer srv.Close()

	post := func(path string, p *commonpb.Payload) *http.Response {
		body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		req.Header.Set("Origin", "http://localhost:8233")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}

	resp := post("/decode", enc[0])
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "http://localhost:8233", resp.Header.Get("Access-Control-Allow-Origin"))
	raw, _ := io.ReadAll(resp.Body)
	var got commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(raw, &got))
	require.Len(t, got.Payloads, 1)
	require.Equal(t, big.Data, got.Payloads[0].Data)

	// Any prefix, as the protocol allows (/{namespace}/decode).
	resp2 := post("/default/decode", enc[0])
	resp2.Body.Close()
	require.Equal(t, 200, resp2.StatusCode)

	// Decoding only: nobody writes into the store through it.
	resp3 := post("/encode", big)
	resp3.Body.Close()
	require.Equal(t, 404, resp3.StatusCode)

	// The UI's preflight.
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	req.Header.Set("Origin", "http://localhost:8233")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
	pre, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	pre.Body.Close()
	require.Equal(t, "http://localhost:8233", pre.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", pre.Header.Get("Access-Control-Allow-Credentials"))

	// Another site's page gets no CORS grant.
	req, _ = http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	other, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	other.Body.Close()
	require.Empty(t, other.Header.Get("Access-Control-Allow-Origin"))
}
