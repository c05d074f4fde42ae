package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-chat/kizuna/service"
)

// clientPassword is every test person's password: long enough, not
// common, and free of their IDs and names.
const clientPassword = "a fine new passphrase"

// clientTenant creates a tenant whose owner has a chosen password (no
// forced change) and returns the owner's sign-in ID.
func (e *env) clientTenant(name, domain, owner, display string) string {
	e.t.Helper()
	_, err := e.svc.Tenants.Create(context.Background(), service.NewTenant{TenantName: name, Domain: domain,
		OwnerLocal: owner, OwnerDisplayName: display, OwnerPassword: clientPassword})
	if err != nil {
		e.t.Fatalf("creating tenant %s: %v", name, err)
	}
	return owner + "@" + domain
}

// clientMember adds a member as the owner and takes them through the
// forced password change, so they sign in with clientPassword.
func (e *env) clientMember(ownerToken, local, domain, display string) string {
	e.t.Helper()
	var added struct {
		InitialPassword string `json:"initial_password"`
	}
	e.api(ownerToken, "POST", "/api/v1/members", map[string]string{"local": local, "domain": domain, "display_name": display}, &added)
	id := local + "@" + domain
	tok := e.login(id, added.InitialPassword)
	e.api(tok, "POST", "/api/v1/me/password", map[string]string{"current_password": added.InitialPassword, "new_password": clientPassword}, nil)
	return id
}

// clientSignIn signs in on the sign-in page (adding an account when the
// browser already holds some) and waits for the client.
func (p *page) clientSignIn(id string) {
	p.t.Helper()
	p.waitVisible(test("signin-id"))
	p.fill(test("signin-id"), id)
	p.fill(test("signin-password"), clientPassword)
	p.click(test("signin-submit"))
	p.waitHash("/app")
	p.waitText(test("account-switcher"), id)
}

// count returns how many elements match selector.
func (p *page) count(selector string) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, selector)))
	if err != nil {
		p.fail(err)
	}
	return n
}

