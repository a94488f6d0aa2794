package searchattr

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc"
)

// operator answers ListSearchAttributes with attrs, or fails with err:
// the refusals a dev server cannot be made to give (e2e tests the rest
// against a real one).
type operator struct {
	operatorservice.OperatorServiceClient
	attrs map[string]enumspb.IndexedValueType
	err   error
}

func (o operator) ListSearchAttributes(context.Context, *operatorservice.ListSearchAttributesRequest, ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	if o.err != nil {
		return nil, o.err
	}
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: o.attrs}, nil
}

var keys = []temporal.SearchAttributeKey{
	temporal.NewSearchAttributeKeyKeyword("AnimusJobID"),
	temporal.NewSearchAttributeKeyKeyword("AnimusJobStatus"),
	temporal.NewSearchAttributeKeyKeyword("AnimusWatchState"),
	temporal.NewSearchAttributeKeyInt64("AnimusAttempts"),
}

func TestCheck(t *testing.T) {
	const kw, text = enumspb.INDEXED_VALUE_TYPE_KEYWORD, enumspb.INDEXED_VALUE_TYPE_TEXT
	ctx := context.Background()
	all := map[string]enumspb.IndexedValueType{"AnimusJobID": kw, "AnimusJobStatus": kw, "AnimusWatchState": kw,
		"AnimusAttempts": enumspb.INDEXED_VALUE_TYPE_INT, "Other": text}
	require.NoError(t, Check(ctx, operator{attrs: all}, "media", keys))

	err := Check(ctx, operator{attrs: map[string]enumspb.IndexedValueType{"AnimusJobStatus": text}}, "media", keys)
	var lack *LackError
	require.True(t, errors.As(err, &lack), "got %v", err)
	require.Equal(t, []string{"AnimusJobID", "AnimusWatchState", "AnimusAttempts"}, names(lack.Missing))
	require.Equal(t, []Attribute{{Name: "AnimusJobStatus", Want: kw, Has: text}}, lack.Mistyped)
	require.Equal(t, `namespace "media" lacks the search attributes AnimusJobID (Keyword), AnimusWatchState (Keyword), AnimusAttempts (Int) `+
		`that mediaflow writes: register them with `+
		`temporal operator search-attribute create --namespace media --name AnimusJobID --type Keyword --name AnimusWatchState --type Keyword `+
		`--name AnimusAttempts --type Int; `+
		`namespace "media" has the search attribute AnimusJobStatus as Text, but mediaflow writes Keyword: replace it with `+
		`temporal operator search-attribute remove --namespace media --name AnimusJobStatus --yes && `+
		`temporal operator search-attribute create --namespace media --name AnimusJobStatus --type Keyword`, err.Error())
	require.NotContains(t, err.Error(), "\n", "one line")

	for _, refused := range []error{serviceerror.NewPermissionDenied("no operator rights", ""), serviceerror.NewUnimplemented("not served")} {
		err := Check(ctx, operator{err: refused}, "media", keys)
		require.ErrorIs(t, err, ErrUnchecked)
	}
	err = Check(ctx, operator{err: serviceerror.NewUnavailable("down")}, "media", keys)
	require.NotErrorIs(t, err, ErrUnchecked, "Temporal down is not a check that cannot be made")
	require.False(t, errors.As(err, &lack))
	require.True(t, strings.HasPrefix(err.Error(), `listing the search attributes of namespace "media"`), err.Error())
}

func names(attrs []Attribute) []string {
	var out []string
	for _, a := range attrs {
		out = append(out, a.Name)
	}
	return out
}
