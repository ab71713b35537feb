package distributor

import (
	"errors"
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Error is a distributor error with its place in the retry contract: OTLP clients retry
// UNAVAILABLE, and RESOURCE_EXHAUSTED only when it carries RetryInfo.
type Error struct {
	Code       codes.Code
	HTTPStatus int
	Msg        string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Msg }

// GRPCStatus lets grpc-go turn the error into its status, with RetryInfo when retryable.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.Code, e.Msg)
	if e.RetryAfter > 0 {
		if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)}); err == nil {
			return withInfo
		}
	}
	return st
}

func newInvalidError(msg string) error {
	return &Error{Code: codes.InvalidArgument, HTTPStatus: http.StatusBadRequest, Msg: msg}
}

func newTooLargeError(msg string) error {
	return &Error{Code: codes.InvalidArgument, HTTPStatus: http.StatusRequestEntityTooLarge, Msg: msg}
}

func newTenantError(msg string, missing bool) error {
	if missing {
		return &Error{Code: codes.Unauthenticated, HTTPStatus: http.StatusUnauthorized, Msg: msg}
	}
	return &Error{Code: codes.InvalidArgument, HTTPStatus: http.StatusBadRequest, Msg: msg}
}

func newRateLimitedError(msg string) error {
	return &Error{Code: codes.ResourceExhausted, HTTPStatus: http.StatusTooManyRequests, Msg: msg, RetryAfter: time.Second}
}

// wrapIngesterError maps a failed quorum write: an ingester that is full asks the client
// to back off; anything else (no quorum, timeouts) is UNAVAILABLE. Both are retryable.
func wrapIngesterError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.ResourceExhausted:
		return &Error{Code: codes.ResourceExhausted, HTTPStatus: http.StatusTooManyRequests, Msg: "ingesters are at their memory or WAL limit, retry later: " + st.Message(), RetryAfter: 2 * time.Second}
	case codes.InvalidArgument:
		return &Error{Code: codes.InvalidArgument, HTTPStatus: http.StatusBadRequest, Msg: st.Message()}
	}
	return &Error{Code: codes.Unavailable, HTTPStatus: http.StatusServiceUnavailable, Msg: "could not store records on a quorum of ingesters, retry later: " + err.Error(), RetryAfter: time.Second}
}

// asError converts any error into an *Error for the edges.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: codes.Internal, HTTPStatus: http.StatusInternalServerError, Msg: "internal error: " + err.Error()}
}