// TestExternalTalkInBrowser is check (2) of issue 7: a member of Acme and
// a partner of another tenant become external contacts through the
// contacts screen (request, pending, accept), and a message typed in one
// browser appears in the other without a reload, marked external; read
// counts follow live.
func TestExternalTalkInBrowser(t *testing.T) {
	e := newEnv(t)
	sato := e.clientTenant("Acme", "acme.example", "sato", "佐藤 花子")
	tanaka := e.clientTenant("Partner Co", "partner.example", "tanaka", "田中 一郎")

	a := e.browser("sato")
	a.open("/signin")
	a.clientSignIn(sato)
	b := e.browser("tanaka")
	b.open("/signin")
	b.clientSignIn(tanaka)
	a.waitVisible(test("room-list"))
	a.waitText(test("room-list"), "No rooms yet")

	// Sato asks for Tanaka by ID: the request waits for Tanaka.
	a.goTo("#/app/contacts")
	a.fill(test("contact-add-value"), tanaka)
	a.click(test("contact-add-submit"))
	a.waitText(test("contact-list"), "waiting for them to accept")
	a.waitText(test("contact-list"), "partner.example belongs to tenant Partner Co")

	// Tanaka sees the incoming request with why Sato is external, and
	// accepts; Sato's list follows live.
	b.goTo("#/app/contacts")
	b.waitText(test("incoming"), "佐藤 花子")
	b.waitText(test("incoming"), "external")
	b.click(test("contact-accept"))
	b.waitText(test("contact-list"), "you can talk")
	a.waitText(test("contact-list"), "you can talk")
	a.shot("client-contacts")

	// Sato opens the direct room from the contact and writes first, while
	// Tanaka looks at the room list.
	b.goTo("#/app")
	b.waitVisible(test("room-list"))
	a.click(test("contact-talk"))
	a.waitHash("/app/rooms/")
	a.waitText(test("room-title"), "田中 一郎")
	a.waitVisible(test("room-title") + " .external-mark")
	a.fill(test("composer-input"), "お世話になっております。佐藤です。")
	a.click(test("composer-send"))
	a.waitText(test("messages"), "佐藤です")

	// Tanaka's list shows the room live with its unread count and the
	// external mark; the account switcher's badge counts it too.
	b.waitText(test("room-list"), "佐藤 花子")
	b.waitVisible(test("room-item") + " .external-mark")
	b.waitText(test("room-unread"), "1")
	b.shot("client-rooms")
	b.click(test("room-item"))
	b.waitHash("/app/rooms/")
	b.waitText(test("messages"), "佐藤です")
	b.waitVisible(`[data-test="message"].from-external [data-test="external-mark"]`)

	// Now both rooms are open: each message crosses without a reload.
	marker := `document.body.dataset.noReload = "yes"`
	a.eval(marker)
	b.eval(marker)
	a.fill(test("composer-input"), "見積書をお送りします。")
	a.click(test("composer-send"))
	b.waitText(test("messages"), "見積書をお送りします。")
	b.waitFor(`Array.from(document.querySelectorAll('[data-test="message"]')).some(m => m.innerText.includes("見積書") && m.classList.contains("from-external") && m.querySelector('[data-test="external-mark"]'))`,
		"the new message marked external")
	// Tanaka has the room open: Sato sees "read by 1" on both messages.
	a.waitFor(`document.querySelectorAll('[data-test="read-count"]').length === 2`, "read counts on Sato's messages")
	a.waitText(test("read-count"), "Read by 1")

	// Tanaka replies to the message; Sato sees the reply live, with its
	// quote, marked external.
	b.click(`[data-test="message"]:last-child [data-test="message-reply"]`)
	b.waitText(test("replying"), "見積書")
	b.fill(test("composer-input"), "ありがとうございます。確認します。")
	b.click(test("composer-send"))
	a.waitText(test("messages"), "確認します")
	a.waitFor(`(() => { const m = document.querySelector('[data-test="message"]:last-child'); return m && m.classList.contains("from-external") && m.querySelector('[data-test="message-quote"]').innerText.includes("見積書") })()`,
		"the reply marked external, quoting the message")
	for _, p := range []*page{a, b} {
		p.waitFor(`document.body.dataset.noReload === "yes"`, "the same page, never reloaded")
	}

	// Sato edits and deletes the first message (after confirming).
	a.click(`[data-test="message"][data-seq="1"] [data-test="message-edit"]`)
	a.fill(test("edit-input"), "お世話になっております。Acmeの佐藤です。")
	a.click(test("edit-save"))
	b.waitText(`[data-test="message"][data-seq="1"]`, "Acmeの佐藤です")
	b.waitText(`[data-test="message"][data-seq="1"]`, "edited")
	a.click(`[data-test="message"][data-seq="2"] [data-test="message-delete"]`)
	a.click(test("confirm-ok"))
	b.waitText(`[data-test="message"][data-seq="2"]`, "This message was deleted")
	b.shot("client-room")

	// The members list gives each person's relation with its reason.
	b.click(test("room-members") + " summary")
	b.waitText(test("room-members"), "External (other company)")
	b.waitText(test("room-members"), "acme.example belongs to tenant Acme")

	// Sato's organisation stops talk with other companies: the room
	// stays, read-only with the reason, and the composer is disabled.
	satoToken := e.login(sato, clientPassword)
	e.api(satoToken, "PUT", "/api/v1/tenant/external-policy", map[string]any{"allow_personal": true, "allow_other_tenants": false, "add_contacts": "free"}, nil)
	a.goTo("#/app")
	a.waitVisible(test("room-list"))
	a.click(test("room-item"))
	a.waitText(test("read-only"), "Read-only")
	a.waitFor(`document.querySelector('[data-test="composer-input"]').disabled && document.querySelector('[data-test="composer-send"]').disabled`, "the composer disabled")
	a.waitText(test("messages"), "確認します")
	a.shot("client-room-read-only")

	// The room in Japanese: every text has its translation.
	b.useLanguage("ja")
	b.waitText(test("messages"), "編集済み")
	b.waitText(`[data-test="message"][data-seq="1"]`, "社外")
	b.shot("client-room-ja")
	if keys := b.missingKeys(); len(keys) > 0 {
		t.Errorf("the Japanese room view lacks translations: %v", keys)
	}
}

