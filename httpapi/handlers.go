package httpapi

import (
	"net/http"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/service"
)

// personJSON is how every API response shows a person: who they are and
// how they stand to the viewer, with the reason (R3).
type personJSON struct {
	ID                 string     `json:"id"`
	Kind               string     `json:"kind"`
	SignInID           string     `json:"sign_in_id"`
	Domain             string     `json:"domain,omitempty"`
	DisplayName        string     `json:"display_name"`
	Tenant             *tenantRef `json:"tenant,omitempty"`
	Role               string     `json:"role,omitempty"`
	Status             string     `json:"status,omitempty"`
	MustChangePassword *bool      `json:"must_change_password,omitempty"`
	// ExternalTalk is an internal member's exception to the tenant's
	// external-talk policy: "allow", "deny", or absent (the policy decides).
	ExternalTalk   string `json:"external_talk,omitempty"`
	Relation       string `json:"relation"`
	RelationReason string `json:"relation_reason"`
}

type tenantRef struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// toPerson shows internal people in full and external people with only
// what identifies them: their tenant's name, never its key, role or state.
func toPerson(p service.Person) personJSON {
	out := personJSON{
		ID: p.ID, Kind: string(p.Kind), SignInID: p.Address(), DisplayName: p.DisplayName,
		Relation: string(p.Relation), RelationReason: p.Reason,
	}
	if p.Kind == kizuna.KindMember {
		out.Domain = kizuna.DisplayDomain(p.DomainName)
		out.Tenant = &tenantRef{Name: p.TenantName}
	}
	if p.Relation == kizuna.RelationInternal && out.Tenant != nil {
		out.Tenant.ID = p.TenantID
		out.Role, out.Status = string(p.Role), string(p.Status)
		mc := p.MustChangePassword
		out.MustChangePassword = &mc
		out.ExternalTalk = string(p.ExternalTalk)
	}
	return out
}

func toPeople(ps []service.Person) []personJSON {
	out := make([]personJSON, len(ps))
	for i, p := range ps {
		out[i] = toPerson(p)
	}
	return out
}

type domainJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
	// VerificationRecord is the DNS TXT record that proves control.
	VerificationRecord string     `json:"verification_record"`
	VerifiedAt         *time.Time `json:"verified_at,omitempty"`
	DeletedAt          *time.Time `json:"deleted_at,omitempty"`
	RestorableUntil    *time.Time `json:"restorable_until,omitempty"`
}

func toDomain(d kizuna.Domain) domainJSON {
	return domainJSON{ID: d.ID, Name: d.Name, DisplayName: kizuna.DisplayDomain(d.Name), CreatedAt: d.CreatedAt,
		VerificationRecord: service.VerificationRecord(&d), VerifiedAt: optTime(d.VerifiedAt),
		DeletedAt: optTime(d.DeletedAt), RestorableUntil: optTime(d.PurgeAfter)}
}

