package web_test

import (
	"testing"
)

// TestFirstRunInBrowser: the setup URL printed by kizuna serve creates the
// first tenant; its owner, given a generated initial password, is made to
// choose a new one before reaching the client.
func TestFirstRunInBrowser(t *testing.T) {
	e := newEnv(t)
	p := e.browser("owner")
	p.open("/setup?token=" + e.setupToken())
	p.waitVisible(test("setup-tenant"))
	p.shot("setup")
	p.fill(test("setup-tenant"), "Acme")
	p.fill(test("setup-domain"), "acme.example")
	p.fill(test("setup-owner"), "boss")
	p.fill(test("setup-owner-name"), "Boss Acme")
	p.click(test("setup-submit"))
	initial := p.text(test("setup-initial-password"))
	if len(initial) < 12 {
		t.Fatalf("initial password %q", initial)
	}
	p.click(test("setup-continue"))
	p.waitHash("/password")
	p.waitText("main", "boss@acme.example")
	p.shot("password-forced")

	// A wrong initial password is refused in place; the right one, with
	// a new password, leads into the client.
	p.fill(test("password-current"), "not the initial one")
	p.fill(test("password-new"), "a long enough new passphrase")
	p.fill(test("password-repeat"), "a long enough new passphrase")
	p.click(test("password-submit"))
	p.waitText(test("error"), "wrong")
	p.fill(test("password-current"), initial)
	p.click(test("password-submit"))
	p.waitHash("/app")
	p.waitVisible(test("account-switcher"))
}