// TestFiveAccountsInBrowser is check (4) of issue 7: the account switcher
// holds five accounts, each with its unread badge, and refuses a sixth
// with a clear message on the sign-in page.
func TestFiveAccountsInBrowser(t *testing.T) {
	e := newEnv(t)
	boss := e.clientTenant("Acme", "acme.example", "boss", "Boss Acme")
	bossToken := e.login(boss, clientPassword)
	ids := []string{boss}
	for i, name := range []string{"Aoki", "Ueda", "Endo", "Ono", "Kato"} {
		ids = append(ids, e.clientMember(bossToken, fmt.Sprintf("user%d", i+2), "acme.example", name))
	}

	p := e.browser("five")
	p.open("/signin")
	p.clientSignIn(ids[0])
	for _, id := range ids[1:5] {
		p.click(test("account-switcher") + " summary")
		p.click(test("add-account"))
		p.waitHash("/signin")
		p.clientSignIn(id)
	}
	if n := p.count(test("switch-to")); n != 5 {
		t.Fatalf("the switcher holds %d accounts, want 5", n)
	}

	// The boss writes to a room of the four others, outside this browser:
	// every held account but the boss gets an unread badge.
	var room struct{ ID string }
	e.api(bossToken, "POST", "/api/v1/rooms", map[string]any{"name": "Launch", "members": ids[1:5]}, &room)
	e.api(bossToken, "POST", "/api/v1/rooms/"+room.ID+"/messages", map[string]string{"client_msg_id": "launch-1", "body": "明日の会議は10時からです"}, nil)
	e.api(bossToken, "POST", "/api/v1/rooms/"+room.ID+"/messages", map[string]string{"client_msg_id": "launch-2", "body": "資料を共有します"}, nil)
	// The account on screen (the fifth) sees the room in its list; the
	// summary badge counts the other held accounts' unread: 3 × 2.
	p.waitText(test("room-unread"), "2")
	p.waitText(test("account-switcher")+" summary "+test("unread-badge"), "6")
	p.click(test("account-switcher") + " summary")
	p.waitFor(`document.querySelectorAll('[data-test="switch-to"] [data-test="unread-badge"]').length === 4`, "badges on the four accounts with unread messages")
	p.shot("client-switcher")

	// Switching shows that account's rooms; reading the room clears its
	// badge for that account only.
	p.click(fmt.Sprintf(`[data-test="switch-to"][data-account=%q]`, ids[1]))
	p.waitText(test("account-switcher")+" summary", ids[1])
	p.click(test("room-item"))
	p.waitText(test("messages"), "資料を共有します")
	p.waitFor(`!document.querySelector('[data-test="room-unread"]')`, "the room read")
	p.waitText(test("account-switcher")+" summary "+test("unread-badge"), "6")
	p.click(test("account-switcher") + " summary")
	p.waitFor(`document.querySelectorAll('[data-test="switch-to"] [data-test="unread-badge"]').length === 3`, "badges on the three accounts still unread")
	p.shot("client-switcher-menu")

	// A sixth account is refused, with what to do.
	p.click(test("add-account"))
	p.waitHash("/signin")
	p.waitVisible(test("signin-id"))
	p.fill(test("signin-id"), ids[5])
	p.fill(test("signin-password"), clientPassword)
	p.click(test("signin-submit"))
	msg := p.waitText(test("error"), "five accounts")
	if !strings.Contains(msg, "Sign one of them out") {
		t.Errorf("the refusal says %q; it should say what to do", msg)
	}
	p.shot("client-sixth-refused")
	p.goTo("#/app")
	p.waitVisible(test("account-switcher"))
	if n := p.count(test("switch-to")); n != 5 {
		t.Fatalf("after the refusal the switcher holds %d accounts, want 5", n)
	}
}

