package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/searchattr"
)

// searchAttrs checks that the namespace has every search attribute
// mediaflow writes. A check that Temporal does not let the credentials
// make is logged once, at WARN, and passes.
type searchAttrs struct {
	client    client.Client
	namespace string
	logger    *slog.Logger
	warn      sync.Once
}

// check returns nil when the namespace has them all (or they cannot be
// listed), a *searchattr.LackError naming what it lacks, or another error
// of the call.
func (s *searchAttrs) check(ctx context.Context) error {
	err := searchattr.Check(ctx, s.client.OperatorService(), s.namespace, mediaflow.SearchAttributes())
	if errors.Is(err, searchattr.ErrUnchecked) {
		s.warn.Do(func() {
			s.logger.Warn("search attributes not checked: these credentials may not list them; "+
				"a missing one shows as failed starts (422) and failed workflow tasks", "namespace", s.namespace, "error", err)
		})
		return nil
	}
	return err
}

// ready is the server's readiness: Temporal answers and the namespace
// has every search attribute. Its error is GET /readyz's "error": the
// LackError's line, or a plain reason that names no address.
func (s *searchAttrs) ready(ctx context.Context) error {
	if _, err := s.client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return errors.New("temporal does not answer")
	}
	err := s.check(ctx)
	var lack *searchattr.LackError
	switch {
	case err == nil, errors.As(err, &lack):
		return err
	}
	// The code only: the error may name addresses.
	code := "unknown error"
	var se serviceerror.ServiceError
	if errors.As(err, &se) {
		code = se.Status().Code().String()
	}
	return fmt.Errorf("the search attributes of namespace %q cannot be listed (%s)", s.namespace, code)
}

// logAtStart logs, once Temporal answers, what the namespace lacks: the
// server keeps answering webhooks meanwhile (a start that needs a missing
// attribute is refused, 422, and kept as a dead letter).
func (s *searchAttrs) logAtStart(ctx context.Context) {
	var lack *searchattr.LackError
	if err := s.check(ctx); errors.As(err, &lack) {
		s.logger.Error("namespace not ready: "+lack.Error(), "namespace", s.namespace)
	}
}
