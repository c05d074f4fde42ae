package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/kizuna-chat/kizuna"
)

// MaxBodyBytes bounds a JSON request body.
const MaxBodyBytes = 1 << 20

// decode reads one JSON object into v, whatever the Content-Type says (a
// bearer-token API has no form-based CSRF to fear, and curl users send
// form types by default): unknown fields, trailing data,
// invalid UTF-8, wrong types and oversize bodies are refused with stable
// codes.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readAll(w, r, MaxBodyBytes)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_json", "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_json", "The request body holds more than one JSON value.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_json", "The request body has data after the JSON value.")
	}
	return nil
}

// readAll reads a request body of at most max bytes.
func readAll(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, kizuna.Errorf(kizuna.ErrTooLarge, "body_too_large", "The request body is larger than %d bytes.", max)
		}
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_json", "The request body could not be read.")
	}
	return body, nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_type", "The field %q must be of type %s.", typeErr.Field, typeErr.Type.String())
	case errors.As(err, &syntaxErr):
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_json", "The request body is not valid JSON (at byte %d).", syntaxErr.Offset)
	case errors.Is(err, io.EOF):
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_json", "The request body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_json", "The request body ends in the middle of a JSON value.")
	}
	if msg := err.Error(); len(msg) > 20 && msg[:20] == "json: unknown field " {
		return kizuna.Errorf(kizuna.ErrInvalid, "unknown_field", "The field %s is not known.", msg[20:])
	}
	return kizuna.Errorf(kizuna.ErrInvalid, "invalid_json", "The request body is not a valid JSON object for this request.")
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, kizuna.Errorf(kizuna.ErrInvalid, "invalid_query", "The query parameter %s must be a non-negative whole number.", name)
	}
	return n, nil
}
