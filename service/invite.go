package service

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/password"
)

// InviteService manages invite links (R8) and personal sign-up.
type InviteService struct{ *deps }

// Invite link limits.
const (
	MaxInviteLinkUses = 10000
	MaxInviteLinkTTL  = 90 * 24 * time.Hour
)

// NewInviteLink is the input for creating an invite link.
type NewInviteLink struct {
	Domains  []string // names of the tenant's domains; empty: all of them
	ValidFor time.Duration
	MaxUses  int
}

// CreatedInviteLink is a link and its code, shown once.
type CreatedInviteLink struct {
	*kizuna.InviteLink
	Code string
}

// Create makes an invite link for the actor's tenant: admins always,
// members when the tenant allows it. Errors: forbidden
// "invite_links_admin_only"; invalid "invalid_invite"; not_found
// "domain_not_found".
func (s *InviteService) Create(ctx context.Context, in NewInviteLink) (*CreatedInviteLink, error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, err
	}
	tenant, err := s.store.Tenant(ctx, actor.Account.TenantID)
	if err != nil {
		return nil, err
	}
	if !actor.Account.Role.IsAdmin() && !tenant.Settings.MembersCreateInviteLinks {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "invite_links_admin_only", "In this tenant only admins create invite links.")
	}
	if err := s.restrictedFrom(ctx, actor.Account, func(r kizuna.Restrictions) bool { return r.NoInviteLinks }, "create invite links"); err != nil {
		return nil, err
	}
	if in.ValidFor <= 0 {
		in.ValidFor = 7 * 24 * time.Hour
	}
	if in.MaxUses == 0 {
		in.MaxUses = 1
	}
	if in.ValidFor > MaxInviteLinkTTL || in.MaxUses < 1 || in.MaxUses > MaxInviteLinkUses {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_invite", "An invite link lasts at most 90 days and allows 1 to %d uses.", MaxInviteLinkUses)
	}
	owned, err := s.store.Domains(ctx, actor.Account.TenantID)
	if err != nil {
		return nil, err
	}
	var ids []string
	if len(in.Domains) == 0 {
		for _, d := range owned {
			ids = append(ids, d.ID)
		}
	}
	for _, name := range in.Domains {
		canonical, err := kizuna.NormalizeDomain(name)
		if err != nil {
			return nil, err
		}
		found := false
		for _, d := range owned {
			if d.Name == canonical {
				ids, found = append(ids, d.ID), true
			}
		}
		if !found {
			return nil, kizuna.Errorf(kizuna.ErrNotFound, "domain_not_found", "The domain %s is not one of this tenant's domains.", kizuna.DisplayDomain(canonical))
		}
	}
	code := "kzi_" + randomToken()
	sum := sha256.Sum256([]byte(code))
	l := &kizuna.InviteLink{ID: kizuna.NewID(), TenantID: actor.Account.TenantID, CreatedBy: actor.Account.ID, DomainIDs: ids,
		ExpiresAt: s.now().Add(in.ValidFor), MaxUses: in.MaxUses}
	if err := s.store.CreateInviteLink(ctx, l, sum[:]); err != nil {
		return nil, err
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: l.TenantID, ActorID: actor.Account.ID, Action: "invite_link.create", TargetID: l.ID})
	return &CreatedInviteLink{InviteLink: l, Code: code}, nil
}

// List returns the actor's tenant's invite links (admins only).
func (s *InviteService) List(ctx context.Context) ([]*kizuna.InviteLink, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.InviteLinks(ctx, actor.Account.TenantID)
}

// Revoke ends an invite link at once (admins only). Errors: not_found.
func (s *InviteService) Revoke(ctx context.Context, id string) error {
	actor, err := admin(ctx)
	if err != nil {
		return err
	}
	if err := s.store.RevokeInviteLink(ctx, actor.Account.TenantID, id); err != nil {
		return err
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: actor.Account.TenantID, ActorID: actor.Account.ID, Action: "invite_link.revoke", TargetID: id})
	return nil
}

// InviteInfo is what the holder of a code sees before accepting.
type InviteInfo struct {
	TenantName string
	Domains    []string
	ExpiresAt  time.Time
}

var errInviteUnusable = kizuna.Errorf(kizuna.ErrNotFound, "invite_unusable",
	"This invite link has expired, been used up or been revoked; ask for a new one.")

// link returns a usable link for a code; unknown, expired, used-up and
// revoked codes answer alike.
func (s *InviteService) link(ctx context.Context, code string) (*kizuna.InviteLink, error) {
	if err := s.inviteThrottled(ctx, code); err != nil {
		return nil, err
	}
	if len(code) > 200 {
		return nil, s.inviteMissed(ctx, code)
	}
	sum := sha256.Sum256([]byte(code))
	l, err := s.store.InviteLinkByCodeHash(ctx, sum[:])
	if errors.Is(err, kizuna.ErrNotFound) || (err == nil && !l.Usable(s.now())) {
		return nil, s.inviteMissed(ctx, code)
	}
	return l, err
}

