package httpapi_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/internal/testdb"
)

// placeholder matches a placeholder left unfilled.
var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// authzActors are the columns of the authorization matrix, in order.
var authzActors = []string{"anonymous", "revoked", "pending", "member", "restricted", "admin", "owner", "other_admin", "personal"}

// authzRow is one route's row: the request to send and the status each
// actor gets.
type authzRow struct {
	path string // with placeholders, see authzWorld.expand
	body string
	want [9]int // by authzActors
}

// sess is the row of a Session route: anonymous and revoked sessions get
// 401, a session still owing its password change 403
// password_change_required; the others are given in the order member,
// restricted, admin, owner, other tenant's admin, personal account.
func sess(member, restricted, admin, owner, otherAdmin, personal int) [9]int {
	return [9]int{401, 401, 403, member, restricted, admin, owner, otherAdmin, personal}
}

// pub is the row of a Public route: whoever asks gets the same answer.
func pub(status int) [9]int {
	return [9]int{status, status, status, status, status, status, status, status, status}
}

// authzTable is the authorization matrix: every route of the API, by
// "METHOD path" exactly as in the route table, with what every kind of
// actor gets.
//
// To add a row for a new route: copy a row of a similar route, point the
// path at fixture IDs ({room}, {group}, … see authzWorld.expand) and write
// the statuses you intend — never paste what the server happens to answer
// without checking each column against rules R1–R14. If the route
// destroys or changes what later rows rely on, use a "{new_…}"
// placeholder: it creates a fresh target for each actor just before the
// request. A route that ends the caller's own session is sent on a fresh
// session of the actor (see ownSession).
var authzTable = map[string]authzRow{
	"GET /healthz":          {"/healthz", "", pub(200)},
	"GET /readyz":           {"/readyz", "", pub(200)},
	"GET /metrics":          {"/metrics", "", pub(404)}, // metrics are off in tests: metrics_disabled
	"GET /api/openapi.json": {"/api/openapi.json", "", pub(200)},

	"POST /api/v1/setup":                          {"/api/v1/setup", `{"setup_token":"wrong","tenant_name":"X","domain":"x-setup.example","owner_local":"o"}`, pub(403)},
	"POST /api/v1/tenants":                        {"/api/v1/tenants", `{"tenant_name":"X","domain":"x-signup.example","owner_local":"o"}`, pub(403)},
	"POST /api/v1/clients":                        {"/api/v1/clients", "", pub(201)},
	"POST /api/v1/login":                          {"/api/v1/login", `{"id":"nobody{uniq}@acme.example","password":"wrong"}`, pub(401)},
	"POST /api/v1/logout":                         {"/api/v1/logout", "", [9]int{401, 401, 204, 204, 204, 204, 204, 204, 204}},
	"GET /api/v1/me":                              {"/api/v1/me", "", [9]int{401, 401, 200, 200, 200, 200, 200, 200, 200}},
	"POST /api/v1/me/password":                    {"/api/v1/me/password", `{"current_password":"not it","new_password":"another fine passphrase"}`, [9]int{401, 401, 401, 401, 401, 401, 401, 401, 401}},
	"GET /api/v1/client/accounts":                 {"/api/v1/client/accounts", "", sess(422, 422, 422, 422, 422, 422)},
	"DELETE /api/v1/client/accounts/{account_id}": {"/api/v1/client/accounts/{self}", "", [9]int{401, 401, 422, 422, 422, 422, 422, 422, 422}},
	"POST /api/v1/personal-accounts":              {"/api/v1/personal-accounts", `{"handle":"{uniq}","password":"a personal passphrase 1"}`, pub(201)},

	"GET /api/v1/tenant":                        {"/api/v1/tenant", "", sess(200, 200, 200, 200, 200, 403)},
	"PATCH /api/v1/tenant":                      {"/api/v1/tenant", `{"name":"Acme"}`, sess(403, 403, 200, 200, 200, 403)},
	"PATCH /api/v1/tenant/settings":             {"/api/v1/tenant/settings", `{"members_create_invite_links":true}`, sess(403, 403, 200, 200, 200, 403)},
	"GET /api/v1/domains":                       {"/api/v1/domains", "", sess(200, 200, 200, 200, 200, 403)},
	"POST /api/v1/domains":                      {"/api/v1/domains", `{"name":"{uniq}.example"}`, sess(403, 403, 201, 201, 201, 403)},
	"PATCH /api/v1/domains/{id}":                {"/api/v1/domains/{new_domain}", `{"name":"{uniq}.example"}`, sess(403, 403, 200, 200, 404, 403)},
	"POST /api/v1/domains/{id}/verify":          {"/api/v1/domains/{dept}/verify", "", sess(403, 403, 403, 403, 404, 403)},
	"GET /api/v1/domains/{id}/deletion-preview": {"/api/v1/domains/{dept}/deletion-preview", "", sess(403, 403, 200, 200, 404, 403)},
	"DELETE /api/v1/domains/{id}":               {"/api/v1/domains/{new_domain}", `{"confirm":"{new_domain_name}","members":"delete"}`, sess(403, 403, 204, 204, 404, 403)},
	"POST /api/v1/domains/{id}/restore":         {"/api/v1/domains/{dept}/restore", "", sess(403, 403, 404, 404, 404, 403)},
	"GET /api/v1/deleted-domains":               {"/api/v1/deleted-domains", "", sess(403, 403, 200, 200, 200, 403)},
	"POST /api/v1/domains/{id}/transfer":        {"/api/v1/domains/{dept}/transfer", `{"to_tenant_of":"nowhere.example"}`, sess(403, 403, 404, 404, 404, 403)},
	"GET /api/v1/domain-transfers":              {"/api/v1/domain-transfers", "", sess(403, 403, 200, 200, 200, 403)},
	"POST /api/v1/domain-transfers/{id}/accept": {"/api/v1/domain-transfers/{missing}/accept", "", sess(403, 403, 404, 404, 404, 403)},
	"POST /api/v1/domain-transfers/{id}/cancel": {"/api/v1/domain-transfers/{missing}/cancel", "", sess(403, 403, 404, 404, 404, 403)},

	"GET /api/v1/members":               {"/api/v1/members", "", sess(200, 200, 200, 200, 200, 403)},
	"POST /api/v1/members":              {"/api/v1/members", `{"local":"{uniq}","domain":"acme.example"}`, sess(403, 403, 201, 201, 404, 403)},
	"GET /api/v1/members/{id}":          {"/api/v1/members/{member}", "", sess(200, 200, 200, 200, 404, 403)},
	"PATCH /api/v1/members/{id}":        {"/api/v1/members/{member}", `{"display_name":"Sato"}`, sess(200, 403, 200, 200, 404, 403)},
	"DELETE /api/v1/members/{id}":       {"/api/v1/members/{new_member}", "", sess(403, 403, 204, 204, 404, 403)},
	"POST /api/v1/members/{id}/suspend": {"/api/v1/members/{new_member}/suspend", "", sess(403, 403, 200, 200, 404, 403)},
	"POST /api/v1/members/{id}/restore": {"/api/v1/members/{new_member}/restore", "", sess(403, 403, 200, 200, 404, 403)},
	"POST /api/v1/members/{id}/reissue": {"/api/v1/members/{new_member}/reissue", "", sess(403, 403, 200, 200, 404, 403)},
	"GET /api/v1/members/{id}/sheet":    {"/api/v1/members/{member}/sheet", "", sess(403, 403, 200, 200, 404, 403)},
	"POST /api/v1/sheets":               {"/api/v1/sheets", `{"member_ids":["{member}"],"format":"csv"}`, sess(403, 403, 200, 200, 404, 403)},
	"POST /api/v1/member-imports":       {"/api/v1/member-imports?dry_run=true", "id\n{uniq}@acme.example\n", sess(403, 403, 202, 202, 202, 403)},
	"GET /api/v1/member-imports/{id}":   {"/api/v1/member-imports/{import}", "", sess(403, 403, 200, 200, 404, 403)},
	"GET /api/v1/members/export":        {"/api/v1/members/export", "", sess(403, 403, 200, 200, 200, 403)},

	"GET /api/v1/audit":            {"/api/v1/audit", "", sess(403, 403, 200, 200, 200, 403)},
	"GET /api/v1/audit/export":     {"/api/v1/audit/export", "", sess(403, 403, 200, 200, 200, 403)},
	"GET /api/v1/mail":             {"/api/v1/mail", "", sess(403, 403, 200, 200, 200, 403)},
	"POST /api/v1/mail/{id}/retry": {"/api/v1/mail/{missing}/retry", "", sess(403, 403, 404, 404, 404, 403)},

	"POST /api/v1/invite-links":          {"/api/v1/invite-links", `{}`, sess(201, 403, 201, 201, 201, 403)},
	"GET /api/v1/invite-links":           {"/api/v1/invite-links", "", sess(403, 403, 200, 200, 200, 403)},
	"DELETE /api/v1/invite-links/{id}":   {"/api/v1/invite-links/{new_invite}", "", sess(403, 403, 204, 204, 404, 403)},
	"GET /api/v1/invites/{code}":         {"/api/v1/invites/{invite_code}", "", pub(200)},
	"POST /api/v1/invites/{code}/accept": {"/api/v1/invites/{new_invite_code}/accept", `{"local":"{uniq}","domain":"acme.example","password":"a joining passphrase 1"}`, pub(201)},
	"GET /api/v1/people/lookup":          {"/api/v1/people/lookup?id=tanaka@partner.example", "", sess(200, 200, 200, 200, 200, 200)},

	"GET /api/v1/rooms":                              {"/api/v1/rooms", "", sess(200, 200, 200, 200, 200, 200)},
	"POST /api/v1/rooms":                             {"/api/v1/rooms", `{"name":"R","members":[]}`, sess(201, 201, 201, 201, 201, 201)},
	"POST /api/v1/rooms/direct":                      {"/api/v1/rooms/direct", `{"with":"boss@acme.example"}`, sess(201, 201, 201, 422, 403, 403)},
	"GET /api/v1/rooms/{id}":                         {"/api/v1/rooms/{room}", "", sess(200, 404, 404, 200, 404, 404)},
	"PATCH /api/v1/rooms/{id}":                       {"/api/v1/rooms/{room}", `{"name":"Project"}`, sess(403, 404, 404, 200, 404, 404)},
	"POST /api/v1/rooms/{id}/members":                {"/api/v1/rooms/{room}/members", `{"members":["sato@dept.acme.example"]}`, sess(200, 404, 404, 200, 404, 404)},
	"DELETE /api/v1/rooms/{id}/members/{account_id}": {"/api/v1/rooms/{new_room}/members/{admin}", "", sess(403, 404, 204, 204, 404, 404)},
	"GET /api/v1/rooms/{id}/messages":                {"/api/v1/rooms/{room}/messages", "", sess(200, 404, 404, 200, 404, 404)},
	"POST /api/v1/rooms/{id}/messages":               {"/api/v1/rooms/{room}/messages", `{"client_msg_id":"{uniq}","body":"hi"}`, sess(201, 404, 404, 201, 404, 404)},
	"PATCH /api/v1/rooms/{id}/messages/{seq}":        {"/api/v1/rooms/{room}/messages/1", `{"body":"edited"}`, sess(200, 404, 404, 403, 404, 404)},
	"DELETE /api/v1/rooms/{id}/messages/{seq}":       {"/api/v1/rooms/{room}/messages/{new_message}", "", sess(403, 404, 404, 204, 404, 404)},
	"POST /api/v1/rooms/{id}/read":                   {"/api/v1/rooms/{room}/read", `{"seq":1}`, sess(204, 404, 404, 204, 404, 404)},
	"GET /api/v1/unread":                             {"/api/v1/unread", "", sess(200, 200, 200, 200, 200, 200)},
	"GET /api/v1/messages/search":                    {"/api/v1/messages/search?q=hello", "", sess(200, 200, 200, 200, 200, 200)},
	"GET /api/v1/events":                             {"/api/v1/events", "", sess(422, 422, 422, 422, 422, 422)},

	"GET /api/v1/tenant/cancellation-preview": {"/api/v1/tenant/cancellation-preview", "", sess(403, 403, 403, 200, 200, 403)},
	"DELETE /api/v1/tenant":                   {"/api/v1/tenant", `{"confirm":"not the name"}`, sess(403, 403, 403, 422, 422, 403)},
	"POST /api/v1/tenant-restores":            {"/api/v1/tenant-restores", `{"code":"kzr_wrong"}`, pub(422)},

	"GET /api/v1/reclassifications/carry-over":  {"/api/v1/reclassifications/carry-over?from=tanaka@partner.example&to=sato@dept.acme.example", "", sess(403, 403, 200, 200, 404, 403)},
	"POST /api/v1/reclassifications/carry-over": {"/api/v1/reclassifications/carry-over", `{"from":"tanaka@partner.example","to":"sato@dept.acme.example"}`, sess(403, 403, 200, 200, 404, 403)},
	"GET /api/v1/members/{id}/handover-preview": {"/api/v1/members/{member}/handover-preview?to=yuki", "", sess(403, 403, 200, 200, 404, 403)},
	"POST /api/v1/members/{id}/handover":        {"/api/v1/members/{new_member}/handover", `{"to":"yuki"}`, sess(403, 403, 201, 201, 404, 403)},
	"GET /api/v1/handovers":                     {"/api/v1/handovers", "", sess(200, 200, 200, 200, 200, 200)},
	"POST /api/v1/handovers/{id}/accept":        {"/api/v1/handovers/{missing}/accept", "", sess(404, 404, 404, 404, 404, 404)},
	"POST /api/v1/handovers/{id}/decline":       {"/api/v1/handovers/{missing}/decline", "", sess(404, 404, 404, 404, 404, 404)},
	"POST /api/v1/handovers/{id}/cancel":        {"/api/v1/handovers/{missing}/cancel", "", sess(404, 404, 404, 404, 404, 404)},

	"GET /api/v1/groups":                                {"/api/v1/groups", "", sess(200, 200, 200, 200, 200, 403)},
	"POST /api/v1/groups":                               {"/api/v1/groups", `{"name":"New"}`, sess(403, 403, 201, 201, 201, 403)},
	"GET /api/v1/groups/{id}":                           {"/api/v1/groups/{group}", "", sess(200, 200, 200, 200, 404, 403)},
	"PATCH /api/v1/groups/{id}":                         {"/api/v1/groups/{group}", `{"name":"Engineering"}`, sess(403, 403, 200, 200, 404, 403)},
	"DELETE /api/v1/groups/{id}":                        {"/api/v1/groups/{new_group}", "", sess(403, 403, 204, 204, 404, 403)},
	"GET /api/v1/groups/{id}/members":                   {"/api/v1/groups/{group}/members", "", sess(200, 200, 200, 200, 404, 403)},
	"POST /api/v1/groups/{id}/members":                  {"/api/v1/groups/{group}/members", `{"members":["sato@dept.acme.example"]}`, sess(403, 403, 200, 200, 404, 403)},
	"DELETE /api/v1/groups/{id}/members/{account_id}":   {"/api/v1/groups/{new_group}/members/{admin}", "", sess(403, 404, 204, 204, 404, 403)},
	"GET /api/v1/boards":                                {"/api/v1/boards", "", sess(200, 200, 200, 200, 200, 403)},
	"POST /api/v1/boards":                               {"/api/v1/boards", `{"name":"B","rules":[]}`, sess(403, 403, 201, 201, 201, 403)},
	"GET /api/v1/boards/{id}":                           {"/api/v1/boards/{board}", "", sess(200, 404, 200, 200, 404, 403)},
	"PUT /api/v1/boards/{id}":                           {"/api/v1/boards/{board}", `{"name":"All hands","rules":[{"right":"read","kind":"tenant"},{"right":"write","kind":"group","id":"{group}"}]}`, sess(403, 404, 200, 200, 404, 403)},
	"DELETE /api/v1/boards/{id}":                        {"/api/v1/boards/{new_board}", "", sess(403, 404, 204, 204, 404, 403)},
	"GET /api/v1/boards/{id}/posts":                     {"/api/v1/boards/{board}/posts", "", sess(200, 404, 200, 200, 404, 403)},
	"POST /api/v1/boards/{id}/posts":                    {"/api/v1/boards/{board}/posts", `{"title":"t","body":"b"}`, sess(201, 404, 201, 201, 404, 403)},
	"GET /api/v1/boards/{id}/posts/{post_id}":           {"/api/v1/boards/{board}/posts/{post}", "", sess(200, 404, 200, 200, 404, 403)},
	"PATCH /api/v1/boards/{id}/posts/{post_id}":         {"/api/v1/boards/{board}/posts/{post}", `{"title":"Welcome","body":"ようこそ","must_read":true}`, sess(403, 404, 200, 200, 404, 403)},
	"DELETE /api/v1/boards/{id}/posts/{post_id}":        {"/api/v1/boards/{board}/posts/{new_post}", "", sess(403, 404, 204, 204, 404, 403)},
	"POST /api/v1/boards/{id}/posts/{post_id}/comments": {"/api/v1/boards/{board}/posts/{post}/comments", `{"body":"ok"}`, sess(201, 404, 201, 201, 404, 403)},
	"POST /api/v1/boards/{id}/posts/{post_id}/read":     {"/api/v1/boards/{board}/posts/{post}/read", "", sess(204, 404, 204, 204, 404, 403)},
	"GET /api/v1/boards/{id}/posts/{post_id}/readers":   {"/api/v1/boards/{board}/posts/{post}/readers", "", sess(403, 404, 200, 200, 404, 403)},
	"PUT /api/v1/members/{id}/restricted":               {"/api/v1/members/{restricted}/restricted", `{"restricted":true}`, sess(403, 403, 200, 200, 404, 403)},
	"GET /api/v1/tenant/restrictions":                   {"/api/v1/tenant/restrictions", "", sess(200, 200, 200, 200, 200, 403)},
	"PUT /api/v1/tenant/restrictions":                   {"/api/v1/tenant/restrictions", `{"hide_boards":true,"limit_directory":true,"no_invite_links":true,"no_external_contacts":true}`, sess(403, 403, 200, 200, 200, 403)},
	"GET /api/v1/directory":                             {"/api/v1/directory?q=sa", "", sess(200, 200, 200, 200, 200, 403)},
	"GET /api/v1/members/{id}/view-as":                  {"/api/v1/members/{member}/view-as", "", sess(403, 403, 200, 200, 404, 403)},

	"GET /api/v1/contacts":                        {"/api/v1/contacts", "", sess(200, 200, 200, 200, 200, 200)},
	"POST /api/v1/contacts":                       {"/api/v1/contacts", `{"id":"tanaka@partner.example"}`, sess(201, 403, 201, 201, 422, 200)},
	"POST /api/v1/contacts/{id}/accept":           {"/api/v1/contacts/{contact}/accept", "", sess(404, 404, 404, 404, 200, 403)},
	"POST /api/v1/contacts/{id}/decline":          {"/api/v1/contacts/{new_contact}/decline", "", sess(403, 404, 404, 404, 200, 403)},
	"DELETE /api/v1/contacts/{id}":                {"/api/v1/contacts/{new_contact}", "", sess(204, 404, 404, 404, 204, 204)},
	"POST /api/v1/me/contact-code":                {"/api/v1/me/contact-code", "", sess(201, 201, 201, 201, 201, 201)},
	"GET /api/v1/contact-approvals":               {"/api/v1/contact-approvals", "", sess(403, 403, 200, 200, 200, 403)},
	"POST /api/v1/contact-approvals/{id}/approve": {"/api/v1/contact-approvals/{missing}/approve", "", sess(403, 403, 404, 404, 404, 403)},
	"POST /api/v1/contact-approvals/{id}/reject":  {"/api/v1/contact-approvals/{missing}/reject", "", sess(403, 403, 404, 404, 404, 403)},
	"GET /api/v1/tenant/external-policy":          {"/api/v1/tenant/external-policy", "", sess(200, 200, 200, 200, 200, 403)},
	"PUT /api/v1/tenant/external-policy":          {"/api/v1/tenant/external-policy", `{"allow_other_tenants":true,"allow_personal":true,"add_contacts":"free"}`, sess(403, 403, 200, 200, 200, 403)},
	"PUT /api/v1/members/{id}/external-talk":      {"/api/v1/members/{member}/external-talk", `{"mode":""}`, sess(403, 403, 200, 200, 404, 403)},
}

