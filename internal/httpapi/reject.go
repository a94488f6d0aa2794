package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/deadletter"
	"github.com/mediaflow/mediaflow/internal/telemetry"
)

// DeadLetters keeps refused events; deadletter.Store is one. Put must
// return only once the letter is stored.
type DeadLetters interface {
	Put(ctx context.Context, l deadletter.Letter) error
}

// Rejection returns Temporal's reason when err is a refusal of the start
// that the same start, retried, would get again: the request is invalid
// (InvalidArgument: a search attribute not registered, a payload over the
// limit…), the namespace is not in a state to take it
// (FailedPrecondition) or does not exist (NamespaceNotFound). Anything
// else, "": Temporal down or slow, a rate limit (ResourceExhausted), the
// blob store down, all of which pass.
func Rejection(err error) string {
	var (
		invalid      *serviceerror.InvalidArgument
		precondition *serviceerror.FailedPrecondition
		namespace    *serviceerror.NamespaceNotFound
	)
	switch {
	case errors.As(err, &invalid):
		return invalid.Error()
	case errors.As(err, &precondition):
		return precondition.Error()
	case errors.As(err, &namespace):
		return namespace.Error()
	}
	return ""
}

// reject answers an event that Temporal refused (Rejection(startErr) is
// not ""): kept as a dead letter, 422 with the reason, which Svix shows
// in its portal and retries like any failure; a later delivery, once the
// cause is fixed, starts the workflow. When the letter cannot be kept, 503:
// the event then still lives only in Svix, which must deliver it again.
func (s *Server) reject(r *http.Request, body []byte, in mediaflow.MediaCompletedInput, rep reply, startErr error) reply {
	reason := Rejection(startErr)
	// Its own time: the start may have used up the request's.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.opts.StartTimeout)
	defer cancel()
	err := s.opts.DeadLetters.Put(ctx, deadletter.Letter{
		EventID:    in.EventID,
		ReceivedAt: in.ReceivedAt,
		RejectedAt: s.opts.Now().UTC(),
		Reason:     reason,
		Headers:    deadletter.Headers(r.Header),
		Body:       body,
	})
	if err != nil {
		rep = rep.fail(telemetry.OutcomeUnavailable, http.StatusServiceUnavailable,
			errors.New("workflow not started: temporal refused it and the event could not be kept, retry later"))
		rep.err = fmt.Errorf("temporal refused the start (%s) and keeping the dead letter failed: %w", reason, err)
		return rep
	}
	rep.outcome, rep.code, rep.err = telemetry.OutcomeRejected, http.StatusUnprocessableEntity, startErr
	rep.body = gin.H{
		"status":      telemetry.OutcomeRejected,
		"event_id":    in.EventID,
		"error":       "workflow not started: temporal refused it: " + reason,
		"reason":      reason,
		"dead_letter": deadletter.Key(in.EventID),
	}
	return rep
}