// TestBoardsAndProfileInBrowser walks groups and boards (a must-read post,
// marking it read, a comment) and the profile.
func TestBoardsAndProfileInBrowser(t *testing.T) {
	e := newEnv(t)
	boss := e.clientTenant("Acme", "acme.example", "boss", "Boss Acme")
	tok := e.login(boss, clientPassword)
	sato := e.clientMember(tok, "sato", "acme.example", "佐藤 花子")
	var g struct{ ID string }
	e.api(tok, "POST", "/api/v1/groups", map[string]any{"name": "営業部", "with_room": true, "with_board": true}, &g)
	e.api(tok, "POST", "/api/v1/groups/"+g.ID+"/members", map[string]any{"members": []string{sato}}, nil)
	var board struct{ ID string }
	e.api(tok, "POST", "/api/v1/boards", map[string]any{"name": "全社連絡", "rules": []map[string]string{{"right": "read", "kind": "tenant"}, {"right": "write", "kind": "tenant"}}}, &board)
	e.api(tok, "POST", "/api/v1/boards/"+board.ID+"/posts", map[string]any{"title": "年末年始の休業について", "body": "12月29日から1月3日まで休業します。", "pinned": true, "must_read": true}, nil)

	p := e.browser("sato")
	p.open("/signin")
	p.clientSignIn(sato)
	p.click(test("client-nav-groups"))
	p.waitText(test("groups"), "営業部")
	p.waitText(test("boards"), "全社連絡")
	p.shot("client-groups")
	p.click(`[data-test="board-link"][data-name="全社連絡"]`)
	p.waitText(test("posts"), "年末年始の休業について")
	p.waitText(test("posts"), "Must read")
	p.shot("client-boards")
	p.click(test("post-mark-read"))
	p.waitText(test("posts"), "Read")
	p.waitFor(`!document.querySelector('[data-test="post-mark-read"]')`, "the post marked read")
	p.click(test("post-link"))
	p.fill(test("comment-body"), "承知しました。")
	p.click(test("comment-submit"))
	p.waitText(test("comments"), "承知しました。")
	p.waitText(test("comments"), "You")
	p.shot("client-post")

	p.click(test("client-nav-profile"))
	p.waitText(test("profile-id"), sato)
	p.waitText(test("profile-tenant"), "Acme")
	p.shot("client-profile")
	p.click(test("change-password"))
	p.waitHash("/password")
}

// TestHistoryScrollBackInBrowser: a long history opens at its newest
// page; scrolling up loads the earlier pages until the start, keeping the
// reader's place.
func TestHistoryScrollBackInBrowser(t *testing.T) {
	e := newEnv(t)
	boss := e.clientTenant("Acme", "acme.example", "boss", "Boss Acme")
	tok := e.login(boss, clientPassword)
	sato := e.clientMember(tok, "sato", "acme.example", "佐藤 花子")
	var room struct{ ID string }
	e.api(tok, "POST", "/api/v1/rooms", map[string]any{"name": "History", "members": []string{sato}}, &room)
	for i := 1; i <= 75; i++ {
		time.Sleep(60 * time.Millisecond) // under the 20 messages a second an account may send
		e.api(tok, "POST", "/api/v1/rooms/"+room.ID+"/messages", map[string]string{"client_msg_id": fmt.Sprintf("h-%d", i), "body": fmt.Sprintf("message number %d", i)}, nil)
	}
	p := e.browser("sato")
	p.open("/signin")
	p.clientSignIn(sato)
	p.waitText(test("room-unread"), "75")
	p.click(test("room-item"))
	p.waitText(test("messages"), "message number 75")
	if n := p.count(test("message")); n >= 75 {
		t.Fatalf("the room opened with %d messages: it should open at the newest page", n)
	}
	if p.count(test("history-start")) != 0 {
		t.Fatal("the start of the history shows before scrolling back")
	}
	for i := 0; i < 10 && p.count(test("history-start")) == 0; i++ {
		p.eval(`document.querySelector(".message-scroll").scrollTop = 0`)
		time.Sleep(300 * time.Millisecond)
	}
	p.waitVisible(test("history-start"))
	if n := p.count(test("message")); n != 75 {
		t.Fatalf("after scrolling back %d messages show, want 75", n)
	}
	p.waitText(`[data-test="message"][data-seq="1"]`, "message number 1")
	// Opening the room read it: the unread badge is gone.
	p.waitFor(`!document.querySelector('[data-test="room-unread"]')`, "the room read")
}
