package service

import (
	"context"
	netmail "net/mail"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna/password"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// MemberService manages a tenant's members and shows people to viewers.
type MemberService struct{ *deps }

// Page limits for member lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// pageLimit reads a requested page size: 0 or less means the default, more
// than MaxPageSize is refused.
func pageLimit(limit int) (int, error) {
	if limit <= 0 {
		return DefaultPageSize, nil
	}
	if limit > MaxPageSize {
		return 0, kizuna.Errorf(kizuna.ErrInvalid, "invalid_limit", "The limit must be between 1 and %d.", MaxPageSize)
	}
	return limit, nil
}

// NewMember is the input for adding a member.
type NewMember struct {
	Local       string
	Domain      string // one of the tenant's domains
	DisplayName string
	Role        kizuna.Role // default member
	// Password is optional: when empty an initial password is generated.
	// Either way the member must change it at first sign-in (R6).
	Password string
	// ContactMail is where invitation mail goes; optional.
	ContactMail string
	// SendInvitation queues the invitation mail to ContactMail.
	SendInvitation bool
}

// AddedMember is a new member, its initial password when generated (shown
// this once), when that password expires, and the ticket that prints it
// on an invitation sheet for the next hour.
type AddedMember struct {
	Person
	InitialPassword   string
	PasswordExpiresAt time.Time
	SheetTicket       string
}

// Add adds a member to the actor's tenant (admins only; only owners may add
// owners). Errors: invalid (ID parts, names, weak password), not_found
// "domain_not_found" for a domain the tenant does not own, conflict
// "id_taken".
func (s *MemberService) Add(ctx context.Context, in NewMember) (*AddedMember, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	tenant, err := s.store.Tenant(ctx, actor.Account.TenantID)
	if err != nil {
		return nil, err
	}
	if in.SendInvitation && strings.TrimSpace(in.ContactMail) == "" {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "no_contact_mail", "Give a contact mail address to send the invitation to.")
	}
	if in.Password != "" && !tenant.Settings.AllowTypedInitialPasswords {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "typed_password_forbidden", "This tenant's settings require generated initial passwords.")
	}
	a, cred, generated, err := s.prepare(ctx, actor, in, tenant.Settings)
	if err != nil {
		return nil, err
	}
	if err := s.store.AddAccount(ctx, actor.Account.TenantID, a, cred); err != nil {
		return nil, err
	}
	a.TenantName = actor.Account.TenantName
	people, err := s.people(ctx, actor.Account, a)
	if err != nil {
		return nil, err
	}
	added := &AddedMember{Person: people[0], InitialPassword: generated, PasswordExpiresAt: cred.ExpiresAt}
	if in.SendInvitation {
		pw := generated
		if pw == "" {
			pw = in.Password
		}
		entry := SheetEntry{TenantName: tenant.Name, SignInURL: s.cfg.SignInURL, PasswordExpiresAt: cred.ExpiresAt}
		if err := s.queueInvitation(ctx, a, pw, entry); err != nil {
			return nil, err
		}
	}
	if generated != "" {
		if added.SheetTicket, err = s.newSheetTicket(ctx, actor.Account.TenantID, []IssuedPassword{{a.ID, generated, cred.ExpiresAt}}); err != nil {
			return nil, err
		}
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: actor.Account.TenantID, ActorID: actor.Account.ID, Action: "member.add", TargetID: a.ID, Target: a.Address(),
		Details: "role=" + string(a.Role)})
	return added, nil
}

// expiryOf returns when an initial password issued now expires under the
// tenant's settings (zero: never).
func (s *MemberService) expiryOf(st kizuna.TenantSettings) time.Time {
	if st.InitialPasswordTTLHours <= 0 {
		return time.Time{}
	}
	return s.now().Add(time.Duration(st.InitialPasswordTTLHours) * time.Hour)
}

// Reissued is a fresh initial password (shown this once) and the ticket
// that prints it.
type Reissued struct {
	Person
	InitialPassword   string
	PasswordExpiresAt time.Time
	SheetTicket       string
}