// ownSession lists the routes that end or change the caller's own
// session: each actor sends them on a fresh session of its own, so the
// shared one serves the other rows.
var ownSession = map[string]bool{
	"POST /api/v1/logout": true,
}

// authzWorld is the fixture of the matrix: the group world (owner, admin,
// member, restricted, other_admin, personal), a member still owing the
// change of an initial password, a revoked session, a room, a contact
// request and an import job.
type authzWorld struct {
	*groupWorld
	passwords map[string]string // actor → sign-in ID and password, for fresh sessions
	signInIDs map[string]string
	values    map[string]string // placeholder → value
	uniq      int
}

func newAuthzWorld(t *testing.T, g *groupWorld) *authzWorld {
	w := g.world
	aw := &authzWorld{groupWorld: g, values: map[string]string{},
		signInIDs: map[string]string{"owner": "boss@acme.example", "admin": "adm@acme.example", "member": "sato@dept.acme.example", "restricted": "res@acme.example", "other_admin": "tanaka@partner.example", "personal": "yuki"},
		passwords: map[string]string{"owner": ownerPassword, "admin": "a fine new passphrase", "member": "a fine new passphrase", "restricted": "a fine new passphrase", "other_admin": ownerPassword, "personal": "a personal passphrase 1"},
	}
	// pending: signed in with the initial password, not changed yet.
	var added struct {
		InitialPassword string `json:"initial_password"`
	}
	w.decode(w.must("owner", "POST", "/api/v1/members", `{"local":"pend","domain":"acme.example"}`, 201), &added)
	w.signIn("pending", "pend@acme.example", added.InitialPassword)
	aw.signInIDs["pending"], aw.passwords["pending"] = "pend@acme.example", added.InitialPassword
	// revoked: a session of the member that signed out.
	w.signIn("revoked", "sato@dept.acme.example", "a fine new passphrase")
	w.must("revoked", "POST", "/api/v1/logout", "", 204)

	room := w.room("owner", "Project", "sato@dept.acme.example")
	w.send("member", room.ID, "first", "hello")
	var c struct{ ID string }
	w.decode(w.must("personal", "POST", "/api/v1/contacts", `{"id":"tanaka@partner.example"}`, 201), &c)
	var job struct{ ID string }
	w.decode(w.must("admin", "POST", "/api/v1/member-imports?dry_run=true", "id\nimp@acme.example\n", 202), &job)
	var link struct{ Code string }
	w.decode(w.must("owner", "POST", "/api/v1/invite-links", `{}`, 201), &link)
	var domains struct{ Items []struct{ ID, Name string } }
	w.decode(w.must("owner", "GET", "/api/v1/domains", "", 200), &domains)
	for _, d := range domains.Items {
		if d.Name == "dept.acme.example" {
			aw.values["{dept}"] = d.ID
		}
	}
	for k, v := range map[string]string{
		"{room}": room.ID, "{group}": g.eng, "{board}": g.allHands, "{post}": g.post, "{contact}": c.ID,
		"{import}": job.ID, "{invite_code}": link.Code, "{missing}": "01HZZZZZZZZZZZZZZZZZZZZZZZ",
		"{member}": w.ids["member"], "{admin}": w.ids["admin"], "{restricted}": w.ids["restricted"],
	} {
		aw.values[k] = v
	}
	return aw
}

