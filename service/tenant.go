package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/store"
)

// TenantService creates, reads and renames tenants.
type TenantService struct{ *deps }

// NewTenant is the input for creating a tenant with its first domain and
// owner.
type NewTenant struct {
	TenantName       string
	Domain           string
	OwnerLocal       string
	OwnerDisplayName string
	// OwnerPassword is optional: when empty a password is generated and
	// the owner must change it at first sign-in.
	OwnerPassword string
}

// CreatedTenant is what tenant creation returns. GeneratedPassword is set
// only when the owner's password was generated; it is shown this once.
type CreatedTenant struct {
	Tenant            *kizuna.Tenant
	Domain            *kizuna.Domain
	Owner             Person
	GeneratedPassword string
}

// Create creates a tenant as the server operator (the CLI). Errors:
// invalid (bad names), conflict "domain_taken".
func (s *TenantService) Create(ctx context.Context, in NewTenant) (*CreatedTenant, error) {
	return s.create(ctx, in)
}

// SignUp creates a tenant through the API when the server allows open
// sign-up. Errors: forbidden "signup_closed", and those of Create.
func (s *TenantService) SignUp(ctx context.Context, in NewTenant) (*CreatedTenant, error) {
	if !s.cfg.OpenSignup {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "signup_closed", "This server does not allow creating tenants; ask its operator.")
	}
	return s.create(ctx, in)
}

// Setup creates the first tenant of an empty installation with the
// one-time setup token that `kizuna serve` printed. Errors: forbidden
// "setup_done" once a tenant exists, unauthorized "invalid_setup_token",
// and those of Create.
func (s *TenantService) Setup(ctx context.Context, token string, in NewTenant) (*CreatedTenant, error) {
	n, err := s.store.CountTenants(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "setup_done", "This server is already set up.")
	}
	want, err := s.store.SetupTokenHash(ctx)
	if errors.Is(err, kizuna.ErrNotFound) {
		return nil, kizuna.Errorf(kizuna.ErrUnauthorized, "invalid_setup_token", "The setup token is not valid; restart the server to print a new one.")
	}
	if err != nil {
		return nil, err
	}
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		return nil, kizuna.Errorf(kizuna.ErrUnauthorized, "invalid_setup_token", "The setup token is not valid; use the one the server printed at start.")
	}
	created, err := s.create(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteSetupToken(ctx); err != nil {
		s.log.Warn("setup token not deleted", "err", err)
	}
	return created, nil
}

