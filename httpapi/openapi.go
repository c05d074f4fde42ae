package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/service"
	"github.com/kizuna-chat/kizuna/store"
)

// operation documents one route for the OpenAPI document. The table below
// is written by hand next to the route table; a test fails when a route has
// no entry or an entry has no route.
type operation struct {
	summary     string
	description string
	request     any // a zero value of the JSON request body type, or nil
	rawBody     string
	response    any // a zero value of the JSON response type, or nil
	status      int
	produces    string // content type other than JSON
	query       []string
	errors      []string // the specific error codes the route answers
}

var (
	personT  personJSON
	sessionT sessionJSON
	tenantT  kizuna.Tenant
)

// operations documents every route by "METHOD path".
var operations = map[string]operation{
	"GET /healthz":                                {summary: "Liveness: answers while the process runs.", response: map[string]string{}, status: 200},
	"GET /readyz":                                 {summary: "Readiness: answers 503 not_ready while the database does not.", response: map[string]string{}, status: 200, errors: []string{"not_ready"}},
	"GET /api/openapi.json":                       {summary: "This document.", response: map[string]any{}, status: 200},
	"POST /api/v1/setup":                          {summary: "Create the first tenant with the one-time setup token the server printed.", description: "The owner's initial password is generated unless owner_password is given, and shown once.", request: newTenantRequest{}, response: createdTenantJSON{}, status: 201, errors: []string{"setup_done", "invalid_setup_token", "invalid_domain", "invalid_local_part", "invalid_tenant_name", "domain_taken", "weak_password"}},
	"POST /api/v1/tenants":                        {summary: "Create a tenant (only when the server allows open sign-up).", request: newTenantRequest{}, response: createdTenantJSON{}, status: 201, errors: []string{"signup_closed", "invalid_domain", "domain_taken", "weak_password"}},
	"POST /api/v1/clients":                        {summary: "Register a client (device) that may hold up to five signed-in accounts.", response: clientJSON{}, status: 201},
	"POST /api/v1/login":                          {summary: "Sign in with an ID (name@domain, or a personal handle) and password.", description: "A session opened with an initial password may only call /me, /me/password and /logout; everything else answers 403 password_change_required. After repeated failures the answer is 429 with Retry-After.", request: loginRequest{}, response: sessionT, status: 200, errors: []string{"invalid_credentials", "invalid_client", "too_many_attempts", "account_suspended", "initial_password_expired", "too_many_accounts"}},
	"POST /api/v1/logout":                         {summary: "End this session; other sessions stay.", status: 204},
	"GET /api/v1/me":                              {summary: "The signed-in account, with its relation to itself.", response: meJSON{}, status: 200},
	"POST /api/v1/me/password":                    {summary: "Set a new password.", description: "Ends every session of the account and returns a fresh one; the previous (initial) password never works again.", request: changePasswordRequest{}, response: sessionT, status: 200, errors: []string{"invalid_credentials", "password_reused", "weak_password"}},
	"GET /api/v1/client/accounts":                 {summary: "The accounts signed in on this session's client.", response: listJSON[service.HeldAccount]{}, status: 200, errors: []string{"no_client"}},
	"DELETE /api/v1/client/accounts/{account_id}": {summary: "Sign one account out of this client, leaving the others.", status: 204, errors: []string{"no_client", "not_found"}},
	"POST /api/v1/personal-accounts":              {summary: "Sign up for a personal account (no tenant; external to every tenant).", request: personalRequest{}, response: sessionT, status: 201, errors: []string{"invalid_handle", "weak_password", "id_taken"}},
	"GET /api/v1/tenant":                          {summary: "The signed-in member's tenant and its settings.", response: tenantT, status: 200},
	"PATCH /api/v1/tenant":                        {summary: "Rename the tenant (admins).", request: renameTenantRequest{}, response: tenantT, status: 200, errors: []string{"admin_required", "invalid_tenant_name"}},
	"PATCH /api/v1/tenant/settings":               {summary: "Change the tenant's account settings (admins).", request: settingsRequest{}, response: tenantT, status: 200, errors: []string{"admin_required", "invalid_setting"}},
	"GET /api/v1/domains":                         {summary: "The tenant's domains.", response: listJSON[domainJSON]{}, status: 200},
	"POST /api/v1/domains":                        {summary: "Add a domain to the tenant (admins).", description: "Names are IDNA-validated and stored lower-case in ASCII form; a name owned by any tenant is refused.", request: addDomainRequest{}, response: domainJSON{}, status: 201, errors: []string{"admin_required", "invalid_domain", "domain_taken"}},
	"PATCH /api/v1/domains/{id}":                  {summary: "Rename a domain (admins): every member ID x@old becomes x@new at once.", description: "The former name still signs in during the grace period (KIZUNA_DOMAIN_GRACE, 30 days by default) and stays reserved meanwhile; rooms, history and sessions are untouched.", request: renameDomainRequest{}, response: domainJSON{}, status: 200, errors: []string{"admin_required", "invalid_domain", "domain_taken", "not_found"}},
	"POST /api/v1/domains/{id}/verify":            {summary: "Verify a domain through DNS (admins): its TXT records must hold verification_record.", description: "Available when the server has a resolver (KIZUNA_DNS_VERIFY=true).", response: domainJSON{}, status: 200, errors: []string{"admin_required", "verification_unavailable", "verification_failed", "not_found"}},
	"GET /api/v1/domains/{id}/deletion-preview":   {summary: "What deleting a domain would change (admins): members, invite links, pending mail, and ID clashes in move_to.", query: []string{"move_to"}, response: kizuna.DomainImpact{}, status: 200, errors: []string{"admin_required", "invalid_move_target", "not_found"}},
	"DELETE /api/v1/domains/{id}":                 {summary: "Delete a domain (admins); restorable within the retention period, its name stays reserved.", description: "members is \"delete\" (they go with the domain and return on restore) or \"move\" with move_to. confirm must repeat the domain's name. The tenant's last domain and its last owner are refused.", request: deleteDomainRequest{}, status: 204, errors: []string{"admin_required", "confirmation_required", "invalid_members_choice", "invalid_move_target", "last_domain", "last_owner", "local_part_taken", "cannot_remove_self", "not_found"}},
	"POST /api/v1/domains/{id}/restore":           {summary: "Restore a deleted domain and the members deleted with it (admins, within the retention period).", response: domainJSON{}, status: 200, errors: []string{"admin_required", "not_restorable", "id_taken"}},
	"GET /api/v1/deleted-domains":                 {summary: "Deleted domains that can still be restored (admins).", response: listJSON[domainJSON]{}, status: 200, errors: []string{"admin_required"}},
	"POST /api/v1/domains/{id}/transfer":          {summary: "Offer a domain, with everyone in it, to another tenant (admins); its admins accept.", description: "The answer says what changes for whom. Roles do not carry over; invite links for the domain are revoked on acceptance. The offer lasts 14 days.", request: transferRequest{}, response: transferOfferJSON{}, status: 201, errors: []string{"admin_required", "tenant_not_found", "same_tenant", "last_domain", "not_found"}},
	"GET /api/v1/domain-transfers":                {summary: "Pending domain transfer offers made or received (admins).", response: listJSON[*kizuna.DomainTransfer]{}, status: 200, errors: []string{"admin_required"}},
	"POST /api/v1/domain-transfers/{id}/accept":   {summary: "Take over an offered domain (admins of the receiving tenant): everyone in it is reclassified at once.", response: kizuna.DomainTransfer{}, status: 200, errors: []string{"admin_required", "last_domain", "last_owner", "not_found"}},
	"POST /api/v1/domain-transfers/{id}/cancel":   {summary: "Withdraw or decline a pending domain transfer (admins of either tenant).", status: 204, errors: []string{"admin_required", "not_found"}},
	"GET /api/v1/members":                         {summary: "A page of the tenant's members, oldest first.", description: "Every person carries relation and relation_reason. Follow next_cursor for the next page.", query: []string{"cursor", "limit"}, response: listJSON[personJSON]{}, status: 200, errors: []string{"invalid_query", "invalid_limit"}},
	"POST /api/v1/members":                        {summary: "Add a member (admins).", description: "The initial password is generated unless typed, shown once, and must be changed at first sign-in. sheet_ticket prints it on an invitation sheet for an hour.", request: addMemberRequest{}, response: addedMemberJSON{}, status: 201, errors: []string{"admin_required", "owner_required", "invalid_local_part", "invalid_domain", "domain_not_found", "id_taken", "invalid_role", "invalid_mail", "weak_password", "typed_password_forbidden"}},
	"GET /api/v1/members/{id}":                    {summary: "A member of the tenant; other tenants' members answer not_found.", response: personT, status: 200, errors: []string{"not_found"}},
	"PATCH /api/v1/members/{id}":                  {summary: "Change a display name (the member or an admin) or a role (admins; owners for the owner role).", request: updateMemberRequest{}, response: personT, status: 200, errors: []string{"admin_required", "owner_required", "last_owner", "invalid_role", "invalid_display_name", "not_found"}},
	"DELETE /api/v1/members/{id}":                 {summary: "Delete a member (admins): the ID is free at once and can be issued again.", status: 204, errors: []string{"admin_required", "cannot_remove_self", "last_owner", "not_found"}},
	"POST /api/v1/members/{id}/suspend":           {summary: "Suspend a member (admins): signed out everywhere, sign-in refused.", response: personT, status: 200, errors: []string{"admin_required", "cannot_remove_self", "last_owner", "not_found"}},
	"POST /api/v1/members/{id}/restore":           {summary: "Lift a suspension (admins).", response: personT, status: 200, errors: []string{"admin_required", "not_found"}},
	"POST /api/v1/members/{id}/reissue":           {summary: "Issue a new initial password (admins, any number of times).", description: "The previous password stops working at once and every session of the member ends. With send_mail the invitation mail is queued to the member's contact address. The body is optional.", request: reissueRequest{}, response: reissuedJSON{}, status: 200, errors: []string{"admin_required", "owner_required", "no_contact_mail", "not_found"}},
	"GET /api/v1/audit":                           {summary: "The tenant's audit trail, newest first (admins): admin acts and security events.", description: "Follow next_cursor with before=. Filter with action=, for example auth.lockout or member.reissue_password. Entries never hold a password.", query: []string{"before", "action", "limit"}, response: listJSON[*kizuna.AuditEntry]{}, status: 200, errors: []string{"admin_required", "invalid_query", "invalid_limit"}},
	"GET /api/v1/audit/export":                    {summary: "The whole audit trail as CSV or JSON Lines (admins).", query: []string{"format"}, produces: "text/csv", status: 200, errors: []string{"admin_required", "invalid_format"}},
	"GET /api/v1/mail":                            {summary: "The tenant's outgoing mail and its delivery state (admins).", query: []string{"status", "before", "limit"}, response: listJSON[*store.OutgoingMail]{}, status: 200, errors: []string{"admin_required", "invalid_query"}},
	"POST /api/v1/mail/{id}/retry":                {summary: "Send a failed mail again (admins).", status: 204, errors: []string{"admin_required", "not_found"}},
	"GET /api/v1/members/{id}/sheet":              {summary: "A member's invitation sheet without the password (it says to reissue).", query: []string{"format", "lang"}, produces: "text/html", status: 200, errors: []string{"admin_required", "invalid_format", "not_found"}},
	"POST /api/v1/sheets":                         {summary: "Invitation sheets as HTML, PDF or CSV; with a fresh sheet ticket they show the initial passwords.", request: sheetRequest{}, produces: "application/pdf", status: 200, errors: []string{"admin_required", "sheet_expired", "invalid_format", "no_members"}},
	"POST /api/v1/member-imports":                 {summary: "Start a CSV import of members (admins); poll the returned job.", description: "The body is the CSV file (UTF-8, header row). dry_run=true checks every row and writes nothing; the real run writes all rows or none.", rawBody: "text/csv", query: []string{"dry_run"}, response: service.ImportJob{}, status: 202, errors: []string{"admin_required", "body_too_large", "invalid_query"}},
	"GET /api/v1/member-imports/{id}":             {summary: "An import job: phase, lines read, per-row errors, and the sheet ticket of the passwords.", response: service.ImportJob{}, status: 200, errors: []string{"not_found"}},
	"GET /api/v1/members/export":                  {summary: "The tenant's members as CSV (admins).", produces: "text/csv", status: 200, errors: []string{"admin_required"}},
	"POST /api/v1/invite-links":                   {summary: "Create an invite link (admins, or members when the tenant allows); the code is shown once.", request: inviteLinkRequest{}, response: inviteLinkJSON{}, status: 201, errors: []string{"invite_links_admin_only", "invalid_invite", "domain_not_found"}},
	"GET /api/v1/invite-links":                    {summary: "The tenant's invite links (admins).", response: listJSON[inviteLinkJSON]{}, status: 200, errors: []string{"admin_required"}},
	"DELETE /api/v1/invite-links/{id}":            {summary: "Revoke an invite link at once (admins).", status: 204, errors: []string{"admin_required", "not_found"}},
	"GET /api/v1/invites/{code}":                  {summary: "What an invite code offers: the tenant and the allowed domains.", response: inviteInfoJSON{}, status: 200, errors: []string{"invite_unusable"}},
	"POST /api/v1/invites/{code}/accept":          {summary: "Create an internal ID with an invite code and sign in.", request: acceptInviteRequest{}, response: sessionT, status: 201, errors: []string{"invite_unusable", "domain_not_allowed", "id_taken", "weak_password"}},
	"GET /api/v1/people/lookup":                   {summary: "Find a person by exact ID and see how they stand to you.", query: []string{"id"}, response: personT, status: 200, errors: []string{"invalid_query", "invalid_id", "not_found"}},
}