// expand fills a row's placeholders for one actor. "{self}" is the
// actor's account; "{uniq}" a fresh name; "{new_…}" a fresh target made
// just now by the owner (or by whoever can make it), so destructive rows
// never break later ones.
func (aw *authzWorld) expand(t *testing.T, s, actor string) string {
	w := aw.world
	aw.uniq++
	s = strings.ReplaceAll(s, "{uniq}", fmt.Sprintf("u%d", aw.uniq))
	self := w.ids[actor]
	if self == "" {
		self = "01HZZZZZZZZZZZZZZZZZZZZZZZ" // anonymous: nobody
	}
	s = strings.ReplaceAll(s, "{self}", self)
	create := func(actor, method, path, body string, status int) string {
		var v struct{ ID, Name string }
		w.decode(w.must(actor, method, path, body, status), &v)
		return v.ID
	}
	for strings.Contains(s, "{new_") {
		i := strings.Index(s, "{new_")
		ph := s[i : i+strings.Index(s[i:], "}")+1]
		var v string
		switch ph {
		case "{new_domain}", "{new_domain_name}":
			name := fmt.Sprintf("d%d.acme.example", aw.uniq)
			v = create("owner", "POST", "/api/v1/domains", `{"name":"`+name+`"}`, 201)
			s = strings.ReplaceAll(s, "{new_domain_name}", name)
		case "{new_member}":
			var added struct {
				Member struct{ ID string } `json:"member"`
			}
			w.decode(w.must("owner", "POST", "/api/v1/members", fmt.Sprintf(`{"local":"n%d","domain":"acme.example"}`, aw.uniq), 201), &added)
			v = added.Member.ID
			if strings.Contains(s, "/restore") {
				w.must("owner", "POST", "/api/v1/members/"+v+"/suspend", "", 200)
			}
		case "{new_room}":
			v = create("owner", "POST", "/api/v1/rooms", `{"name":"Temp","members":["sato@dept.acme.example","adm@acme.example"]}`, 201)
		case "{new_message}":
			var m struct{ Seq int64 }
			w.decode(w.must("owner", "POST", "/api/v1/rooms/"+aw.values["{room}"]+"/messages", fmt.Sprintf(`{"client_msg_id":"m%d","body":"x"}`, aw.uniq), 201), &m)
			v = fmt.Sprint(m.Seq)
		case "{new_group}":
			v = create("owner", "POST", "/api/v1/groups", fmt.Sprintf(`{"name":"G%d"}`, aw.uniq), 201)
			w.must("owner", "POST", "/api/v1/groups/"+v+"/members", `{"members":["adm@acme.example"]}`, 200)
		case "{new_board}":
			v = create("owner", "POST", "/api/v1/boards", `{"name":"Temp","rules":[{"right":"read","kind":"tenant"}]}`, 201)
		case "{new_post}":
			v = create("owner", "POST", "/api/v1/boards/"+aw.values["{board}"]+"/posts", `{"title":"t","body":"b"}`, 201)
		case "{new_invite_code}":
			var link struct{ Code string }
			w.decode(w.must("owner", "POST", "/api/v1/invite-links", `{}`, 201), &link)
			v = link.Code
		case "{new_invite}":
			v = create("owner", "POST", "/api/v1/invite-links", `{}`, 201)
		case "{new_contact}":
			// A request to tanaka from the actor's side when it can make
			// one, else from the personal account: every actor then has a
			// contact to act on, of its own or of someone else.
			from := "personal"
			if actor == "member" {
				from = "member"
			}
			if st, body := w.do(from, "GET", "/api/v1/contacts", ""); st == 200 {
				var list struct{ Items []struct{ ID string } }
				w.decode(body, &list)
				for _, it := range list.Items {
					w.do(from, "DELETE", "/api/v1/contacts/"+it.ID, "")
				}
			}
			v = create(from, "POST", "/api/v1/contacts", `{"id":"tanaka@partner.example"}`, 201)
		default:
			t.Fatalf("unknown placeholder %s", ph)
		}
		s = strings.ReplaceAll(s, ph, v)
	}
	for k, v := range aw.values {
		s = strings.ReplaceAll(s, k, v)
	}
	if ph := placeholder.FindString(s); ph != "" {
		t.Fatalf("unfilled placeholder %s in %q", ph, s)
	}
	return s
}