func (s *Server) domainDeletionPreview(w http.ResponseWriter, r *http.Request) error {
	imp, err := s.svc.Domains.DeletionPreview(r.Context(), r.PathValue("id"), r.URL.Query().Get("move_to"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, imp)
	return nil
}

type deleteDomainRequest struct {
	Members string `json:"members"`
	MoveTo  string `json:"move_to,omitempty"`
	Confirm string `json:"confirm"`
}

func (s *Server) deleteDomain(w http.ResponseWriter, r *http.Request) error {
	var req deleteDomainRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.svc.Domains.Delete(r.Context(), r.PathValue("id"), service.DeleteDomainInput(req)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) restoreDomain(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.Domains.Restore(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDomain(*d))
	return nil
}

func (s *Server) deletedDomains(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.svc.Domains.Deleted(r.Context())
	if err != nil {
		return err
	}
	out := make([]domainJSON, len(ds))
	for i, d := range ds {
		out[i] = toDomain(d)
	}
	writeJSON(w, http.StatusOK, listJSON[domainJSON]{Items: out})
	return nil
}

type transferRequest struct {
	// ToTenantOf names the receiving tenant by one of its domains.
	ToTenantOf string `json:"to_tenant_of"`
}

type transferOfferJSON struct {
	Transfer *kizuna.DomainTransfer `json:"transfer"`
	Impact   *kizuna.DomainImpact   `json:"impact"`
	Summary  []string               `json:"summary"`
}

func (s *Server) offerTransfer(w http.ResponseWriter, r *http.Request) error {
	var req transferRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	o, err := s.svc.Domains.OfferTransfer(r.Context(), r.PathValue("id"), req.ToTenantOf)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, transferOfferJSON{Transfer: o.Transfer, Impact: o.Impact, Summary: o.Summary})
	return nil
}

func (s *Server) listTransfers(w http.ResponseWriter, r *http.Request) error {
	xs, err := s.svc.Domains.Transfers(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[*kizuna.DomainTransfer]{Items: xs})
	return nil
}

func (s *Server) acceptTransfer(w http.ResponseWriter, r *http.Request) error {
	x, err := s.svc.Domains.AcceptTransfer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x)
	return nil
}