// Reissue gives a member a new generated initial password (admins only,
// any number of times, R6): the previous password stops working at once,
// every session of the member ends, and the member must change the new
// one at first sign-in. Errors: not_found.
func (s *MemberService) Reissue(ctx context.Context, id string, sendMail bool) (*Reissued, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	target, err := s.store.Account(ctx, actor.Account.TenantID, id)
	if err != nil {
		return nil, err
	}
	if target.Role == kizuna.RoleOwner && actor.Account.Role != kizuna.RoleOwner {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "owner_required", "Only an owner can reissue an owner's password.")
	}
	if sendMail && target.ContactMail == "" {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "no_contact_mail", "The member has no contact mail address; print the sheet instead.")
	}
	tenant, err := s.store.Tenant(ctx, actor.Account.TenantID)
	if err != nil {
		return nil, err
	}
	pw := password.Generate()
	cred := kizuna.Credential{Hash: password.HashGenerated(pw), Initial: true, ExpiresAt: s.expiryOf(tenant.Settings)}
	if err := s.store.SetCredential(ctx, target.ID, cred, true, true); err != nil {
		return nil, err
	}
	s.sessionsChanged(target.ID)
	target.MustChangePassword = true
	ticket, err := s.newSheetTicket(ctx, actor.Account.TenantID, []IssuedPassword{{target.ID, pw, cred.ExpiresAt}})
	if err != nil {
		return nil, err
	}
	if sendMail {
		entry := SheetEntry{TenantName: tenant.Name, SignInURL: s.cfg.SignInURL, PasswordExpiresAt: cred.ExpiresAt}
		if err := s.queueInvitation(ctx, target, pw, entry); err != nil {
			return nil, err
		}
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: actor.Account.TenantID, ActorID: actor.Account.ID, Action: "member.reissue_password", TargetID: target.ID, Target: target.Address(),
		Details: "all sessions revoked"})
	people, err := s.people(ctx, actor.Account, target)
	if err != nil {
		return nil, err
	}
	return &Reissued{Person: people[0], InitialPassword: pw, PasswordExpiresAt: cred.ExpiresAt, SheetTicket: ticket}, nil
}

// SheetEntry is one member's invitation sheet content.
type SheetEntry struct {
	TenantName        string
	DisplayName       string
	SignInID          string
	InitialPassword   string // "" when it can no longer be shown
	PasswordExpiresAt time.Time
	SignInURL         string
}