// TestAuthorizationMatrix sends every route as every kind of actor and
// compares the statuses with authzTable. A route without a row, or a row
// without a route, fails the test.
func TestAuthorizationMatrix(t *testing.T) {
	routes := httpapi.New(nil, slog.New(slog.DiscardHandler), "").Routes()
	keys := map[string]httpapi.Route{}
	var missing, stale []string
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		keys[key] = rt
		if _, ok := authzTable[key]; !ok {
			missing = append(missing, key)
		}
	}
	for key := range authzTable {
		if _, ok := keys[key]; !ok {
			stale = append(stale, key)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes without a row in authzTable (authz_matrix_test.go):\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("rows of authzTable without a route:\n  %s", strings.Join(stale, "\n  "))
	}
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			aw := newAuthzWorld(t, newGroupWorld(t, eng.Open))
			w := aw.world
			cells := 0
			for _, rt := range routes {
				key := rt.Method + " " + rt.Path
				row, ok := authzTable[key]
				if !ok {
					continue
				}
				for i, actor := range authzActors {
					as := actor
					if actor == "anonymous" {
						as = ""
					}
					if ownSession[key] && actor != "anonymous" && actor != "revoked" {
						w.signIn("fresh", aw.signInIDs[actor], aw.passwords[actor])
						as = "fresh"
					}
					// Path and body in one go: a "{new_…}" placeholder
					// means the same target in both.
					path, body, _ := strings.Cut(aw.expand(t, row.path+"\x00"+row.body, actor), "\x00")
					status, got := w.do(as, rt.Method, path, body)
					cells++
					if status != row.want[i] {
						t.Errorf("%s as %s: %d, want %d: %.200s", key, actor, status, row.want[i], got)
						continue
					}
					checkAuthzBody(t, rt, actor, status, got)
				}
			}
			t.Logf("authorization matrix: %d routes × %d actors = %d cells", len(routes), len(authzActors), cells)
		})
	}
}