func (s *Server) cancelTransfer(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Domains.CancelTransfer(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) verifyDomain(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.Domains.Verify(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDomain(*d))
	return nil
}

// newTenantRequest creates a tenant with its first domain and owner.
type newTenantRequest struct {
	SetupToken       string `json:"setup_token,omitempty"`
	TenantName       string `json:"tenant_name"`
	Domain           string `json:"domain"`
	OwnerLocal       string `json:"owner_local"`
	OwnerDisplayName string `json:"owner_display_name,omitempty"`
	OwnerPassword    string `json:"owner_password,omitempty"`
}

type createdTenantJSON struct {
	Tenant          *kizuna.Tenant `json:"tenant"`
	Domain          domainJSON     `json:"domain"`
	Owner           personJSON     `json:"owner"`
	InitialPassword string         `json:"initial_password,omitempty"`
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request, setup bool) error {
	var req newTenantRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	in := service.NewTenant{TenantName: req.TenantName, Domain: req.Domain, OwnerLocal: req.OwnerLocal,
		OwnerDisplayName: req.OwnerDisplayName, OwnerPassword: req.OwnerPassword}
	var created *service.CreatedTenant
	var err error
	if setup {
		created, err = s.svc.Tenants.Setup(r.Context(), req.SetupToken, in)
	} else {
		created, err = s.svc.Tenants.SignUp(r.Context(), in)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, createdTenantJSON{Tenant: created.Tenant, Domain: toDomain(*created.Domain),
		Owner: toPerson(created.Owner), InitialPassword: created.GeneratedPassword})
	return nil
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) error {
	return s.createTenant(w, r, true)
}
func (s *Server) signUp(w http.ResponseWriter, r *http.Request) error {
	return s.createTenant(w, r, false)
}

type loginRequest struct {
	ID          string `json:"id"`
	Password    string `json:"password"`
	ClientToken string `json:"client_token,omitempty"`
}

type sessionJSON struct {
	Token                  string     `json:"token"`
	ExpiresAt              time.Time  `json:"expires_at"`
	PasswordChangeRequired bool       `json:"password_change_required"`
	Account                personJSON `json:"account"`
}

func toSession(si *service.SignedIn) sessionJSON {
	return sessionJSON{Token: si.Token, ExpiresAt: si.Session.ExpiresAt,
		PasswordChangeRequired: si.Session.PasswordChangeOnly, Account: toPerson(si.Person)}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	si, err := s.svc.Auth.Login(r.Context(), service.LoginInput{ID: req.ID, Password: req.Password,
		ClientToken: req.ClientToken, SourceAddr: sourceAddr(r)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSession(si))
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Auth.Logout(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type meJSON struct {
	Account                personJSON `json:"account"`
	PasswordChangeRequired bool       `json:"password_change_required"`
	SessionExpiresAt       time.Time  `json:"session_expires_at"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p, sess, err := s.svc.Auth.Me(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, meJSON{Account: toPerson(*p), PasswordChangeRequired: sess.PasswordChangeOnly, SessionExpiresAt: sess.ExpiresAt})
	return nil
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req changePasswordRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	si, err := s.svc.Auth.ChangePassword(r.Context(), req.CurrentPassword, req.NewPassword)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSession(si))
	return nil
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := s.svc.Tenants.Current(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

type renameTenantRequest struct {
	Name string `json:"name"`
}

func (s *Server) renameTenant(w http.ResponseWriter, r *http.Request) error {
	var req renameTenantRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := s.svc.Tenants.Rename(r.Context(), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

type listJSON[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.svc.Domains.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]domainJSON, len(ds))
	for i, d := range ds {
		out[i] = toDomain(d)
	}
	writeJSON(w, http.StatusOK, listJSON[domainJSON]{Items: out})
	return nil
}

type addDomainRequest struct {
	Name string `json:"name"`
}

func (s *Server) addDomain(w http.ResponseWriter, r *http.Request) error {
	var req addDomainRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	d, err := s.svc.Domains.Add(r.Context(), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toDomain(*d))
	return nil
}

type renameDomainRequest struct {
	Name string `json:"name"`
}

func (s *Server) renameDomain(w http.ResponseWriter, r *http.Request) error {
	var req renameDomainRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	d, err := s.svc.Domains.Rename(r.Context(), r.PathValue("id"), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDomain(*d))
	return nil
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	page, err := s.svc.Members.List(r.Context(), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[personJSON]{Items: toPeople(page.Items), NextCursor: page.NextCursor})
	return nil
}

type addMemberRequest struct {
	Local          string `json:"local"`
	Domain         string `json:"domain"`
	DisplayName    string `json:"display_name,omitempty"`
	Role           string `json:"role,omitempty"`
	Password       string `json:"password,omitempty"`
	ContactMail    string `json:"contact_mail,omitempty"`
	SendInvitation bool   `json:"send_invitation,omitempty"`
}

type addedMemberJSON struct {
	Member            personJSON `json:"member"`
	InitialPassword   string     `json:"initial_password,omitempty"`
	PasswordExpiresAt *time.Time `json:"password_expires_at,omitempty"`
	SheetTicket       string     `json:"sheet_ticket,omitempty"`
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	var req addMemberRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	m, err := s.svc.Members.Add(r.Context(), service.NewMember{Local: req.Local, Domain: req.Domain,
		DisplayName: req.DisplayName, Role: kizuna.Role(req.Role), Password: req.Password, ContactMail: req.ContactMail, SendInvitation: req.SendInvitation})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, addedMemberJSON{Member: toPerson(m.Person), InitialPassword: m.InitialPassword,
		PasswordExpiresAt: optTime(m.PasswordExpiresAt), SheetTicket: m.SheetTicket})
	return nil
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Members.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPerson(*p))
	return nil
}

type updateMemberRequest struct {
	DisplayName *string `json:"display_name,omitempty"`
	Role        *string `json:"role,omitempty"`
}

func (s *Server) updateMember(w http.ResponseWriter, r *http.Request) error {
	var req updateMemberRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	var u service.MemberUpdate
	u.DisplayName = req.DisplayName
	if req.Role != nil {
		role := kizuna.Role(*req.Role)
		u.Role = &role
	}
	p, err := s.svc.Members.Update(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPerson(*p))
	return nil
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Members.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) suspendMember(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Members.Suspend(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPerson(*p))
	return nil
}

func (s *Server) restoreMember(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Members.Restore(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPerson(*p))
	return nil
}

func (s *Server) lookupPerson(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("id")
	if id == "" {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_query", "Give the ID to look up as ?id=name@domain.")
	}
	p, err := s.svc.Members.Lookup(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPerson(*p))
	return nil
}
