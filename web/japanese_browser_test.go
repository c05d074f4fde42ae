package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-chat/kizuna/service"
)

// TestJapaneseScreens is the browser half of "the Japanese UI renders
// without missing translation keys": in Japanese, it goes through first-run
// setup and the forced password change, then opens every screen the page
// registers (rooms, a room, contacts, boards, every admin screen…), and
// fails listing each catalogue key a screen asked for that Japanese lacks.
// It also fails on English left on a Japanese screen's headings.
func TestJapaneseScreens(t *testing.T) {
	e := newEnv(t)
	p := e.browser("ja")
	p.open("/setup?token=" + e.setupToken())
	p.useLanguage("ja")
	p.waitText("h1", "セットアップ")
	p.fill(test("setup-tenant"), "株式会社アクメ")
	p.fill(test("setup-domain"), "acme.example")
	p.fill(test("setup-owner"), "boss")
	p.fill(test("setup-owner-name"), "山田 太郎")
	p.click(test("setup-submit"))
	initial := p.text(test("setup-initial-password"))
	p.shot("ja-setup-done")
	p.click(test("setup-continue"))
	p.waitHash("/password")
	p.waitText("h1", "パスワード")
	p.fill(test("password-current"), initial)
	p.fill(test("password-new"), "とても長い新しいパスフレーズ")
	p.fill(test("password-repeat"), "とても長い新しいパスフレーズ")
	p.click(test("password-submit"))
	p.waitHash("/app")

	// Something on every screen: a partner tenant, a member, a direct
	// room with messages, a group with a room and a board with a post.
	ctx := context.Background()
	if _, err := e.svc.Tenants.Create(ctx, service.NewTenant{TenantName: "Partner Co", Domain: "partner.example", OwnerLocal: "tanaka", OwnerPassword: "partner passphrase 1"}); err != nil {
		t.Fatal(err)
	}
	boss := e.login("boss@acme.example", "とても長い新しいパスフレーズ")
	call := func(method, path, body string) map[string]any {
		var in any
		if body != "" {
			in = json.RawMessage(body)
		}
		out := map[string]any{}
		e.api(boss, method, path, in, &out)
		return out
	}
	call("POST", "/api/v1/members", `{"local":"sato","domain":"acme.example","display_name":"佐藤 花子","password":"a member passphrase"}`)
	room := call("POST", "/api/v1/rooms/direct", `{"with":"sato@acme.example"}`)
	roomID, _ := room["id"].(string)
	call("POST", "/api/v1/rooms/"+roomID+"/messages", `{"client_msg_id":"ja-1","body":"お疲れさまです。資料を共有します。"}`)
	group := call("POST", "/api/v1/groups", `{"name":"営業部","with_room":true,"with_board":true}`)
	groupID, _ := group["id"].(string)
	boards := call("GET", "/api/v1/boards", "")
	boardID := ""
	if items, _ := boards["items"].([]any); len(items) > 0 {
		boardID, _ = items[0].(map[string]any)["id"].(string)
	}
	postID := ""
	if boardID != "" {
		post := call("POST", "/api/v1/boards/"+boardID+"/posts", `{"title":"週報","body":"今週の予定です。"}`)
		postID, _ = post["id"].(string)
	}
	me := call("GET", "/api/v1/me", "")
	bossID, _ := me["account"].(map[string]any)["id"].(string)
	domains := call("GET", "/api/v1/domains", "")
	domainID := ""
	if items, _ := domains["items"].([]any); len(items) > 0 {
		domainID, _ = items[0].(map[string]any)["id"].(string)
	}
	// A route parameter is filled from the word before it.
	values := map[string]string{"rooms": roomID, "groups": groupID, "boards": boardID, "posts": postID,
		"members": bossID, "domains": domainID, "accounts": bossID}

	routes, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`window.kizunaRoutes`))
	if err != nil || len(routes) < 5 {
		t.Fatalf("registered routes: %v %v", routes, err)
	}
	param := regexp.MustCompile(`([a-z_-]+)/:(\w+)`)
	visited, missing := 0, map[string][]string{}
	for _, pattern := range routes {
		if pattern == "/" || pattern == "/setup" {
			continue
		}
		path, ok := pattern, true
		path = param.ReplaceAllStringFunc(path, func(m string) string {
			word := param.FindStringSubmatch(m)[1]
			v := values[word]
			if v == "" {
				ok = false
			}
			return word + "/" + v
		})
		if !ok || strings.Contains(path, ":") {
			t.Logf("not visited (no value for its parameters): %s", pattern)
			continue
		}
		p.goTo(path)
		p.waitFor(fmt.Sprintf(`location.hash.startsWith(%q)`, "#"+path), "route "+path)
		// Let the screen load what it shows.
		p.waitFor(`!document.querySelector('main .loading')`, "loading on "+path)
		p.do(chromedp.Sleep(200 * time.Millisecond))
		for _, k := range p.missingKeys() {
			missing[k] = append(missing[k], pattern)
		}
		visited++
		heading := strings.TrimSpace(p.text("h1"))
		if regexp.MustCompile(`^[A-Za-z ]+$`).MatchString(heading) {
			t.Errorf("%s: the heading %q is English on a Japanese screen", pattern, heading)
		}
		if pattern == "/app" {
			p.shot("ja-client")
		}
		if pattern == "/admin" || pattern == "/admin/members" {
			p.shot("ja-admin")
		}
	}
	if visited < 5 {
		t.Fatalf("visited only %d screens of %v", visited, routes)
	}
	if len(missing) > 0 {
		var lines []string
		for k, on := range missing {
			lines = append(lines, fmt.Sprintf("%s (on %s)", k, strings.Join(slices.Compact(on), ", ")))
		}
		slices.Sort(lines)
		t.Errorf("%d keys have no Japanese text:\n  %s", len(lines), strings.Join(lines, "\n  "))
	}
	t.Logf("visited %d screens in Japanese", visited)
}