// Sheets returns invitation sheet entries for members of the actor's
// tenant (admins only). With the ticket of a fresh issue, the entries of
// the members it covers carry their initial passwords; without one (or
// after it expired) no password is shown and the sheet says to reissue.
// With a ticket and no member IDs, every member of the ticket is listed.
func (s *MemberService) Sheets(ctx context.Context, ticket string, memberIDs []string) ([]SheetEntry, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	issued := map[string]IssuedPassword{}
	if ticket != "" {
		list, err := s.openSheetTicket(ctx, actor.Account.TenantID, ticket)
		if err != nil {
			return nil, err
		}
		for _, ip := range list {
			issued[ip.AccountID] = ip
			if len(memberIDs) < len(list) && !contains(memberIDs, ip.AccountID) {
				memberIDs = append(memberIDs, ip.AccountID)
			}
		}
	}
	if len(memberIDs) == 0 {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "no_members", "Name the members whose sheets to print.")
	}
	if len(memberIDs) > 100000 {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "too_many_members", "Print at most 100,000 sheets at once.")
	}
	out := make([]SheetEntry, 0, len(memberIDs))
	for _, id := range memberIDs {
		a, err := s.store.Account(ctx, actor.Account.TenantID, id)
		if err != nil {
			return nil, err
		}
		e := SheetEntry{TenantName: a.TenantName, DisplayName: a.DisplayName, SignInID: a.Address(), SignInURL: s.cfg.SignInURL}
		if ip, ok := issued[a.ID]; ok {
			cred, err := s.store.Credential(ctx, a.ID)
			if err != nil {
				return nil, err
			}
			// Show the password only while it is still the account's
			// current, unused initial password.
			if cred.Initial && a.MustChangePassword && !cred.Expired(s.now()) {
				e.InitialPassword, e.PasswordExpiresAt = ip.Password, ip.ExpiresAt
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// prepare validates a new member and builds its account and credential.
func (s *MemberService) prepare(ctx context.Context, actor *kizuna.Actor, in NewMember, settings kizuna.TenantSettings) (*kizuna.Account, kizuna.Credential, string, error) {
	var cred kizuna.Credential
	local, err := kizuna.NormalizeLocalPart(in.Local)
	if err != nil {
		return nil, cred, "", err
	}
	domainName, err := kizuna.NormalizeDomain(in.Domain)
	if err != nil {
		return nil, cred, "", err
	}
	d, err := s.store.DomainByName(ctx, domainName)
	if err != nil || d.TenantID != actor.Account.TenantID {
		if err == nil || kizuna.ErrorCode(err) == "not_found" {
			err = kizuna.Errorf(kizuna.ErrNotFound, "domain_not_found", "The domain %s is not one of this tenant's domains.", kizuna.DisplayDomain(domainName))
		}
		return nil, cred, "", err
	}
	display := in.DisplayName
	if display == "" {
		display = local
	}
	if display, err = cleanName(display, "display name", "invalid_display_name", kizuna.MaxDisplayNameLength); err != nil {
		return nil, cred, "", err
	}
	role := in.Role
	if role == "" {
		role = kizuna.RoleMember
	}
	if !role.Valid() {
		return nil, cred, "", kizuna.Errorf(kizuna.ErrInvalid, "invalid_role", "The role must be owner, admin or member.")
	}
	if role == kizuna.RoleOwner && actor.Account.Role != kizuna.RoleOwner {
		return nil, cred, "", kizuna.Errorf(kizuna.ErrForbidden, "owner_required", "Only an owner can make another owner.")
	}
	mail, err := cleanMail(in.ContactMail)
	if err != nil {
		return nil, cred, "", err
	}
	cred, generated, err := s.initialCredential(ctx, in.Password, local, display)
	if err != nil {
		return nil, cred, "", err
	}
	cred.Initial = true
	cred.ExpiresAt = s.expiryOf(settings)
	a := &kizuna.Account{
		ID: kizuna.NewID(), Kind: kizuna.KindMember, DomainID: d.ID, Local: local, DisplayName: display,
		ContactMail: mail, Role: role, Status: kizuna.StatusActive, MustChangePassword: true,
	}
	return a, cred, generated, nil
}

// Page is one page of a list and the cursor of the next ("" at the end).
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// List returns a page of the actor's tenant's members, in the order they
// were added. cursor is the NextCursor of the previous page.
func (s *MemberService) List(ctx context.Context, cursor string, limit int) (*Page[Person], error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit); err != nil {
		return nil, err
	}
	limited, visible, err := s.limitedDirectory(ctx, actor.Account)
	if err != nil {
		return nil, err
	}
	var accounts []*kizuna.Account
	if limited {
		// A restricted member pages through the part of the directory
		// they may see (R10), in the same order.
		byID, err := s.store.AccountsByIDs(ctx, visible)
		if err != nil {
			return nil, err
		}
		for _, id := range visible {
			if a, ok := byID[id]; ok && a.TenantID == actor.Account.TenantID && id > cursor && len(accounts) <= limit {
				accounts = append(accounts, a)
			}
		}
	} else if accounts, err = s.store.Accounts(ctx, actor.Account.TenantID, store.AccountFilter{After: cursor, Limit: limit + 1}); err != nil {
		return nil, err
	}
	page := &Page[Person]{}
	if len(accounts) > limit {
		accounts = accounts[:limit]
		page.NextCursor = accounts[limit-1].ID
	}
	if page.Items, err = s.people(ctx, actor.Account, accounts...); err != nil {
		return nil, err
	}
	return page, nil
}

// Get returns a member of the actor's tenant. Errors: not_found, also for
// members of other tenants.
func (s *MemberService) Get(ctx context.Context, id string) (*Person, error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.store.Account(ctx, actor.Account.TenantID, id)
	if err != nil {
		return nil, err
	}
	limited, visible, err := s.limitedDirectory(ctx, actor.Account)
	if err != nil {
		return nil, err
	}
	if limited && !slices.Contains(visible, a.ID) {
		return nil, kizuna.NotFound("Member")
	}
	return s.person(ctx, actor.Account, a)
}

// limitedDirectory tells whether the actor sees only part of the
// directory and, if so, whom: themselves, their group mates and the
// people they talk with, sorted by ID.
func (d *deps) limitedDirectory(ctx context.Context, a *kizuna.Account) (bool, []string, error) {
	v, err := d.viewerOf(ctx, a)
	if err != nil || !v.DirectoryLimited() {
		return false, nil, err
	}
	ids, err := (&GroupService{d}).visibleTo(ctx, a)
	return true, ids, err
}

// Lookup finds a person by their exact sign-in ID ("sato@partner.example"
// or a personal handle) and tells how they stand to the actor, as when
// adding an external contact. Suspended and deleted accounts are not
// found. Errors: invalid "invalid_id", not_found.
func (s *MemberService) Lookup(ctx context.Context, id string) (*Person, error) {
	actor, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	local, domain, err := parseSignInID(id)
	if err != nil {
		return nil, err
	}
	a, err := s.store.AccountByAddress(ctx, local, domain)
	if err != nil {
		return nil, err
	}
	if a.Status != kizuna.StatusActive {
		return nil, kizuna.NotFound("Account")
	}
	return s.person(ctx, actor.Account, a)
}

// MemberUpdate changes the fields that are set.
type MemberUpdate struct {
	DisplayName *string
	Role        *kizuna.Role
}

// Update changes a member's display name (the member or an admin) or role
// (admins; only owners grant or take the owner role; the last owner stays).
func (s *MemberService) Update(ctx context.Context, id string, in MemberUpdate) (*Person, error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, err
	}
	self := actor.Account.ID == id
	if !self && !actor.Account.Role.IsAdmin() {
		// Answer like a missing member when the actor could not see it
		// anyway; here the actor can see tenant members, so say forbidden.
		if _, err := s.store.Account(ctx, actor.Account.TenantID, id); err != nil {
			return nil, err
		}
		return nil, errAdminOnly
	}
	var u store.AccountUpdate
	if in.DisplayName != nil {
		name, err := cleanName(*in.DisplayName, "display name", "invalid_display_name", kizuna.MaxDisplayNameLength)
		if err != nil {
			return nil, err
		}
		u.DisplayName = &name
	}
	if in.Role != nil {
		if !in.Role.Valid() {
			return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_role", "The role must be owner, admin or member.")
		}
		if !actor.Account.Role.IsAdmin() {
			return nil, errAdminOnly
		}
		target, err := s.store.Account(ctx, actor.Account.TenantID, id)
		if err != nil {
			return nil, err
		}
		if (*in.Role == kizuna.RoleOwner || target.Role == kizuna.RoleOwner) && actor.Account.Role != kizuna.RoleOwner {
			return nil, kizuna.Errorf(kizuna.ErrForbidden, "owner_required", "Only an owner can grant or take the owner role.")
		}
		if target.Role == kizuna.RoleOwner && *in.Role != kizuna.RoleOwner {
			if err := s.keepAnOwner(ctx, actor.Account.TenantID); err != nil {
				return nil, err
			}
		}
		u.Role = in.Role
	}
	a, err := s.store.UpdateAccount(ctx, actor.Account.TenantID, id, u)
	if err != nil {
		return nil, err
	}
	return s.person(ctx, actor.Account, a)
}

func (s *MemberService) keepAnOwner(ctx context.Context, tenantID string) error {
	n, err := s.store.CountOwners(ctx, tenantID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return kizuna.Errorf(kizuna.ErrConflict, "last_owner", "A tenant keeps at least one active owner; make someone else owner first.")
	}
	return nil
}

// Suspend signs a member out everywhere and blocks sign-in until restored.
func (s *MemberService) Suspend(ctx context.Context, id string) (*Person, error) {
	return s.setStatus(ctx, id, kizuna.StatusSuspended)
}

// Restore lifts a suspension.
func (s *MemberService) Restore(ctx context.Context, id string) (*Person, error) {
	return s.setStatus(ctx, id, kizuna.StatusActive)
}

// Delete deletes a member: their ID is free at once and they can be added
// again later (R13). Errors: not_found, conflict "last_owner", invalid
// "cannot_remove_self".
func (s *MemberService) Delete(ctx context.Context, id string) error {
	_, err := s.setStatus(ctx, id, kizuna.StatusDeleted)
	return err
}

func (s *MemberService) setStatus(ctx context.Context, id string, status kizuna.AccountStatus) (*Person, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	target, err := s.store.Account(ctx, actor.Account.TenantID, id)
	if err != nil {
		return nil, err
	}
	if status != kizuna.StatusActive {
		if target.ID == actor.Account.ID {
			return nil, kizuna.Errorf(kizuna.ErrInvalid, "cannot_remove_self", "You cannot suspend or delete yourself; ask another admin.")
		}
		if target.Role == kizuna.RoleOwner {
			if actor.Account.Role != kizuna.RoleOwner {
				return nil, kizuna.Errorf(kizuna.ErrForbidden, "owner_required", "Only an owner can suspend or delete an owner.")
			}
			if err := s.keepAnOwner(ctx, actor.Account.TenantID); err != nil {
				return nil, err
			}
		}
	}
	a, err := s.store.UpdateAccount(ctx, actor.Account.TenantID, id, store.AccountUpdate{Status: &status})
	if err != nil {
		return nil, err
	}
	if status != kizuna.StatusActive {
		s.sessionsChanged(a.ID)
	}
	actions := map[kizuna.AccountStatus]string{kizuna.StatusActive: "member.restore", kizuna.StatusSuspended: "member.suspend", kizuna.StatusDeleted: "member.delete"}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: actor.Account.TenantID, ActorID: actor.Account.ID, Action: actions[status], TargetID: a.ID, Target: a.Address()})
	return s.person(ctx, actor.Account, a)
}

// cleanMail validates an optional contact address: a bare address, at
// most 254 characters.
func cleanMail(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", nil
	}
	parsed, err := netmail.ParseAddress(addr)
	if err != nil || parsed.Address != addr || len(addr) > 254 {
		return "", kizuna.Errorf(kizuna.ErrInvalid, "invalid_mail", "%q is not a mail address such as name@example.com.", truncateForLog(addr))
	}
	return addr, nil
}

// parseSignInID reads "local@domain" as a member ID and anything without
// "@" as a personal handle (domain "").
func parseSignInID(id string) (local, domain string, err error) {
	for i := 0; i < len(id); i++ {
		if id[i] == '@' {
			return kizuna.ParseID(id)
		}
	}
	local, err = kizuna.NormalizeHandle(id)
	return local, "", err
}