// SetupToken returns a fresh one-time setup token when the installation
// has no tenant yet, and "" otherwise. Only its hash is stored.
func (s *TenantService) SetupToken(ctx context.Context) (string, error) {
	n, err := s.store.CountTenants(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	token := randomToken()
	sum := sha256.Sum256([]byte(token))
	if err := s.store.PutSetupToken(ctx, sum[:]); err != nil {
		return "", err
	}
	return token, nil
}

func (s *TenantService) create(ctx context.Context, in NewTenant) (*CreatedTenant, error) {
	name, err := cleanName(in.TenantName, "tenant name", "invalid_tenant_name", kizuna.MaxTenantNameLength)
	if err != nil {
		return nil, err
	}
	domain, err := kizuna.NormalizeDomain(in.Domain)
	if err != nil {
		return nil, err
	}
	local, err := kizuna.NormalizeLocalPart(in.OwnerLocal)
	if err != nil {
		return nil, err
	}
	display := in.OwnerDisplayName
	if display == "" {
		display = local
	}
	if display, err = cleanName(display, "display name", "invalid_display_name", kizuna.MaxDisplayNameLength); err != nil {
		return nil, err
	}
	cred, generated, err := s.initialCredential(ctx, in.OwnerPassword, local, display)
	if err != nil {
		return nil, err
	}
	t := &kizuna.Tenant{ID: kizuna.NewID(), Name: name, Settings: kizuna.DefaultTenantSettings}
	d := &kizuna.Domain{ID: kizuna.NewID(), TenantID: t.ID, Name: domain, VerificationToken: randomToken()}
	owner := &kizuna.Account{
		ID: kizuna.NewID(), Kind: kizuna.KindMember, Local: local, DisplayName: display,
		Role: kizuna.RoleOwner, Status: kizuna.StatusActive, MustChangePassword: generated != "",
	}
	if err := s.store.CreateTenant(ctx, store.NewTenant{Tenant: t, Domain: d, Owner: owner, Credential: cred}); err != nil {
		return nil, err
	}
	owner.TenantName = t.Name
	return &CreatedTenant{
		Tenant: t, Domain: d, GeneratedPassword: generated,
		Owner: Person{Account: owner, Classification: kizuna.Classification{Relation: kizuna.RelationInternal,
			Reason: "internal: domain " + kizuna.DisplayDomain(d.Name) + " belongs to your tenant " + t.Name}},
	}, nil
}

// initialCredential returns the credential for a new account: the given
// password (checked against the policy, hashed with argon2id) or, when it
// is empty, a generated one (fast hash, see package password) that the
// caller must show once.
func (d *deps) initialCredential(ctx context.Context, pw string, avoid ...string) (kizuna.Credential, string, error) {
	if pw == "" {
		gen := password.Generate()
		return kizuna.Credential{Hash: password.HashGenerated(gen), Initial: true}, gen, nil
	}
	if err := password.CheckPolicy(pw, avoid...); err != nil {
		return kizuna.Credential{}, "", err
	}
	h, err := d.hasher.Hash(ctx, pw)
	if err != nil {
		return kizuna.Credential{}, "", err
	}
	return kizuna.Credential{Hash: h}, "", nil
}

// Current returns the actor's tenant.
func (s *TenantService) Current(ctx context.Context) (*kizuna.Tenant, error) {
	a, err := member(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.Tenant(ctx, a.Account.TenantID)
}

// Rename renames the actor's tenant (admins only). Member IDs do not
// change: they depend on domains, not on the tenant's name.
func (s *TenantService) Rename(ctx context.Context, name string) (*kizuna.Tenant, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	if name, err = cleanName(name, "tenant name", "invalid_tenant_name", kizuna.MaxTenantNameLength); err != nil {
		return nil, err
	}
	return s.store.RenameTenant(ctx, a.Account.TenantID, name)
}

// SettingsUpdate changes the settings that are set.
type SettingsUpdate struct {
	InitialPasswordTTLHours    *int
	AllowTypedInitialPasswords *bool
	MembersCreateInviteLinks   *bool
}

// UpdateSettings changes the actor's tenant's settings (admins only).
// Errors: invalid "invalid_setting".
func (s *TenantService) UpdateSettings(ctx context.Context, u SettingsUpdate) (*kizuna.Tenant, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.store.Tenant(ctx, a.Account.TenantID)
	if err != nil {
		return nil, err
	}
	before := t.Settings
	st := t.Settings
	if u.InitialPasswordTTLHours != nil {
		if *u.InitialPasswordTTLHours < 0 || *u.InitialPasswordTTLHours > kizuna.MaxInitialPasswordTTLHours {
			return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_setting", "initial_password_ttl_hours must be between 0 (no limit) and %d.", kizuna.MaxInitialPasswordTTLHours)
		}
		st.InitialPasswordTTLHours = *u.InitialPasswordTTLHours
	}
	if u.AllowTypedInitialPasswords != nil {
		st.AllowTypedInitialPasswords = *u.AllowTypedInitialPasswords
	}
	if u.MembersCreateInviteLinks != nil {
		st.MembersCreateInviteLinks = *u.MembersCreateInviteLinks
	}
	t, err = s.store.UpdateTenantSettings(ctx, a.Account.TenantID, st)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: t.ID, ActorID: a.Account.ID, Action: "tenant.settings", TargetID: t.ID, Target: t.Name,
		Details: fmt.Sprintf("before=%+v after=%+v", before, st)})
	return t, nil
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DomainService adds and lists a tenant's domains.
type DomainService struct{ *deps }

// List returns the actor's tenant's domains.
func (s *DomainService) List(ctx context.Context) ([]kizuna.Domain, error) {
	a, err := member(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.Domains(ctx, a.Account.TenantID)
}

// Add adds a domain to the actor's tenant (admins only). Errors: invalid
// "invalid_domain", conflict "domain_taken".
func (s *DomainService) Add(ctx context.Context, name string) (*kizuna.Domain, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	canonical, err := kizuna.NormalizeDomain(name)
	if err != nil {
		return nil, err
	}
	d := &kizuna.Domain{ID: kizuna.NewID(), TenantID: a.Account.TenantID, Name: canonical, VerificationToken: randomToken()}
	if err := s.store.AddDomain(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// Rename renames one of the actor's tenant's domains (admins only, R12):
// every member ID x@old becomes x@new at once, in one row. The old name
// still signs in during the grace period and stays reserved meanwhile;
// rooms, history and sessions are untouched. Errors: not_found; invalid
// "invalid_domain"; conflict "domain_taken".
func (s *DomainService) Rename(ctx context.Context, id, newName string) (*kizuna.Domain, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	canonical, err := kizuna.NormalizeDomain(newName)
	if err != nil {
		return nil, err
	}
	audit := &kizuna.AuditEntry{ID: kizuna.NewID(), TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: "domain.rename",
		TargetID: id, Target: canonical, Details: fmt.Sprintf("renamed to %s; the former name signs in until the grace period ends", canonical)}
	return s.store.RenameDomain(ctx, a.Account.TenantID, id, canonical, s.now().Add(s.cfg.DomainGracePeriod), audit)
}

// TXTResolver looks up DNS TXT records. Production uses net.Resolver;
// tests use a fake, since there is no DNS to ask.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// VerificationRecord is the TXT record value that proves control of a
// domain.
func VerificationRecord(d *kizuna.Domain) string { return "kizuna-verification=" + d.VerificationToken }

// Verify checks that the domain's DNS holds its verification TXT record
// (admins only). Errors: forbidden "verification_unavailable" when the
// server has no resolver; invalid "verification_failed" when the record is
// missing or DNS does not answer; not_found.
func (s *DomainService) Verify(ctx context.Context, id string) (*kizuna.Domain, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.store.Domain(ctx, a.Account.TenantID, id)
	if err != nil {
		return nil, err
	}
	if s.cfg.Resolver == nil {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "verification_unavailable", "This server does not verify domains through DNS (KIZUNA_DNS_VERIFY is off).")
	}
	lookupCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	records, err := s.cfg.Resolver.LookupTXT(lookupCtx, d.Name)
	want := VerificationRecord(d)
	for _, r := range records {
		if strings.TrimSpace(r) == want {
			d, err := s.store.MarkDomainVerified(ctx, a.Account.TenantID, id)
			if err != nil {
				return nil, err
			}
			s.audit(ctx, &kizuna.AuditEntry{TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: "domain.verify", TargetID: d.ID, Target: d.Name})
			return d, nil
		}
	}
	if err != nil {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "verification_failed", "DNS did not answer for %s; try again later.", kizuna.DisplayDomain(d.Name))
	}
	return nil, kizuna.Errorf(kizuna.ErrInvalid, "verification_failed", "No TXT record %q was found at %s; add it and try again (DNS changes can take a while).", want, kizuna.DisplayDomain(d.Name))
}

// resolveMoveTarget turns the name of a domain to move members to into
// its ID ("" stays "").
func (s *DomainService) resolveMoveTarget(ctx context.Context, tenantID, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	canonical, err := kizuna.NormalizeDomain(name)
	if err != nil {
		return "", err
	}
	d, err := s.store.DomainByName(ctx, canonical)
	if err != nil || d.TenantID != tenantID {
		return "", kizuna.Errorf(kizuna.ErrInvalid, "invalid_move_target", "Members can move only to another of this tenant's domains.")
	}
	return d.ID, nil
}

// DeletionPreview tells an admin what deleting a domain would change:
// members, invite links, pending mail, and, when moveTo names another of
// the tenant's domains, the IDs that would clash there (R11).
func (s *DomainService) DeletionPreview(ctx context.Context, id, moveTo string) (*kizuna.DomainImpact, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	target, err := s.resolveMoveTarget(ctx, a.Account.TenantID, moveTo)
	if err != nil {
		return nil, err
	}
	return s.store.DomainImpact(ctx, a.Account.TenantID, id, target)
}

// DeleteDomainInput says what happens to a domain's members and confirms
// the deletion by repeating the domain's name.
type DeleteDomainInput struct {
	// Members is "delete" (they go with the domain and come back if it is
	// restored) or "move" (to MoveTo).
	Members string
	MoveTo  string
	// Confirm must be the domain's name: a deletion is never a single
	// careless click.
	Confirm string
}

// Delete soft-deletes a domain (admins only, R11). Errors: invalid
// "confirmation_required", "invalid_members_choice",
// "invalid_move_target"; conflict "last_domain", "last_owner",
// "local_part_taken", "cannot_remove_self"; not_found.
func (s *DomainService) Delete(ctx context.Context, id string, in DeleteDomainInput) error {
	a, err := admin(ctx)
	if err != nil {
		return err
	}
	d, err := s.store.Domain(ctx, a.Account.TenantID, id)
	if err != nil || !d.DeletedAt.IsZero() {
		return kizuna.NotFound("Domain")
	}
	if confirm, _ := kizuna.NormalizeDomain(in.Confirm); confirm != d.Name {
		return kizuna.Errorf(kizuna.ErrInvalid, "confirmation_required", "Type the domain's name (%s) as confirm to delete it.", kizuna.DisplayDomain(d.Name))
	}
	var target string
	switch in.Members {
	case "move":
		if target, err = s.resolveMoveTarget(ctx, a.Account.TenantID, in.MoveTo); err != nil {
			return err
		}
		if target == "" {
			return kizuna.Errorf(kizuna.ErrInvalid, "invalid_move_target", "Name the domain to move the members to as move_to.")
		}
	case "delete":
		if a.Account.DomainID == id {
			return kizuna.Errorf(kizuna.ErrConflict, "cannot_remove_self", "Your own ID is in this domain; move the members instead, or ask another admin.")
		}
	default:
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_members_choice", "Say what happens to the members: \"delete\" or \"move\" (with move_to).")
	}
	until := s.now().Add(s.cfg.DeletedRetention)
	audit := &kizuna.AuditEntry{ID: kizuna.NewID(), TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: "domain.delete", TargetID: d.ID, Target: d.Name,
		Details: fmt.Sprintf("members %s %s; restorable until %s", in.Members, in.MoveTo, until.UTC().Format(time.RFC3339))}
	if err := s.store.DeleteDomain(ctx, a.Account.TenantID, id, target, until, audit); err != nil {
		return err
	}
	s.roomsChanged() // its members belong to nobody now
	return nil
}

// Restore undoes a domain deletion within the retention period, with the
// members deleted with it (admins only). Errors: not_found
// "not_restorable"; conflict "id_taken".
func (s *DomainService) Restore(ctx context.Context, id string) (*kizuna.Domain, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	audit := &kizuna.AuditEntry{ID: kizuna.NewID(), TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: "domain.restore", TargetID: id}
	d, err := s.store.RestoreDomain(ctx, a.Account.TenantID, id, audit)
	if err == nil {
		s.roomsChanged()
	}
	return d, err
}

// Deleted lists the tenant's deleted domains that can still be restored
// (admins only).
func (s *DomainService) Deleted(ctx context.Context) ([]kizuna.Domain, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.DeletedDomains(ctx, a.Account.TenantID)
}

// TransferOffer is a domain transfer offer and its impact, in numbers and
// in words ("12 members of Acme will now see them as external").
type TransferOffer struct {
	Transfer *kizuna.DomainTransfer
	Impact   *kizuna.DomainImpact
	Summary  []string
}

// OfferTransfer offers one of the actor's tenant's domains, with everyone
// in it, to the tenant that owns toTenantDomain (admins only); an admin of
// that tenant accepts. The offer lasts 14 days. Errors: not_found
// ("tenant_not_found" for an unknown target); invalid "same_tenant";
// conflict "last_domain".
func (s *DomainService) OfferTransfer(ctx context.Context, id, toTenantDomain string) (*TransferOffer, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	name, err := kizuna.NormalizeDomain(toTenantDomain)
	if err != nil {
		return nil, err
	}
	target, err := s.store.DomainByName(ctx, name)
	if err != nil {
		return nil, kizuna.Errorf(kizuna.ErrNotFound, "tenant_not_found", "No tenant owns %s.", kizuna.DisplayDomain(name))
	}
	if target.TenantID == a.Account.TenantID {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "same_tenant", "The domain already belongs to this tenant.")
	}
	imp, err := s.store.DomainImpact(ctx, a.Account.TenantID, id, "")
	if err != nil {
		return nil, err
	}
	if imp.IsLastDomain {
		return nil, kizuna.Errorf(kizuna.ErrConflict, "last_domain", "A tenant keeps at least one domain; add another before giving this one away.")
	}
	x := &kizuna.DomainTransfer{ID: kizuna.NewID(), DomainID: id, FromTenant: a.Account.TenantID, ToTenant: target.TenantID,
		CreatedBy: a.Account.ID, ExpiresAt: s.now().Add(14 * 24 * time.Hour)}
	if err := s.store.CreateDomainTransfer(ctx, x); err != nil {
		return nil, err
	}
	offers, err := s.store.DomainTransfers(ctx, a.Account.TenantID)
	if err != nil {
		return nil, err
	}
	for _, o := range offers {
		if o.ID == x.ID {
			x = o
		}
	}
	fromMembers, err := s.store.CountMembers(ctx, x.FromTenant)
	if err != nil {
		return nil, err
	}
	toMembers, err := s.store.CountMembers(ctx, x.ToTenant)
	if err != nil {
		return nil, err
	}
	summary := []string{
		fmt.Sprintf("%s in %s %s from %s to %s; their IDs do not change.", members(imp.Members), kizuna.DisplayDomain(x.DomainName), verb(imp.Members, "moves", "move"), x.FromName, x.ToName),
		fmt.Sprintf("%s of %s will see them as external.", members(fromMembers-imp.Members), x.FromName),
		fmt.Sprintf("%s of %s will see them as internal.", members(toMembers), x.ToName),
		"Admins and owners among them become members of the new tenant; invite links for this domain are revoked.",
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: "domain.transfer_offer", TargetID: id, Target: x.DomainName,
		Details: "offered to " + x.ToName})
	return &TransferOffer{Transfer: x, Impact: imp, Summary: summary}, nil
}

