package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna/internal/testdb"
)

// TestMalformedRequestSweep reads the OpenAPI document the server serves
// and, for every operation, sends requests a careless or hostile client
// would: wrong JSON types for every documented property, missing required
// fields, huge strings, numbers and nesting, invalid UTF-8, path
// parameters with traversal strings, and odd query values — as an admin and
// as nobody. No answer may be a 5xx, and every error must carry the stable
// shape {"error":{"code","message"}}.
//
// The sweep is driven by the document, so a new route is swept as soon as
// it is documented (and TestOpenAPIDocumentsEveryRoute makes sure it is).
func TestMalformedRequestSweep(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			sw := newSweep(t, newGroupWorld(t, eng.Open))
			for _, op := range sw.operations() {
				for _, actor := range []string{"admin", ""} {
					for _, rq := range sw.requests(op, actor) {
						sw.send(actor, op, rq)
					}
				}
			}
			// The admin session survives the sweep: malformed input
			// changed nothing it should not have.
			sw.w.must("admin", "GET", "/api/v1/me", "", 200)
			t.Logf("malformed sweep: %d requests over %d operations, %d answered 5xx, %d re-sign-ins; statuses %v", sw.sent, len(sw.operations()), sw.fives, sw.resignIns, sw.byCode)
		})
	}
}

// sweep holds the document and the fixture IDs of one run.
type sweep struct {
	t         *testing.T
	w         *world
	doc       openAPIDoc
	valid     map[string]string // path prefix "/api/v1/rooms/{id}" → a real value
	sent      int
	fives     int
	byCode    map[int]int
	victim    string
	resignIns int
}

type openAPIDoc struct {
	Paths      map[string]map[string]openAPIOp `json:"paths"`
	Components struct {
		Schemas map[string]openAPISchema `json:"schemas"`
	} `json:"components"`
}

