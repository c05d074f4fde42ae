package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/service"
)

// Cookies of the browser session. The session tokens and the client token
// are HttpOnly: page script never sees a credential. The CSRF token is
// HttpOnly too; the page learns it from GET /web/session and echoes it in
// X-CSRF-Token (double submit: another site can neither read the cookie
// nor set the header).
const (
	cookieSessions = "kz_sessions"
	cookieClient   = "kz_client"
	cookieCSRF     = "kz_csrf"
	headerCSRF     = "X-CSRF-Token"
	// headerAccount picks which held account an API call acts as.
	headerAccount = "X-Kizuna-Account"
	// queryAccount does the same for GET requests a page cannot decorate
	// with headers: the event stream's WebSocket and downloads.
	queryAccount = "as"
	// cookieLifetime outlives any session; the server decides validity.
	cookieLifetime = 90 * 24 * time.Hour
	// maxHeld bounds the jar; the client holds at most five accounts, and
	// the jar may briefly keep one more whose session ended.
	maxHeld = 8
)

// heldToken is one account's session in the jar.
type heldToken struct {
	AccountID string `json:"a"`
	Token     string `json:"t"`
}

func readJar(r *http.Request) []heldToken {
	c, err := r.Cookie(cookieSessions)
	if err != nil {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	var jar []heldToken
	if json.Unmarshal(raw, &jar) != nil || len(jar) > maxHeld {
		return nil
	}
	return jar
}

func (h *Handler) writeJar(w http.ResponseWriter, r *http.Request, jar []heldToken) {
	if len(jar) == 0 {
		h.setCookie(w, r, cookieSessions, "", -1)
		return
	}
	raw, _ := json.Marshal(jar)
	h.setCookie(w, r, cookieSessions, base64.RawURLEncoding.EncodeToString(raw), cookieLifetime)
}

// setCookie sets an HttpOnly, SameSite=Strict cookie for the whole site;
// Secure when the server is reached over TLS. A negative lifetime deletes.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, lifetime time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: h.secure || r.TLS != nil}
	if lifetime < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(lifetime.Seconds())
	}
	http.SetCookie(w, c)
}

// csrfToken returns the browser's CSRF token, issuing one when it has none.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(cookieCSRF); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	h.setCookie(w, r, cookieCSRF, token, cookieLifetime)
	return token
}

var errCSRF = kizuna.Errorf(kizuna.ErrForbidden, "csrf_failed", "This request did not come from a Kizuna page; reload the page and try again.")

// checkCSRF guards a state-changing request that a cookie authenticates:
// the X-CSRF-Token header must match the cookie, and an Origin header, when
// the browser sends one, must be this site.
func checkCSRF(r *http.Request) error {
	if !sameOrigin(r) {
		return errCSRF
	}
	c, err := r.Cookie(cookieCSRF)
	got := r.Header.Get(headerCSRF)
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) != 1 {
		return errCSRF
	}
	return nil
}

// sameOrigin reports whether the request's Origin, if any, is this host.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// webAccount is a held account as the page sees it.
type webAccount struct {
	AccountID              string `json:"account_id"`
	SignInID               string `json:"sign_in_id"`
	DisplayName            string `json:"display_name"`
	TenantName             string `json:"tenant_name,omitempty"`
	Kind                   string `json:"kind"`
	Role                   string `json:"role"`
	PasswordChangeRequired bool   `json:"password_change_required"`
}

func toWebAccount(a *kizuna.Account, changeOnly bool) webAccount {
	return webAccount{AccountID: a.ID, SignInID: a.Address(), DisplayName: a.DisplayName, TenantName: a.TenantName,
		Kind: string(a.Kind), Role: string(a.Role), PasswordChangeRequired: changeOnly}
}

type sessionState struct {
	Accounts  []webAccount `json:"accounts"`
	CSRFToken string       `json:"csrf_token"`
}