// Info describes an invite code to whoever holds it. Errors: not_found
// "invite_unusable".
func (s *InviteService) Info(ctx context.Context, code string) (*InviteInfo, error) {
	l, err := s.link(ctx, code)
	if err != nil {
		return nil, err
	}
	t, err := s.store.Tenant(ctx, l.TenantID)
	if err != nil {
		return nil, err
	}
	owners, err := s.store.DomainOwners(ctx, l.DomainIDs)
	if err != nil {
		return nil, err
	}
	info := &InviteInfo{TenantName: t.Name, ExpiresAt: l.ExpiresAt}
	for _, id := range l.DomainIDs {
		if o, ok := owners[id]; ok && o.TenantID == l.TenantID {
			info.Domains = append(info.Domains, o.DomainName)
		}
	}
	return info, nil
}

// AcceptInvite is what the holder of a code chooses.
type AcceptInvite struct {
	Code        string
	Local       string
	Domain      string
	DisplayName string
	Password    string
}

// Accept creates an internal member from an invite code and signs it in:
// the person chose their own password, so no change is forced. Errors:
// not_found "invite_unusable"; invalid (ID, name, weak password);
// conflict "id_taken"; invalid "domain_not_allowed".
func (s *InviteService) Accept(ctx context.Context, in AcceptInvite) (*SignedIn, error) {
	l, err := s.link(ctx, in.Code)
	if err != nil {
		return nil, err
	}
	local, err := kizuna.NormalizeLocalPart(in.Local)
	if err != nil {
		return nil, err
	}
	domain, err := kizuna.NormalizeDomain(in.Domain)
	if err != nil {
		return nil, err
	}
	d, err := s.store.DomainByName(ctx, domain)
	if err != nil && !errors.Is(err, kizuna.ErrNotFound) {
		return nil, err
	}
	if d == nil || d.TenantID != l.TenantID || !contains(l.DomainIDs, d.ID) {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "domain_not_allowed", "This invite link does not allow IDs in %s.", kizuna.DisplayDomain(domain))
	}
	display := in.DisplayName
	if display == "" {
		display = local
	}
	if display, err = cleanName(display, "display name", "invalid_display_name", kizuna.MaxDisplayNameLength); err != nil {
		return nil, err
	}
	if err := password.CheckPolicy(in.Password, local, display); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	a := &kizuna.Account{ID: kizuna.NewID(), Kind: kizuna.KindMember, DomainID: d.ID, Local: local, DisplayName: display,
		Role: kizuna.RoleMember, Status: kizuna.StatusActive}
	if err := s.store.UseInviteLink(ctx, l.ID, a, kizuna.Credential{Hash: hash}); err != nil {
		if kizuna.ErrorCode(err) == "invite_unusable" {
			return nil, errInviteUnusable
		}
		return nil, err
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: l.TenantID, ActorID: a.ID, Action: "invite_link.accept", TargetID: a.ID, Target: a.Address(), Details: "link " + l.ID})
	acct, err := s.store.AccountByID(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return (&AuthService{s.deps}).openSession(ctx, acct, nil)
}

// NewPersonal is a self sign-up for a personal account (the seed's "LINE
// user"): a handle and a password, no tenant.
type NewPersonal struct {
	Handle      string
	DisplayName string
	Password    string
}

// SignUpPersonal creates a personal account and signs it in. Personal
// accounts are external to every tenant. Errors: invalid "invalid_handle",
// "weak_password"; conflict "id_taken".
func (s *InviteService) SignUpPersonal(ctx context.Context, in NewPersonal) (*SignedIn, error) {
	handle, err := kizuna.NormalizeHandle(in.Handle)
	if err != nil {
		return nil, err
	}
	display := in.DisplayName
	if display == "" {
		display = handle
	}
	if display, err = cleanName(display, "display name", "invalid_display_name", kizuna.MaxDisplayNameLength); err != nil {
		return nil, err
	}
	if err := password.CheckPolicy(in.Password, handle, display); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	a := &kizuna.Account{ID: kizuna.NewID(), Kind: kizuna.KindPersonal, Local: handle, DisplayName: display,
		Role: kizuna.RoleMember, Status: kizuna.StatusActive}
	if err := s.store.AddAccount(ctx, "", a, kizuna.Credential{Hash: hash}); err != nil {
		return nil, err
	}
	return (&AuthService{s.deps}).openSession(ctx, a, nil)
}
