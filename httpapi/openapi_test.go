package httpapi

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIDocumentsEveryRoute fails when a route has no documentation,
// or documentation names a route that does not exist, and validates the
// whole document against the OpenAPI 3 specification.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	s := New(nil, slog.New(slog.DiscardHandler), "")
	routes := map[string]Route{}
	var missing []string
	for _, rt := range s.Routes() {
		key := rt.Method + " " + rt.Path
		routes[key] = rt
		if _, ok := operations[key]; !ok {
			missing = append(missing, key)
		}
	}
	var stale []string
	for key := range operations {
		if _, ok := routes[key]; !ok {
			stale = append(stale, key)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes missing from the OpenAPI document (add them to operations in openapi.go):\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("documented operations without a route:\n  %s", strings.Join(stale, "\n  "))
	}

	doc, err := openapi3.NewLoader().LoadFromData(s.openAPIDoc)
	if err != nil {
		t.Fatalf("loading the document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	person := doc.Components.Schemas["Person"]
	if person == nil || len(person.Value.Properties["relation"].Value.Enum) != 3 || len(person.Value.Properties["role"].Value.Enum) != 3 {
		t.Error("Person does not list the relations and roles as enums")
	}
	if mail := doc.Components.Schemas["OutgoingMail"]; mail == nil || len(mail.Value.Properties["kind"].Value.Enum) != 0 {
		t.Error("OutgoingMail.kind must stay an open string")
	}
	for key, rt := range routes {
		method, _, _ := strings.Cut(key, " ")
		item := doc.Paths.Find(rt.Path)
		if item == nil {
			t.Errorf("%s: path not in the document", key)
			continue
		}
		op := item.GetOperation(method)
		if op == nil {
			t.Errorf("%s: operation not in the document", key)
			continue
		}
		if op.Security == nil || (rt.Auth == Public) != (len(*op.Security) == 0) {
			t.Errorf("%s: security does not match the route's access (public=%v)", key, rt.Auth == Public)
		}
		if rt.Auth != Public && op.Responses.Value("401") == nil {
			t.Errorf("%s: no 401 response documented", key)
		}
		has2xx := false
		for code := range op.Responses.Map() {
			// 101 is the WebSocket upgrade's success.
			has2xx = has2xx || strings.HasPrefix(code, "2") || code == "101"
		}
		if !has2xx {
			t.Errorf("%s: no success response documented", key)
		}
	}
}
