package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/kizuna-chat/kizuna"
)

// decodeTargets are request types of different shapes: strings only,
// nested slices of structs, integers and booleans, pointers.
var decodeTargets = []func() any{
	func() any { return &loginRequest{} },
	func() any { return &addMemberRequest{} },
	func() any { return &boardRequest{} },
	func() any { return &sendRequest{} },
	func() any { return &createRoomRequest{} },
	func() any { return &settingsRequest{} },
}

// decodeCodes are the codes decode may answer with; anything else would
// change what clients see for bad input.
var decodeCodes = map[string]bool{"invalid_json": true, "unknown_field": true, "invalid_type": true, "body_too_large": true}

// FuzzDecodeJSON feeds arbitrary bodies to the request decoder. It never
// panics; it either refuses with one of the stable codes, or yields a
// value — and then the body was valid UTF-8 and one valid JSON value, and
// the value survives a round trip through JSON unchanged.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"id":"taro@example.com","password":"pw"}`,
		`{"local":"a","domain":"acme.example","role":"admin","send_invitation":true}`,
		`{"name":"B","rules":[{"right":"read","kind":"tenant"},{"right":"write","kind":"group","id":"x"}]}`,
		`{"client_msg_id":"c1","body":"hi","reply_to":3,"mentions":["a","b"]}`,
		`{"name":"r","members":[]}`,
		`{"initial_password_ttl_hours":72}`,
		`{"reply_to":1e400}`, `{"reply_to":-9223372036854775809}`, `{"body":"\ud800"}`,
		`{"name":1}`, `{"x":1}`, `{} {}`, `{}x`, ``, ` `, `null`, `[]`, `"s"`,
		"{\"name\":\"\xff\"}", "\xef\xbb\xbf{}", `{"name":"a","name":"b"}`,
		`{"rules":[[[[[[[[[[]]]]]]]]]]}`, `{"members":[null,1,"a"]}`, `{"Name":"case"}`,
	} {
		for i := range decodeTargets {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		target := decodeTargets[int(which)%len(decodeTargets)]
		v := target()
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		err := decode(httptest.NewRecorder(), r, v)
		if err != nil {
			e := kizuna.AsError(err)
			if !decodeCodes[e.Code] || e.Message == "" || (e.Kind != kizuna.ErrInvalid && e.Kind != kizuna.ErrTooLarge) {
				t.Fatalf("decode(%q): %v (code %q), not one of the stable codes", body, err, e.Code)
			}
			if len(body) <= MaxBodyBytes && e.Code == "body_too_large" {
				t.Fatalf("decode(%q): body_too_large for %d bytes", body, len(body))
			}
			return
		}
		if !utf8.Valid(body) || !json.Valid(bytes.TrimSpace(body)) {
			t.Fatalf("decode(%q) accepted a body that is not one valid UTF-8 JSON value", body)
		}
		again := target()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("re-encoding %#v: %v", v, err)
		}
		if err := decode(httptest.NewRecorder(), httptest.NewRequest("POST", "/", bytes.NewReader(b)), again); err != nil {
			t.Fatalf("decode(%q) = %#v, but its encoding %s does not decode: %v", body, v, b, err)
		}
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("decode(%q) = %#v; round trip gives %#v", body, v, again)
		}
	})
}
