package httpapi

import (
	"bytes"
	"encoding/csv"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/service"
	"github.com/kizuna-chat/kizuna/sheet"
	"github.com/kizuna-chat/kizuna/store"
)

// sourceAddr is the caller's IP address. Behind a reverse proxy every
// caller shares the proxy's address; see the README's cluster guide.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type clientJSON struct {
	ClientToken string `json:"client_token"`
}

func (s *Server) registerClient(w http.ResponseWriter, r *http.Request) error {
	token, err := s.svc.Auth.RegisterClient(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, clientJSON{ClientToken: token})
	return nil
}

func (s *Server) clientAccounts(w http.ResponseWriter, r *http.Request) error {
	held, err := s.svc.Auth.ClientAccounts(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[service.HeldAccount]{Items: held})
	return nil
}

func (s *Server) signOutClientAccount(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Auth.SignOutClientAccount(r.Context(), r.PathValue("account_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type settingsRequest struct {
	InitialPasswordTTLHours    *int  `json:"initial_password_ttl_hours,omitempty"`
	AllowTypedInitialPasswords *bool `json:"allow_typed_initial_passwords,omitempty"`
	MembersCreateInviteLinks   *bool `json:"members_create_invite_links,omitempty"`
}

func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request) error {
	var req settingsRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := s.svc.Tenants.UpdateSettings(r.Context(), service.SettingsUpdate(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

type reissuedJSON struct {
	Member            personJSON `json:"member"`
	InitialPassword   string     `json:"initial_password"`
	PasswordExpiresAt *time.Time `json:"password_expires_at,omitempty"`
	SheetTicket       string     `json:"sheet_ticket"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type reissueRequest struct {
	SendMail bool `json:"send_mail,omitempty"`
}

func (s *Server) reissuePassword(w http.ResponseWriter, r *http.Request) error {
	var req reissueRequest
	// The body is optional: an empty POST reissues without mail.
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	re, err := s.svc.Members.Reissue(r.Context(), r.PathValue("id"), req.SendMail)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reissuedJSON{Member: toPerson(re.Person), InitialPassword: re.InitialPassword,
		PasswordExpiresAt: optTime(re.PasswordExpiresAt), SheetTicket: re.SheetTicket})
	return nil
}

type sheetRequest struct {
	Ticket    string   `json:"ticket,omitempty"`
	MemberIDs []string `json:"member_ids,omitempty"`
	Format    string   `json:"format,omitempty"`
	Lang      string   `json:"lang,omitempty"`
}

// printSheets answers invitation sheets as a printable HTML page or a PDF.
// The ticket travels in the body, not the URL, so it stays out of logs.
func (s *Server) printSheets(w http.ResponseWriter, r *http.Request) error {
	var req sheetRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	return s.writeSheets(w, r, req)
}

func (s *Server) memberSheet(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return s.writeSheets(w, r, sheetRequest{MemberIDs: []string{r.PathValue("id")}, Format: q.Get("format"), Lang: q.Get("lang")})
}

func (s *Server) writeSheets(w http.ResponseWriter, r *http.Request, req sheetRequest) error {
	if req.Format == "" {
		req.Format = "html"
	}
	if req.Format != "html" && req.Format != "pdf" && req.Format != "csv" {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_format", "The format must be html, pdf or csv.")
	}
	lang := sheetLang(req.Lang, r)
	entries, err := s.svc.Members.Sheets(r.Context(), req.Ticket, req.MemberIDs)
	if err != nil {
		return err
	}
	out := make([]sheet.Entry, len(entries))
	for i, e := range entries {
		out[i] = sheet.Entry{TenantName: e.TenantName, DisplayName: e.DisplayName, SignInID: e.SignInID,
			InitialPassword: e.InitialPassword, SignInURL: e.SignInURL, PasswordExpiresAt: e.PasswordExpiresAt}
	}
	// Render fully before writing, so a failure still answers as JSON.
	var buf bytes.Buffer
	switch req.Format {
	case "csv":
		cw := csv.NewWriter(&buf)
		cw.Write([]string{"sign_in_id", "display_name", "initial_password", "password_expires_at", "sign_in_url"})
		for _, e := range entries {
			exp := ""
			if !e.PasswordExpiresAt.IsZero() {
				exp = e.PasswordExpiresAt.UTC().Format(time.RFC3339)
			}
			cw.Write([]string{e.SignInID, e.DisplayName, e.InitialPassword, exp, e.SignInURL})
		}
		cw.Flush()
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="kizuna-initial-passwords.csv"`)
	case "pdf":
		if err := sheet.PDF(&buf, out, lang); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `inline; filename="kizuna-invitation.pdf"`)
	default:
		if err := sheet.HTML(&buf, out, lang); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	w.Header().Set("Cache-Control", "no-store")
	buf.WriteTo(w)
	return nil
}

// sheetLang picks "ja" or "en": the request's choice, else the browser's.
func sheetLang(asked string, r *http.Request) string {
	if asked == "ja" || asked == "en" {
		return asked
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "ja") {
		return "ja"
	}
	return "en"
}

type inviteLinkRequest struct {
	Domains       []string `json:"domains,omitempty"`
	ValidForHours int      `json:"valid_for_hours,omitempty"`
	MaxUses       int      `json:"max_uses,omitempty"`
}

type inviteLinkJSON struct {
	*kizuna.InviteLink
	Code string `json:"code,omitempty"`
	URL  string `json:"url,omitempty"`
}

func (s *Server) createInviteLink(w http.ResponseWriter, r *http.Request) error {
	var req inviteLinkRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.ValidForHours < 0 || req.ValidForHours > 24*366 {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_invite", "valid_for_hours must be between 1 and 2160.")
	}
	l, err := s.svc.Invites.Create(r.Context(), service.NewInviteLink{Domains: req.Domains,
		ValidFor: time.Duration(req.ValidForHours) * time.Hour, MaxUses: req.MaxUses})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, inviteLinkJSON{InviteLink: l.InviteLink, Code: l.Code, URL: s.publicURL + "/invite#" + l.Code})
	return nil
}

func (s *Server) listInviteLinks(w http.ResponseWriter, r *http.Request) error {
	links, err := s.svc.Invites.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]inviteLinkJSON, len(links))
	for i, l := range links {
		out[i] = inviteLinkJSON{InviteLink: l}
	}
	writeJSON(w, http.StatusOK, listJSON[inviteLinkJSON]{Items: out})
	return nil
}