// session answers the accounts this browser holds, dropping those whose
// session has ended, and the CSRF token the page must echo.
func (h *Handler) session(w http.ResponseWriter, r *http.Request) error {
	jar := readJar(r)
	st := sessionState{Accounts: []webAccount{}, CSRFToken: h.csrfToken(w, r)}
	kept := jar[:0:0]
	for _, held := range jar {
		a, err := h.auth.Authenticate(r.Context(), held.Token)
		if kizuna.ErrorCode(err) == "invalid_session" {
			continue
		}
		if err != nil {
			return err
		}
		kept = append(kept, held)
		st.Accounts = append(st.Accounts, toWebAccount(a.Account, a.Session.PasswordChangeOnly))
	}
	if len(kept) != len(jar) {
		h.writeJar(w, r, kept)
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

type signInRequest struct {
	ID       string `json:"id"`
	Password string `json:"password"`
}

// signIn adds an account to this browser's client (at most five, R4/R12).
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) error {
	var req signInRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	client, err := h.clientToken(w, r, false)
	if err != nil {
		return err
	}
	in := service.LoginInput{ID: req.ID, Password: req.Password, ClientToken: client, SourceAddr: httpapi.SourceAddr(r)}
	si, err := h.auth.Login(r.Context(), in)
	if kizuna.ErrorCode(err) == "invalid_client" {
		// The client was purged (or the cookie is from another server):
		// start a new one.
		if in.ClientToken, err = h.clientToken(w, r, true); err != nil {
			return err
		}
		si, err = h.auth.Login(r.Context(), in)
	}
	if err != nil {
		return err
	}
	jar := slices.DeleteFunc(readJar(r), func(t heldToken) bool { return t.AccountID == si.Person.ID })
	jar = append(jar, heldToken{AccountID: si.Person.ID, Token: si.Token})
	if len(jar) > maxHeld {
		jar = jar[len(jar)-maxHeld:]
	}
	h.writeJar(w, r, jar)
	httpapi.WriteJSON(w, http.StatusOK, toWebAccount(si.Person.Account, si.Session.PasswordChangeOnly))
	return nil
}

// clientToken returns the browser's client token, registering a client
// when it has none (or fresh is asked for).
func (h *Handler) clientToken(w http.ResponseWriter, r *http.Request, fresh bool) (string, error) {
	if c, err := r.Cookie(cookieClient); err == nil && c.Value != "" && !fresh {
		return c.Value, nil
	}
	token, err := h.auth.RegisterClient(r.Context())
	if err != nil {
		return "", err
	}
	h.setCookie(w, r, cookieClient, token, cookieLifetime)
	return token, nil
}

// heldActor resolves the jar's session of the account named in the path.
func (h *Handler) heldActor(r *http.Request) (*kizuna.Actor, []heldToken, error) {
	jar := readJar(r)
	id := r.PathValue("account_id")
	for _, held := range jar {
		if held.AccountID == id {
			a, err := h.auth.Authenticate(r.Context(), held.Token)
			return a, jar, err
		}
	}
	return nil, jar, errNotHeld
}

var errNotHeld = kizuna.Errorf(kizuna.ErrUnauthorized, "account_not_held", "This account is not signed in on this browser.")

// signOut ends one account's session and forgets it; the others stay.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) error {
	a, jar, err := h.heldActor(r)
	if err == nil {
		err = h.auth.Logout(kizuna.WithActor(r.Context(), a))
	}
	if err != nil && err != errNotHeld && kizuna.ErrorCode(err) != "invalid_session" {
		return err
	}
	id := r.PathValue("account_id")
	h.writeJar(w, r, slices.DeleteFunc(jar, func(t heldToken) bool { return t.AccountID == id }))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword sets a held account's password. Every session of the
// account ends (R6), so the jar takes the fresh one.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req passwordRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	a, jar, err := h.heldActor(r)
	if err != nil {
		return err
	}
	si, err := h.auth.ChangePassword(kizuna.WithActor(r.Context(), a), req.CurrentPassword, req.NewPassword)
	if err != nil {
		return err
	}
	for i := range jar {
		if jar[i].AccountID == a.Account.ID {
			jar[i].Token = si.Token
		}
	}
	h.writeJar(w, r, jar)
	httpapi.WriteJSON(w, http.StatusOK, toWebAccount(si.Person.Account, si.Session.PasswordChangeOnly))
	return nil
}

// bridge lets the page call the JSON API with its cookies: it checks CSRF,
// picks the held account the request names and hands the API that
// account's bearer token. Requests that bring their own Authorization (API
// clients, the load generator) pass untouched.
func (h *Handler) bridge(w http.ResponseWriter, r *http.Request) {
	jar := readJar(r)
	if r.Header.Get("Authorization") != "" || r.URL.Query().Has("access_token") || len(jar) == 0 {
		h.api.ServeHTTP(w, r)
		return
	}
	ws := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	if ws && !sameOrigin(r) || !ws && !safeMethod(r.Method) && checkCSRF(r) != nil {
		httpapi.WriteError(w, r, h.log, errCSRF)
		return
	}
	want := r.Header.Get(headerAccount)
	if want == "" && safeMethod(r.Method) {
		want = r.URL.Query().Get(queryAccount)
	}
	token := ""
	for _, held := range jar {
		if want == "" || held.AccountID == want {
			token = held.Token
			break
		}
	}
	if token == "" {
		httpapi.WriteError(w, r, h.log, errNotHeld)
		return
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+token)
	h.api.ServeHTTP(w, r2)
}