// Transfers lists the pending transfer offers the actor's tenant made or
// received (admins only).
func (s *DomainService) Transfers(ctx context.Context) ([]*kizuna.DomainTransfer, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.DomainTransfers(ctx, a.Account.TenantID)
}

// AcceptTransfer takes over the domain of an offer made to the actor's
// tenant (admins only): everyone in it is reclassified for every viewer at
// once. Errors: not_found; conflict "last_domain", "last_owner".
func (s *DomainService) AcceptTransfer(ctx context.Context, id string) (*kizuna.DomainTransfer, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	offers, err := s.store.DomainTransfers(ctx, a.Account.TenantID)
	if err != nil {
		return nil, err
	}
	var offer *kizuna.DomainTransfer
	for _, o := range offers {
		if o.ID == id && o.ToTenant == a.Account.TenantID {
			offer = o
		}
	}
	if offer == nil {
		return nil, kizuna.NotFound("Domain transfer")
	}
	audit := []*kizuna.AuditEntry{
		{ID: kizuna.NewID(), TenantID: offer.FromTenant, ActorID: a.Account.ID, Action: "domain.transfer_out", TargetID: offer.DomainID, Target: offer.DomainName, Details: "to " + offer.ToName},
		{ID: kizuna.NewID(), TenantID: offer.ToTenant, ActorID: a.Account.ID, Action: "domain.transfer_in", TargetID: offer.DomainID, Target: offer.DomainName, Details: "from " + offer.FromName},
	}
	t, err := s.store.AcceptDomainTransfer(ctx, a.Account.TenantID, id, audit)
	if err == nil {
		s.roomsChanged() // its members changed tenant: reclassified for everyone
	}
	return t, err
}

// CancelTransfer withdraws (source) or declines (target) a pending offer
// (admins only). Errors: not_found.
func (s *DomainService) CancelTransfer(ctx context.Context, id string) error {
	a, err := admin(ctx)
	if err != nil {
		return err
	}
	return s.store.CancelDomainTransfer(ctx, a.Account.TenantID, id)
}

// members says "1 member" or "n members".
func members(n int) string {
	if n == 1 {
		return "1 member"
	}
	return fmt.Sprintf("%d members", n)
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