func (s *Server) revokeInviteLink(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Invites.Revoke(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type inviteInfoJSON struct {
	TenantName string    `json:"tenant_name"`
	Domains    []string  `json:"domains"`
	ExpiresAt  time.Time `json:"expires_at"`
}

func (s *Server) inviteInfo(w http.ResponseWriter, r *http.Request) error {
	info, err := s.svc.Invites.Info(service.WithSourceAddr(r.Context(), sourceAddr(r)), r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inviteInfoJSON(*info))
	return nil
}

type acceptInviteRequest struct {
	Local       string `json:"local"`
	Domain      string `json:"domain"`
	DisplayName string `json:"display_name,omitempty"`
	Password    string `json:"password"`
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	var req acceptInviteRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	si, err := s.svc.Invites.Accept(service.WithSourceAddr(r.Context(), sourceAddr(r)), service.AcceptInvite{Code: r.PathValue("code"), Local: req.Local,
		Domain: req.Domain, DisplayName: req.DisplayName, Password: req.Password})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toSession(si))
	return nil
}

type personalRequest struct {
	Handle      string `json:"handle"`
	DisplayName string `json:"display_name,omitempty"`
	Password    string `json:"password"`
}

func (s *Server) signUpPersonal(w http.ResponseWriter, r *http.Request) error {
	var req personalRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	si, err := s.svc.Invites.SignUpPersonal(r.Context(), service.NewPersonal(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toSession(si))
	return nil
}

func (s *Server) listMail(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	mails, err := s.svc.Mail.List(r.Context(), q.Get("status"), q.Get("before"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[*store.OutgoingMail]{Items: mails})
	return nil
}

func (s *Server) retryMail(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Mail.Retry(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.svc.Audit.List(r.Context(), q.Get("before"), q.Get("action"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[*kizuna.AuditEntry]{Items: page.Items, NextCursor: page.NextCursor})
	return nil
}

func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	// The whole export is built before the first byte, so a refusal
	// (access, format) is still answered as JSON.
	var buf bytes.Buffer
	if err := s.svc.Audit.Export(r.Context(), &buf, format); err != nil {
		return err
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", `attachment; filename="kizuna-audit.`+format+`"`)
	buf.WriteTo(w)
	return nil
}
