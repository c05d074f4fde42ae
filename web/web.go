// Package web serves Kizuna's browser client and admin console: the page,
// its scripts, styles and message catalogues embedded in the binary, and
// the cookie session that lets a browser use the JSON API without ever
// holding a token in script. Everything else goes to the API untouched.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/service"
)

//go:embed assets
var embedded embed.FS

// Assets is the embedded page: index.html, js/, css/, i18n/.
func Assets() fs.FS {
	sub, _ := fs.Sub(embedded, "assets")
	return sub
}

// contentSecurityPolicy allows nothing inline but styles (invitation sheets
// printed from the console carry their own style sheet) and nothing from
// other origins.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; connect-src 'self'; frame-src 'self' blob:; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the web client in front of the API.
type Handler struct {
	api    http.Handler
	auth   *service.AuthService
	log    *slog.Logger
	secure bool
	mux    *http.ServeMux
	files  map[string]asset
}

type asset struct {
	body []byte
	etag string
	mime string
}

// New returns the web handler in front of api. publicURL decides whether
// cookies are marked Secure (an https address), besides requests that
// arrive over TLS themselves.
func New(api http.Handler, auth *service.AuthService, log *slog.Logger, publicURL string) *Handler {
	h := &Handler{api: api, auth: auth, log: log, secure: strings.HasPrefix(publicURL, "https://"),
		mux: http.NewServeMux(), files: map[string]asset{}}
	fs.WalkDir(Assets(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(Assets(), p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		typ := mime.TypeByExtension(path.Ext(p))
		if typ == "" {
			typ = "application/octet-stream"
		}
		h.files["/"+p] = asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, mime: typ}
		return nil
	})
	h.mux.HandleFunc("GET /{$}", h.page)
	h.mux.HandleFunc("GET /assets/", h.static)
	h.mux.Handle("GET /web/session", h.route(h.session, false))
	h.mux.Handle("POST /web/session", h.route(h.signIn, true))
	h.mux.Handle("DELETE /web/session/{account_id}", h.route(h.signOut, true))
	h.mux.Handle("POST /web/session/{account_id}/password", h.route(h.changePassword, true))
	h.mux.HandleFunc("/", h.bridge)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.mux.ServeHTTP(w, r)
}

// route adapts a web session handler: security headers, CSRF for state
// changes, and the API's error answers.
func (h *Handler) route(fn func(http.ResponseWriter, *http.Request) error, changes bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		var err error
		if changes {
			err = checkCSRF(r)
		}
		if err == nil {
			err = fn(w, r)
		}
		if err != nil {
			httpapi.WriteError(w, r, h.log, err)
		}
	})
}

// page serves index.html, issuing the CSRF cookie on the way.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	h.csrfToken(w, r)
	h.serveAsset(w, r, "/index.html")
}

func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	h.serveAsset(w, r, "/"+strings.TrimPrefix(r.URL.Path, "/assets/"))
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := h.files[name]
	if !ok || name == "/index.html" && r.URL.Path != "/" {
		h.api.ServeHTTP(w, r) // the API's own 404
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Type", a.mime)
	hd.Set("ETag", a.etag)
	// Revalidate every time: a new binary brings new assets under the
	// same names, and a 304 costs next to nothing.
	hd.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