// checkAuthzBody checks what the status alone does not say: a refused
// session says why, a hidden item answers like a missing one.
func checkAuthzBody(t *testing.T, rt httpapi.Route, actor string, status int, body string) {
	t.Helper()
	key := rt.Method + " " + rt.Path
	var e struct{ Error struct{ Code string } }
	if status >= 400 {
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" {
			t.Errorf("%s as %s: %d without an error code: %.200s", key, actor, status, body)
			return
		}
	}
	switch {
	case actor == "pending" && rt.Auth != httpapi.Public && status == 403 && e.Error.Code != "password_change_required":
		t.Errorf("%s as pending: code %q, want password_change_required", key, e.Error.Code)
	case (actor == "anonymous" || actor == "revoked") && status == 401 && !strings.HasPrefix(key, "POST /api/v1/login") && !strings.HasPrefix(key, "POST /api/v1/me/password") && e.Error.Code != "unauthorized" && e.Error.Code != "invalid_session":
		t.Errorf("%s as %s: code %q, want unauthorized or invalid_session", key, actor, e.Error.Code)
	case status == 404 && !strings.Contains(e.Error.Code, "not_found") && e.Error.Code != "metrics_disabled" && e.Error.Code != "not_restorable" && e.Error.Code != "invite_unusable":
		t.Errorf("%s as %s: a hidden item must answer like a missing one: %.200s", key, actor, body)
	}
}