// buildOpenAPI renders the document for the route table.
func buildOpenAPI(routes []Route) []byte {
	schemas := map[string]any{}
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		op, ok := operations[rt.Method+" "+rt.Path]
		if !ok {
			continue // the completeness test reports it
		}
		o := map[string]any{
			"operationId": operationID(rt.Method, rt.Path),
			"summary":     op.summary,
			"responses":   map[string]any{},
		}
		desc := op.description
		codes := op.errors
		if rt.Auth != Public {
			// Every session route can answer these; listing them once per
			// route keeps each operation self-contained for integrators.
			codes = append(append([]string{}, codes...), "unauthorized", "invalid_session", "password_change_required")
		}
		if op.request != nil || op.rawBody != "" {
			codes = append(codes, "invalid_json", "unknown_field", "invalid_type", "body_too_large")
		}
		if len(codes) > 0 {
			desc = strings.TrimSpace(desc + "\n\nError codes: " + strings.Join(codes, ", ") + ".")
		}
		if desc != "" {
			o["description"] = desc
		}
		if rt.Auth == Public {
			o["security"] = []any{}
		} else {
			o["security"] = []any{map[string]any{"bearerAuth": []any{}}}
		}
		var params []any
		for _, seg := range strings.Split(rt.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		for _, q := range op.query {
			params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			o["parameters"] = params
		}
		switch {
		case op.request != nil:
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(op.request), schemas, true)}}}
		case op.rawBody != "":
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{op.rawBody: map[string]any{"schema": map[string]any{"type": "string"}}}}
		}
		responses := o["responses"].(map[string]any)
		ok2xx := map[string]any{"description": http.StatusText(op.status)}
		switch {
		case op.response != nil:
			ok2xx["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(op.response), schemas, false)}}
		case op.produces != "":
			ok2xx["content"] = map[string]any{op.produces: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
		}
		responses[itoa(op.status)] = ok2xx
		responses["default"] = map[string]any{"$ref": "#/components/responses/Error"}
		if rt.Auth != Public {
			responses["401"] = map[string]any{"$ref": "#/components/responses/Error"}
		}
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = o
	}
	schemas["Error"] = map[string]any{
		"type": "object", "required": []string{"error"},
		"properties": map[string]any{"error": map[string]any{
			"type": "object", "required": []string{"code", "message"},
			"properties": map[string]any{
				"code":    map[string]any{"type": "string", "description": "Stable machine code, such as domain_taken."},
				"message": map[string]any{"type": "string", "description": "A human message, safe to show."},
				"details": map[string]any{"type": "object", "description": "Optional structured data, such as the accounts a client holds."},
			},
		}},
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Kizuna API", "version": "1",
			"description": "Kizuna's JSON API. Every person in an answer carries relation (internal, external_member, external_personal) and relation_reason. Errors are {\"error\":{\"code\",\"message\"}} with the right status: 400 malformed request, 401 no session, 403 not allowed, 404 missing or another tenant's, 409 conflict, 413 too large, 422 breaks a rule, 429 too many attempts, 503 not ready."},
		"paths": paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearerAuth": map[string]any{"type": "http", "scheme": "bearer", "description": "A session token (kzs_…) from /api/v1/login."}},
			"responses":       map[string]any{"Error": map[string]any{"description": "An error with a stable code.", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}},
		},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return b
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/api/v1"), "/") {
		seg = strings.Trim(seg, "{}")
		for _, part := range strings.FieldsFunc(seg, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

var timeType = reflect.TypeOf(time.Time{})

var (
	roles     = []string{string(kizuna.RoleOwner), string(kizuna.RoleAdmin), string(kizuna.RoleMember)}
	relations = []string{string(kizuna.RelationInternal), string(kizuna.RelationExternalMember), string(kizuna.RelationExternalPersonal)}
)

// enums lists the closed sets of values of string fields, by schema and
// JSON name.
var enums = map[string][]string{
	"Person.relation":          relations,
	"Person.role":              roles,
	"Person.kind":              {string(kizuna.KindMember), string(kizuna.KindPersonal)},
	"Person.status":            {string(kizuna.StatusActive), string(kizuna.StatusSuspended), string(kizuna.StatusDeleted)},
	"AddMemberRequest.role":    roles,
	"UpdateMemberRequest.role": roles,
	"SheetRequest.format":      {"html", "pdf", "csv"},
	"SheetRequest.lang":        {"ja", "en"},
	"ImportJob.state":          {"running", "done", "failed"},
	"OutgoingMail.status":      {"pending", "sent", "failed"},
	"RowError.code":            nil, // open set: see csvimport's Code constants
}

// schemaOf describes a Go type as a JSON schema, registering named structs
// under components.schemas. Request bodies refuse unknown fields, as the
// server does.
func schemaOf(t reflect.Type, schemas map[string]any, request bool) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), schemas, request)}
	case t.Kind() == reflect.Map || t.Kind() == reflect.Interface:
		return map[string]any{"type": "object"}
	case t.Kind() != reflect.Struct:
		return map[string]any{}
	}
	name := schemaName(t)
	if request && !strings.HasSuffix(name, "Request") {
		name += "Request"
	}
	if _, done := schemas[name]; !done {
		schemas[name] = map[string]any{} // placeholder against recursion
		props := map[string]any{}
		var required []string
		addFields(name, t, schemas, request, props, &required)
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			sort.Strings(required)
			s["required"] = required
		}
		if request {
			s["additionalProperties"] = false
		}
		schemas[name] = s
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func addFields(schema string, t reflect.Type, schemas map[string]any, request bool, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				addFields(schema, et, schemas, request, props, required)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		fs := schemaOf(f.Type, schemas, request)
		if values := enums[schema+"."+name]; values != nil && fs["type"] == "string" {
			fs["enum"] = values
		}
		props[name] = fs
		optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") || f.Type.Kind() == reflect.Pointer
		if !optional {
			*required = append(*required, name)
		}
	}
}

// schemaName names a struct schema after its Go type, without the JSON
// suffix and generic brackets.
func schemaName(t reflect.Type) string {
	n := t.Name()
	if i := strings.IndexByte(n, '['); i >= 0 {
		elem := n[i+1 : len(n)-1]
		if j := strings.LastIndexAny(elem, "./"); j >= 0 {
			elem = elem[j+1:]
		}
		elem = strings.TrimSuffix(elem, "JSON")
		n = strings.TrimSuffix(n[:i], "JSON") + "Of" + strings.ToUpper(elem[:1]) + elem[1:]
	}
	n = strings.TrimSuffix(n, "JSON")
	return strings.ToUpper(n[:1]) + n[1:]
}
