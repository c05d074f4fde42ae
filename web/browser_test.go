package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/service"
	"github.com/kizuna-chat/kizuna/sqlstore"
	"github.com/kizuna-chat/kizuna/web"
)

// The browser tests drive Debian's Chromium through chromedp against a
// real server (API, web handler, SQLite store) on a loopback port. They
// skip with a message when Chromium is missing locally; under CI they fail
// instead (.ci/run installs it).

// fastHash keeps argon2id cheap in tests; production uses password.OWASP.
var fastHash = password.Params{MemoryKiB: 64, Time: 1, Threads: 1}

// screenshotDir is where the tests write screenshots of the main screens
// (the README shows some): KIZUNA_SCREENSHOTS, else docs/screenshots.
func screenshotDir() string {
	if d := os.Getenv("KIZUNA_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join("..", "docs", "screenshots")
}

// env is a running Kizuna for one browser test.
type env struct {
	t     *testing.T
	URL   string
	svc   *service.Services
	store *sqlstore.DB
}

func newEnv(t *testing.T) *env {
	t.Helper()
	browserPath(t)
	st := testdb.SQLite(t)
	srv := httptest.NewUnstartedServer(nil)
	url := "http://" + srv.Listener.Addr().String()
	log := slog.New(slog.DiscardHandler)
	svc := service.New(st, password.NewHasher(fastHash, 0), service.Config{SignInURL: url + "/"}, log)
	api := httpapi.New(svc, log, url, st)
	srv.Config.Handler = web.New(api, svc.Auth, log, url)
	srv.Start()
	t.Cleanup(func() {
		api.CloseStreams()
		srv.Close()
		svc.Close()
	})
	return &env{t: t, URL: url, svc: svc, store: st}
}

// setupToken returns the first-run setup token of the empty store.
func (e *env) setupToken() string {
	tok, err := e.svc.Tenants.SetupToken(context.Background())
	if err != nil || tok == "" {
		e.t.Fatalf("setup token: %q %v", tok, err)
	}
	return tok
}

var chromiumOnce struct {
	sync.Once
	path string
}

// browserPath finds Chromium or skips (fails under CI).
func browserPath(t *testing.T) string {
	t.Helper()
	chromiumOnce.Do(func() {
		for _, p := range []string{os.Getenv("KIZUNA_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
			if p == "" {
				continue
			}
			if _, err := exec.LookPath(p); err == nil {
				chromiumOnce.path = p
				return
			}
		}
	})
	if chromiumOnce.path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("Chromium is not installed; .ci/run installs it with apt-get install -y chromium")
		}
		t.Skip("Chromium is not installed: skipping the browser tests (apt-get install -y chromium)")
	}
	return chromiumOnce.path
}

// page is one browser profile (its own cookies and storage) on env.
type page struct {
	t    *testing.T
	env  *env
	ctx  context.Context
	name string
}

// browser starts a Chromium of its own for one person: separate cookies,
// storage and event stream, as two people on two machines.
func (e *env) browser(name string) *page {
	e.t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browserPath(e.t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(e.t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"), chromedp.WindowSize(1280, 800),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	e.t.Cleanup(func() { cancel(); cancelAlloc() })
	// The browser lives as long as the context of its first action: start
	// it on ctx itself, not on a timed child.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		e.t.Fatalf("starting Chromium for %s: %v", name, err)
	}
	p := &page{t: e.t, env: e, ctx: ctx, name: name}
	return p
}

// do runs actions with a time limit, failing the test with the page's
// name and the current screen on error.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail(err)
	}
}

func (p *page) fail(err error) {
	p.t.Helper()
	body, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`location.hash + "\n" + document.body.innerText.slice(0, 3000)`))
	p.t.Fatalf("%s: %v\nscreen:\n%s", p.name, err, body)
}

// open loads the app at a hash route ("/signin").
func (p *page) open(hash string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.env.URL + "/#" + hash))
}

// goTo switches to a hash route within the loaded app.
func (p *page) goTo(hash string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`location.hash = %q`, hash))
}

// useLanguage picks the UI language as the language menu does.
func (p *page) useLanguage(lang string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`localStorage.setItem("kizuna.lang", %q)`, lang))
	p.do(chromedp.Reload())
}

func sel(s string) chromedp.CSS { return chromedp.CSS(s) }

// test is the selector of the element marked data-test=name.
func test(name string) string { return `[data-test="` + name + `"]` }

func (p *page) fill(selector, value string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(sel(selector)))
	p.eval(fmt.Sprintf(`document.querySelector(%q).value = ""`, selector))
	p.do(chromedp.SendKeys(sel(selector), value))
}

// click waits for the element and clicks it. When the app re-renders in
// between (the account switcher does as a signed-in account's data
// arrives), chromedp is left holding a node that is gone ("Could not find
// node with given id"): the click is then tried again on the element now
// on the page, until the usual timeout.
func (p *page) click(selector string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	for {
		err := chromedp.Do(ctx, chromedp.WaitVisible(sel(selector)), chromedp.Click(sel(selector)))
		if err == nil {
			return
		}
		if ctx.Err() != nil || !strings.Contains(err.Error(), "Could not find node with given id") {
			p.fail(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *page) waitVisible(selector string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(sel(selector)))
}

func (p *page) text(selector string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel(selector), chromedp.NodeVisible))
	if err != nil {
		p.fail(err)
	}
	return s
}

// waitText waits until the element's text holds want.
func (p *page) waitText(selector, want string) string {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? el.innerText : "" })()`, selector)))
		cancel()
		if err == nil {
			last = s
			if strings.Contains(s, want) {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.fail(fmt.Errorf("waiting for %q in %s; it shows %q", want, selector, last))
	return ""
}

// waitHash waits until the route is want (prefix match).
func (p *page) waitHash(want string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf(`location.hash.startsWith(%q)`, "#"+want), "route "+want)
}

// waitFor polls a JavaScript condition.
func (p *page) waitFor(cond, what string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond)); err != nil {
		p.fail(fmt.Errorf("waiting for %s: %w", what, err))
	}
}

// eval runs a JavaScript expression for its effect.
func (p *page) eval(js string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("("+js+", true)")); err != nil {
		p.fail(err)
	}
}

// missingKeys lists the catalogue keys the page asked for and its language
// lacks.
func (p *page) missingKeys() []string {
	p.t.Helper()
	keys, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`Array.from(window.kizunaMissingKeys || []).sort()`))
	if err != nil {
		p.fail(err)
	}
	return keys
}

// shot writes the screen at desktop and phone widths:
// <dir>/<name>-desktop.png and <name>-phone.png.
func (p *page) shot(name string) {
	p.t.Helper()
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	for _, size := range []struct {
		suffix string
		w, h   int64
		mobile bool
	}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}} {
		emulate := []chromedp.EmulateViewportOption{}
		if size.mobile {
			emulate = append(emulate, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		p.do(chromedp.EmulateViewport(size.w, size.h, emulate...), chromedp.Sleep(150*time.Millisecond))
		ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			p.fail(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+size.suffix+".png"), png, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	p.do(chromedp.EmulateViewport(1280, 800))
}

// api calls the JSON API with a bearer token (outside any browser)
// and decodes the answer into out.
func (e *env) api(token, method, path string, body, out any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

// login signs in over the API and returns the session token.
func (e *env) login(id, password string) string {
	e.t.Helper()
	var s struct{ Token string }
	e.api("", "POST", "/api/v1/login", map[string]string{"id": id, "password": password}, &s)
	return s.Token
}
