package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/kizuna-chat/kizuna"
)

// errorBody is the one shape of every error answer:
// {"error":{"code":"domain_taken","message":"…"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// requestShapeCodes are invalid-input codes about the request's form
// rather than its meaning: they answer 400, other invalid input 422.
var requestShapeCodes = map[string]bool{
	"invalid_json": true, "unknown_field": true, "invalid_type": true,
	"invalid_query": true,
}

// statusOf maps an application error to its HTTP status.
func statusOf(e *kizuna.Error) int {
	switch {
	case errors.Is(e, kizuna.ErrInvalid):
		if requestShapeCodes[e.Code] {
			return http.StatusBadRequest
		}
		return http.StatusUnprocessableEntity
	case errors.Is(e, kizuna.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(e, kizuna.ErrConflict):
		return http.StatusConflict
	case errors.Is(e, kizuna.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(e, kizuna.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(e, kizuna.ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(e, kizuna.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(e, kizuna.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError writes err as JSON. Internal errors are logged with their
// text and answered with a generic message: their text never reaches a
// client.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := kizuna.AsError(err)
	status := statusOf(e)
	if status == http.StatusInternalServerError {
		if r.Context().Err() != nil {
			// The client went away; nothing to answer and nothing broke.
			status = 499
		} else {
			log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	if e.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kizuna"`)
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Details: e.Details}})
}

// writeJSON writes v with a status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// WriteError answers err the way every API route does (status from the
// error's kind, body {"error":{"code","message"}}); the web package uses it
// so that its few routes speak the API's error language.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeError(w, r, log, err)
}

// WriteJSON writes v as JSON with a status, not cached.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// DecodeJSON reads a request body the way every API route does: one JSON
// value, no unknown fields, at most MaxBodyBytes.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error { return decode(w, r, v) }

// SourceAddr is the address sign-in throttles count a request against.
func SourceAddr(r *http.Request) string { return sourceAddr(r) }
