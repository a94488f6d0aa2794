// Package searchattr checks that a Temporal namespace has the search
// attributes mediaflow writes (mediaflow.SearchAttributes), with their
// types, so that a namespace an upgrade left behind is named at start
// rather than found when every start, or every watch's workflow task,
// fails.
package searchattr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
)

// ErrUnchecked is returned, wrapped, when the namespace's search
// attributes cannot be listed with these credentials: Temporal answered
// PermissionDenied or Unimplemented (a Temporal Cloud API key without
// the operator's rights, a proxy that serves the workflow service only).
var ErrUnchecked = errors.New("search attributes not checked")

// LackError names the search attributes a namespace lacks or has with
// another type. Its text is one line, with the commands that fix it.
type LackError struct {
	Namespace string
	// Missing are the attributes not registered, by name, with the type
	// they must have.
	Missing []Attribute
	// Mistyped are the attributes registered with another type (Has).
	Mistyped []Attribute
}

// Attribute is one search attribute: its name, the type mediaflow writes,
// and for a mistyped one the type the namespace has.
type Attribute struct {
	Name      string
	Want, Has enumspb.IndexedValueType
}

// Check lists namespace's search attributes through op and compares them
// with keys. It returns a *LackError when one is missing or has another
// type, an error wrapping ErrUnchecked when Temporal does not let these
// credentials list them, and any other error of the call (Temporal down,
// the namespace not found).
func Check[K temporal.SearchAttributeKey](ctx context.Context, op operatorservice.OperatorServiceClient, namespace string, keys []K) error {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	var denied *serviceerror.PermissionDenied
	var unimplemented *serviceerror.Unimplemented
	switch {
	case errors.As(err, &denied), errors.As(err, &unimplemented):
		return fmt.Errorf("%w: namespace %q: listing them is refused: %w", ErrUnchecked, namespace, err)
	case err != nil:
		return fmt.Errorf("listing the search attributes of namespace %q: %w", namespace, err)
	}
	lack := &LackError{Namespace: namespace}
	for _, k := range keys {
		a := Attribute{Name: k.GetName(), Want: k.GetValueType()}
		has, ok := resp.GetCustomAttributes()[a.Name]
		if !ok {
			has, ok = resp.GetSystemAttributes()[a.Name]
		}
		switch {
		case !ok:
			lack.Missing = append(lack.Missing, a)
		case has != a.Want:
			a.Has = has
			lack.Mistyped = append(lack.Mistyped, a)
		}
	}
	if len(lack.Missing) == 0 && len(lack.Mistyped) == 0 {
		return nil
	}
	return lack
}

// Error is one line: what the namespace lacks, and the Temporal CLI
// commands that register it, e.g.
//
//	namespace "default" lacks the search attribute AnimusWatchState (Keyword) that mediaflow writes: register it with
//	temporal operator search-attribute create --namespace default --name AnimusWatchState --type Keyword
//
// (on one line). A mistyped attribute is removed first: Temporal cannot
// change a type in place.
func (e *LackError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		names := make([]string, len(e.Missing))
		for i, a := range e.Missing {
			names[i] = fmt.Sprintf("%s (%s)", a.Name, a.Want)
		}
		them := "it"
		if len(names) > 1 {
			them = "them"
		}
		parts = append(parts, fmt.Sprintf("namespace %q lacks the search %s %s that mediaflow writes: register %s with %s",
			e.Namespace, plural("attribute", len(names)), strings.Join(names, ", "), them, e.create(e.Missing)))
	}
	for _, a := range e.Mistyped {
		parts = append(parts, fmt.Sprintf("namespace %q has the search attribute %s as %s, but mediaflow writes %s: replace it with "+
			"temporal operator search-attribute remove --namespace %s --name %s --yes && %s",
			e.Namespace, a.Name, a.Has, a.Want, e.Namespace, a.Name, e.create([]Attribute{a})))
	}
	return strings.Join(parts, "; ")
}

// create is the command that registers attrs: a --type for each --name
// (the CLI pairs them; with one --type it registers the first name only).
func (e *LackError) create(attrs []Attribute) string {
	cmd := "temporal operator search-attribute create --namespace " + e.Namespace
	for _, a := range attrs {
		cmd += fmt.Sprintf(" --name %s --type %s", a.Name, a.Want)
	}
	return cmd
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
