package claimcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"google.golang.org/protobuf/proto"
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

// TestDecodeRefusesBadReferences: each check of a reference is the one
// that refuses some input. The blobs below are valid serialized Payloads,
// so that no input fails only because it does not parse: a reference to a
// blob outside the payload keys' shape is refused before anything is
// read (a dead letter is not returned as the event, nor said to exist),
// and a payload blob whose content is not what its key says is refused
// after reading.
func TestDecodeRefusesBadReferences(t *testing.T) {
	c, b := newCodec(t)
	ctx := context.Background()
	big := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: bytes.Repeat([]byte("x"), 2*threshold)}
	enc, err := c.Encode([]*commonpb.Payload{big})
	require.NoError(t, err)

	// other is a valid Payload, stored where the tests below say.
	other, err := proto.Marshal(&commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"zqxj"`)})
	require.NoError(t, err)
	otherHex := strings.TrimPrefix(blobKey(other), KeyPrefix)
	put := func(key string, content []byte) string {
		require.NoError(t, b.WriteAll(ctx, key, content, nil))
		return key
	}
	reference := func(key string) *commonpb.Payload {
		data, _ := json.Marshal(Reference{Key: key})
		return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(Encoding)}, Data: data}
	}
	for _, tc := range []struct {
		name string
		ref  *commonpb.Payload
		want error
	}{
		{"not JSON", &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(Encoding)}, Data: []byte("nope")}, ErrBadReference},
		{"a dead letter", reference(put("deadletters/msg_1.json", other)), ErrBadReference},
		{"escaping the prefix", reference(KeyPrefix + "../" + put("deadletters/msg_2.json", other)), ErrBadReference},
		// The right hash, in another folder: only the key's shape refuses it.
		{"hash key outside the prefix", reference(put("deadletters/"+otherHex, other)), ErrBadReference},
		{"upper-case hex", reference(put(KeyPrefix+strings.ToUpper(otherHex), other)), ErrBadReference},
		{"key with a suffix", reference(put(KeyPrefix+otherHex+".json", other)), ErrBadReference},
		// A Payload, but not the one its key names: only the hash refuses it.
		{"content of another key", reference(put(KeyPrefix+strings.Repeat("0", 64), other)), ErrBlobCorrupt},
		{"not a Payload", reference(put(blobKey([]byte{0xff}), []byte{0xff})), ErrBlobCorrupt},
		{"missing blob", reference(KeyPrefix + strings.Repeat("1", 64)), ErrBlobMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Decode([]*commonpb.Payload{tc.ref})
			require.ErrorIs(t, err, tc.want)
			require.Equal(t, tc.ref, got[0], "nothing read is returned")
			require.NotContains(t, err.Error(), "zqxj", "no blob content in the error")
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
	require.ErrorIs(t, err, ErrStoreUnavailable)
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
