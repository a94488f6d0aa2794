package claimcheck

import (
	"errors"
	"fmt"
)

// The kinds of the Codec's errors, for errors.Is: the codec endpoint
// answers each with its own status (see Handler).
var (
	// ErrBadReference: a reference payload whose data is not a Reference
	// naming a key of the shape KeyPrefix<64 lowercase hex digits>.
	// Nothing is read from the store for it.
	ErrBadReference = errors.New("not a reference to a stored payload")
	// ErrBlobMissing: the referenced blob is not in the store (a lifecycle
	// rule removed it, or this process uses another store).
	ErrBlobMissing = errors.New("blob not found in the blob store")
	// ErrBlobCorrupt: the referenced blob does not hash to its key, or is
	// not a serialized Payload; nothing of it is returned.
	ErrBlobCorrupt = errors.New("blob does not hold what its key says")
	// ErrStoreUnavailable: the blob store failed or did not answer in
	// time (down, slow, unreachable, no permission); a retry may succeed.
	ErrStoreUnavailable = errors.New("blob store unavailable")
)

// Error is an error of the Codec about one blob or reference: its Kind is
// one of the Err… values above, Key the blob's key ("" when the reference
// names none). Its message adds the blob store's own error, which may name
// paths on disk (file://); Public leaves that out. Neither ever contains a
// blob's content.
type Error struct {
	Key    string
	Kind   error
	detail string
	cause  error
}

// Error implements error: Public, then the blob store's error if any.
func (e *Error) Error() string {
	if e.cause == nil {
		return e.Public()
	}
	return e.Public() + ": " + e.cause.Error()
}

// Public is the message without the blob store's error, for those who may
// not see the store's insides (the codec endpoint's callers): "claim
// check: <key>: <kind>[: <detail>]", the key quoted and cut at 100 bytes.
func (e *Error) Public() string {
	msg := "claim check: "
	if e.Key != "" {
		msg += fmt.Sprintf("%.100q: ", e.Key)
	}
	msg += e.Kind.Error()
	if e.detail != "" {
		msg += " (" + e.detail + ")"
	}
	return msg
}

// Unwrap returns the kind and the blob store's error (context.Canceled,
// context.DeadlineExceeded, …).
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}