type openAPIOp struct {
	Parameters []struct {
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema openAPISchema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Security []map[string]any `json:"security"`
}

type openAPISchema struct {
	Ref        string                   `json:"$ref"`
	Type       string                   `json:"type"`
	Properties map[string]openAPISchema `json:"properties"`
	Required   []string                 `json:"required"`
	Items      *openAPISchema           `json:"items"`
}

// sweepOp is one documented operation.
type sweepOp struct {
	method, path string
	pathParams   []string
	query        []string
	bodyType     string         // content type of the body, "" for none
	schema       *openAPISchema // resolved JSON body schema
}

// sweepRequest is one malformed request.
type sweepRequest struct {
	what  string
	path  string // with parameters filled and query attached
	body  []byte
	ctype string
}

func newSweep(t *testing.T, g *groupWorld) *sweep {
	w := g.world
	status, body := w.do("", "GET", "/api/openapi.json", "")
	if status != 200 {
		t.Fatalf("GET /api/openapi.json: %d", status)
	}
	sw := &sweep{t: t, w: w, byCode: map[int]int{}}
	if err := json.Unmarshal([]byte(body), &sw.doc); err != nil {
		t.Fatalf("decoding the OpenAPI document: %v", err)
	}
	// A member the sweep may trample on (reissue, restrict, rename).
	var added struct {
		Member struct{ ID string } `json:"member"`
	}
	w.decode(w.must("owner", "POST", "/api/v1/members", `{"local":"victim","domain":"acme.example"}`, 201), &added)
	sw.victim = added.Member.ID
	var d struct{ ID string }
	w.decode(w.must("owner", "POST", "/api/v1/domains", `{"name":"sweep.acme.example"}`, 201), &d)
	room := w.room("admin", "Sweep", "victim@acme.example")
	w.send("admin", room.ID, "sweep-1", "hello")
	sw.valid = map[string]string{
		"/api/v1/rooms/{id}":                       room.ID,
		"/api/v1/rooms/{id}/members/{account_id}":  sw.victim,
		"/api/v1/rooms/{id}/messages/{seq}":        "1",
		"/api/v1/groups/{id}":                      g.eng,
		"/api/v1/groups/{id}/members/{account_id}": sw.victim,
		"/api/v1/boards/{id}":                      g.allHands,
		"/api/v1/boards/{id}/posts/{post_id}":      g.post,
		"/api/v1/domains/{id}":                     d.ID,
		"/api/v1/members/{id}":                     sw.victim,
		"/api/v1/client/accounts/{account_id}":     sw.victim,
		"/api/v1/invites/{code}":                   "kzi_nothing",
		"/api/v1/domain-transfers/{id}":            "01HZZZZZZZZZZZZZZZZZZZZZZZ",
		"/api/v1/handovers/{id}":                   "01HZZZZZZZZZZZZZZZZZZZZZZZ",
		"/api/v1/contacts/{id}":                    "01HZZZZZZZZZZZZZZZZZZZZZZZ",
		"/api/v1/contact-approvals/{id}":           "01HZZZZZZZZZZZZZZZZZZZZZZZ",
		"/api/v1/member-imports/{id}":              "01HZZZZZZZZZZZZZZZZZZZZZZZ",
		"/api/v1/mail/{id}":                        "01HZZZZZZZZZZZZZZZZZZZZZZZ",
		"/api/v1/invite-links/{id}":                "01HZZZZZZZZZZZZZZZZZZZZZZZ",
	}
	return sw
}

// operations lists the document's operations in a stable order.
func (sw *sweep) operations() []sweepOp {
	var ops []sweepOp
	for path, item := range sw.doc.Paths {
		for method, o := range item {
			op := sweepOp{method: strings.ToUpper(method), path: path}
			for _, p := range o.Parameters {
				switch p.In {
				case "path":
					op.pathParams = append(op.pathParams, p.Name)
				case "query":
					op.query = append(op.query, p.Name)
				}
			}
			if o.RequestBody != nil {
				for ct, c := range o.RequestBody.Content {
					op.bodyType = ct
					if ct == "application/json" {
						s := sw.resolve(c.Schema)
						op.schema = &s
					}
				}
			}
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		return ops[i].path+" "+ops[i].method < ops[j].path+" "+ops[j].method
	})
	return ops
}

func (sw *sweep) resolve(s openAPISchema) openAPISchema {
	for s.Ref != "" {
		s = sw.doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

// validPath fills the path parameters with real values where the fixture
// has them, so body and query mutations reach the handler's own checks.
func (sw *sweep) validPath(op sweepOp) string {
	path := op.path
	for _, name := range op.pathParams {
		ph := "{" + name + "}"
		key := op.path[:strings.Index(op.path, ph)+len(ph)]
		v, ok := sw.valid[key]
		if !ok {
			sw.t.Fatalf("%s %s: no fixture value for %s (add one to sweep.valid)", op.method, op.path, key)
		}
		path = strings.Replace(path, ph, v, 1)
	}
	return path
}

// defaultOf is a well-typed placeholder for a property.
func (sw *sweep) defaultOf(s openAPISchema) any {
	s = sw.resolve(s)
	switch s.Type {
	case "string":
		return "x"
	case "integer", "number":
		return 1
	case "boolean":
		return false
	case "array":
		return []any{}
	}
	return map[string]any{}
}

// wrongValues are values of every JSON type, and some nasty ones.
var wrongValues = []string{`1`, `-1`, `1.5`, `"s"`, `true`, `null`, `[]`, `{}`, `[1,"a",null]`, `{"a":{"b":1}}`, `1e400`, `-99999999999999999999999`, `"\u0000"`, `"\ud800"`}

var (
	// Path parameter values that must be refused cleanly.
	badPathValues = []string{"..%2F..%2Fetc%2Fpasswd", "..", "%2e%2e", "%00", "a%00b", "%ff%fe", "%20", strings.Repeat("A", 8000), "-1", "0", "99999999999999999999999", "%E4%BD%A0%E5%A5%BD", "'%20OR%201=1--", "%7B%7D", "01HZZZZZZZZZZZZZZZZZZZZZZZ"}
	// Odd query values, sent for every documented query parameter.
	badQueryValues = []string{"", "-1", "0", "1e3", "99999999999999999999999", "%00", "%ff", "abc", "..%2F..%2Fetc%2Fpasswd", url.QueryEscape(strings.Repeat("z", 8000)), "true", "%7B%22a%22%3A1%7D"}
)

// requests builds the malformed requests for an operation. Destructive
// operations get only requests that must be refused before they act:
// body mutations and bad path parameters, never a valid bare request.
func (sw *sweep) requests(op sweepOp, actor string) []sweepRequest {
	var out []sweepRequest
	valid := sw.validPath(op)
	// Bad path parameters, one parameter at a time.
	for _, name := range op.pathParams {
		for _, bad := range badPathValues {
			p := op.path
			for _, other := range op.pathParams {
				v := bad
				if other != name {
					v = "01HZZZZZZZZZZZZZZZZZZZZZZZ"
				}
				p = strings.Replace(p, "{"+other+"}", v, 1)
			}
			out = append(out, sweepRequest{what: "path " + name + "=" + short(bad), path: p, body: jsonBodyOrNil(op), ctype: op.bodyType})
		}
	}
	// Odd query values: only on reads with real path parameters; on
	// writes the odd query comes with a broken body.
	if op.method == "GET" {
		for _, q := range op.query {
			for _, v := range badQueryValues {
				out = append(out, sweepRequest{what: "query " + q + "=" + short(v), path: valid + "?" + q + "=" + v})
			}
			out = append(out, sweepRequest{what: "query " + q + " twice", path: valid + "?" + q + "=1&" + q + "=-1"})
		}
		out = append(out, sweepRequest{what: "unknown query", path: valid + "?%zz=1&limit=%00"})
	}
	switch {
	case op.schema != nil:
		out = append(out, sw.jsonMutations(op, valid)...)
	case op.bodyType != "":
		// A raw body (CSV): invalid UTF-8, binary, a huge line, oversize.
		for _, b := range []struct{ what, body string }{
			{"invalid utf-8", "local,domain\n\xff\xfe,acme.example\n"},
			{"binary", "\x00\x01\x02\x03PK\x03\x04"},
			{"huge line", "local,domain\n" + strings.Repeat("a", 900<<10) + ",acme.example\n"},
			{"oversize", strings.Repeat("a,b\n", 3<<20)},
			{"empty", ""},
		} {
			q := "?dry_run=true"
			out = append(out, sweepRequest{what: "raw " + b.what, path: valid + q, body: []byte(b.body), ctype: op.bodyType})
			out = append(out, sweepRequest{what: "raw " + b.what + " odd query", path: valid + "?dry_run=%ff", body: []byte(b.body), ctype: op.bodyType})
		}
	}
	return out
}

func jsonBodyOrNil(op sweepOp) []byte {
	if op.schema != nil {
		return []byte(`{}`)
	}
	return nil
}

// jsonMutations breaks a JSON body in every way the sweep knows.
func (sw *sweep) jsonMutations(op sweepOp, path string) []sweepRequest {
	s := *op.schema
	base := map[string]json.RawMessage{}
	var names []string
	for name, ps := range s.Properties {
		b, _ := json.Marshal(sw.defaultOf(ps))
		base[name] = b
		names = append(names, name)
	}
	sort.Strings(names)
	with := func(name, raw string) []byte {
		m := map[string]json.RawMessage{}
		for k, v := range base {
			if k != name {
				m[k] = v
			}
		}
		if raw != "" {
			m[name] = json.RawMessage(raw)
		}
		b, err := json.Marshal(m)
		if err != nil {
			// 1e400 and friends are not valid for RawMessage's check; splice.
			delete(m, name)
			b, _ = json.Marshal(m)
			if len(m) == 0 {
				return []byte(`{"` + name + `":` + raw + `}`)
			}
			return append([]byte(`{"`+name+`":`+raw+`,`), b[1:]...)
		}
		return b
	}
	add := func(out []sweepRequest, what string, body []byte) []sweepRequest {
		// An odd query rides along on some, so writes see one too.
		q := ""
		if len(op.query) > 0 && len(out)%3 == 0 {
			q = "?" + op.query[0] + "=%ff%00"
		}
		return append(out, sweepRequest{what: what, path: path + q, body: body, ctype: "application/json"})
	}
	var out []sweepRequest
	for _, name := range names {
		ps := sw.resolve(s.Properties[name])
		for _, v := range wrongValues {
			if (v == `"s"` && ps.Type == "string") || (v == `true` && ps.Type == "boolean") || ((v == `1` || v == `-1`) && (ps.Type == "integer" || ps.Type == "number")) || (v == `[]` && ps.Type == "array") {
				continue // a right type, which could act
			}
			out = add(out, "field "+name+"="+short(v), with(name, v))
		}
		if ps.Type == "string" {
			// Just under the body limit, and over it.
			out = add(out, "field "+name+" 1 MB", with(name, `"`+strings.Repeat("\u00e9", (1<<20-4096)/2)+`"`))
			out = add(out, "field "+name+" invalid utf-8", with(name, "\"\xff\xfe\""))
		}
		if ps.Type == "array" {
			out = add(out, "field "+name+" 100k items", with(name, "["+strings.Repeat(`"x",`, 100000)+`"x"]`))
		}
		out = add(out, "field "+name+" deep nesting", with(name, strings.Repeat("[", 20000)+strings.Repeat("]", 20000)))
		out = add(out, "field "+name+" deep objects", with(name, strings.Repeat(`{"a":`, 5000)+"1"+strings.Repeat("}", 5000)))
	}
	for _, name := range s.Required {
		out = add(out, "missing "+name, with(name, ""))
	}
	for _, b := range []struct{ what, body string }{
		{"empty object", `{}`},
		{"empty body", ``},
		{"array body", `[]`},
		{"string body", `"x"`},
		{"null body", `null`},
		{"number body", `1e999`},
		{"truncated", `{"a":`},
		{"invalid utf-8 body", "\xff\xfe\xfd"},
		{"utf-16 body", "\xff\xfe{\x00}\x00"},
		{"nul bytes", "{\x00}"},
		{"duplicate keys", `{"a":1,"a":2}`},
		{"two values", `{} {}`},
		{"deep body", strings.Repeat("[", 100000) + strings.Repeat("]", 100000)},
		{"oversize body", `{"x":"` + strings.Repeat("y", 1<<20) + `"}`},
	} {
		out = add(out, b.what, []byte(b.body))
	}
	return out
}

func short(s string) string {
	if len(s) > 30 {
		return s[:30] + "…"
	}
	return s
}

// send issues one request and checks the answer.
func (sw *sweep) send(actor string, op sweepOp, rq sweepRequest) {
	t := sw.t
	t.Helper()
	var body io.Reader
	if rq.body != nil {
		body = strings.NewReader(string(rq.body))
	}
	req, err := http.NewRequest(op.method, sw.w.srv.URL+rq.path, body)
	if err != nil {
		// A path the client refuses to send (it is not a valid URL)
		// never reaches a server either.
		return
	}
	if rq.ctype != "" {
		req.Header.Set("Content-Type", rq.ctype)
	}
	if actor != "" {
		req.Header.Set("Authorization", "Bearer "+sw.w.tokens[actor])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s as %q (%s): %v", op.method, op.path, actor, rq.what, err)
		return
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	sw.sent++
	sw.byCode[res.StatusCode]++
	where := fmt.Sprintf("%s %s as %q (%s)", op.method, op.path, actor, rq.what)
	if res.StatusCode >= 500 {
		sw.fives++
		t.Errorf("%s: %d: %.300s", where, res.StatusCode, b)
	}
	if res.StatusCode >= 400 {
		var e struct {
			Error *struct {
				Code    *string `json:"code"`
				Message *string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || e.Error.Code == nil || *e.Error.Code == "" || e.Error.Message == nil || *e.Error.Message == "" {
			t.Errorf("%s: %d without the error shape {\"error\":{\"code\",\"message\"}}: %.300s", where, res.StatusCode, b)
		} else if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: error answered as %q", where, res.Header.Get("Content-Type"))
		}
	}
	// Should a request have ended the admin's session after all, sign in
	// again so the rest of the sweep still tests an authorized caller.
	// (A 401 for a wrong password in the body is not that.)
	if actor == "admin" && res.StatusCode == 401 {
		if status, _ := sw.w.do("admin", "GET", "/api/v1/me", ""); status == 401 {
			t.Logf("%s ended the admin's session", where)
			sw.resignIns++
			sw.w.signIn("admin", "adm@acme.example", "a fine new passphrase")
		}
	}
}
