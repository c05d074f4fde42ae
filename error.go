package kizuna

import (
	"errors"
	"fmt"
)

// Error kinds. Every application error unwraps to exactly one of these, so
// callers decide with errors.Is and the HTTP layer maps a kind to a status.
var (
	ErrInvalid      = errors.New("invalid")      // 400 or 422: the input breaks a rule
	ErrNotFound     = errors.New("not_found")    // 404: missing, or belongs to another tenant
	ErrConflict     = errors.New("conflict")     // 409: clashes with stored state
	ErrUnauthorized = errors.New("unauthorized") // 401: no valid session or wrong credentials
	ErrForbidden    = errors.New("forbidden")    // 403: signed in, but not allowed
	ErrRateLimited  = errors.New("rate_limited") // 429: too many attempts
	ErrTooLarge     = errors.New("too_large")    // 413: a body or value over its limit
	ErrUnavailable  = errors.New("unavailable")  // 503: a dependency is down
	ErrInternal     = errors.New("internal")     // 500: a bug or an unexpected failure
)

// Error is an application error: a kind (one of the Err* sentinels), a
// stable machine code clients may switch on (for example "domain_taken"),
// and a human message that is safe to show to the user.
type Error struct {
	Kind    error
	Code    string
	Message string
	// RetryAfterSeconds is set on rate-limited errors.
	RetryAfterSeconds int
	// Details is optional structured data for the client (for example the
	// accounts a client holds when it may hold no more). Never secrets.
	Details any
}

// Errorf returns an *Error of the given kind and code with a formatted
// message. The message must not contain secrets or internal details.
func Errorf(kind error, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap makes errors.Is(err, ErrConflict) and friends work.
func (e *Error) Unwrap() error { return e.Kind }

// AsError returns the *Error in err's chain, or an internal error that hides
// err's text when there is none.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: ErrInternal, Code: "internal", Message: "An internal error occurred."}
}

// ErrorCode returns the stable code of err, "internal" for a foreign error
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}

// NotFound returns the not_found error for a kind of thing. Rows of other
// tenants answer exactly like missing rows, so nothing leaks their existence.
func NotFound(what string) *Error {
	return Errorf(ErrNotFound, "not_found", "%s not found.", what)
}
