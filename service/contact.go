package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// ContactService manages external contacts, the approval queue and the
// external-talk policy (R9).
type ContactService struct{ *deps }

// Who declined a contact.
const (
	DeclinedByTarget = "target"
	DeclinedByAdmin  = "admin"
)

// Contact directions, as the viewer sees them.
const (
	Outgoing = "outgoing" // the viewer asked
	Incoming = "incoming" // the viewer was asked
)

// QRPrefix starts the payload of a contact code's QR code.
const QRPrefix = "kizuna-contact:"

// ContactView is a contact as one of its parties sees it: the other
// person classified relative to the viewer (R3), and which way it went.
type ContactView struct {
	*kizuna.Contact
	Person    Person
	Direction string
	Expired   bool
	// ApproverTenantName names the tenant whose admins must approve while
	// the contact awaits approval.
	ApproverTenantName string
}

// ApprovalView is a contact awaiting an admin's approval, with both people
// classified relative to the admin.
type ApprovalView struct {
	*kizuna.Contact
	Requester Person
	Target    Person
	Expired   bool
}

// ContactRequest names whom to add: an exact sign-in ID or a contact code,
// and optionally when the contact should end.
type ContactRequest struct {
	ID        string
	Code      string
	ExpiresAt time.Time
}

// Error codes of contacts that callers may want to switch on.
var (
	errNotPending = func(c *kizuna.Contact) error {
		return kizuna.Errorf(kizuna.ErrConflict, "contact_not_pending", "This contact is %s; there is nothing to decide.", strings.ReplaceAll(string(c.Status), "_", " "))
	}
	errContactExpired = kizuna.Errorf(kizuna.ErrConflict, "contact_expired", "This contact has expired; ask again.")
	errNotTarget      = kizuna.Errorf(kizuna.ErrForbidden, "not_contact_target", "Only the person asked can accept or decline; to withdraw your own request, delete it.")
)

// List returns a page of the actor's contacts, oldest first; cursor is the
// NextCursor of the previous page.
func (s *ContactService) List(ctx context.Context, cursor string, limit int) (*Page[ContactView], error) {
	actor, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit); err != nil {
		return nil, err
	}
	cs, err := s.store.ListContacts(ctx, actor.Account.ID, store.ContactFilter{After: cursor, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	page := &Page[ContactView]{}
	if len(cs) > limit {
		cs = cs[:limit]
		page.NextCursor = cs[limit-1].ID
	}
	page.Items, err = s.views(ctx, actor.Account, cs...)
	return page, err
}

// views shows contacts to one of their parties, classifying everyone with
// one read of the domain map.
func (s *ContactService) views(ctx context.Context, viewer *kizuna.Account, cs ...*kizuna.Contact) ([]ContactView, error) {
	others := make([]*kizuna.Account, len(cs))
	for i, c := range cs {
		others[i] = c.Other(viewer.ID)
	}
	people, err := s.people(ctx, viewer, others...)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]ContactView, len(cs))
	for i, c := range cs {
		v := ContactView{Contact: c, Person: people[i], Direction: Incoming, Expired: c.Expired(now)}
		if c.RequesterID == viewer.ID {
			v.Direction = Outgoing
		}
		if c.Status == kizuna.ContactAwaitingApproval {
			v.ApproverTenantName = c.Requester.TenantName
			if c.Stage == kizuna.StageAcceptance {
				v.ApproverTenantName = c.Target.TenantName
			}
		}
		out[i] = v
	}
	return out, nil
}

func (s *ContactService) view(ctx context.Context, viewer *kizuna.Account, c *kizuna.Contact) (*ContactView, error) {
	vs, err := s.views(ctx, viewer, c)
	if err != nil {
		return nil, err
	}
	return &vs[0], nil
}

// Request asks for an external contact with the account named by in.ID or
// in.Code. It returns the contact and whether it was created: a repeated
// request returns the existing contact, and asking someone who already
// asked you accepts theirs. A contact that expired, or that the actor
// declined earlier, is replaced by the new request. Errors: invalid
// "invalid_contact_request", "invalid_id", "invalid_contact_code",
// "invalid_expiry", "not_external"; not_found; forbidden
// "contact_adding_restricted", "external_talk_forbidden".
func (s *ContactService) Request(ctx context.Context, in ContactRequest) (*ContactView, bool, error) {
	v, created, err := s.request(ctx, in)
	if err == nil && v != nil {
		s.notifyContact(v.Contact)
	}
	return v, created, err
}

func (s *ContactService) request(ctx context.Context, in ContactRequest) (*ContactView, bool, error) {
	actor, err := signedIn(ctx)
	if err != nil {
		return nil, false, err
	}
	me := actor.Account
	if err := s.restrictedFrom(ctx, me, func(r kizuna.Restrictions) bool { return r.NoExternalContacts }, "add external contacts"); err != nil {
		return nil, false, err
	}
	target, err := s.findTarget(ctx, in)
	if err != nil {
		return nil, false, err
	}
	if target.ID == me.ID || (me.TenantID != "" && me.TenantID == target.TenantID) {
		return nil, false, kizuna.Errorf(kizuna.ErrInvalid, "not_external",
			"%s is internal to your tenant: colleagues need no contact request.", target.Address())
	}
	now := s.now()
	if !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(now) {
		return nil, false, kizuna.Errorf(kizuna.ErrInvalid, "invalid_expiry", "expires_at must be in the future.")
	}
	replace := ""
	existing, err := s.store.ContactBetween(ctx, me.ID, target.ID)
	switch {
	case errors.Is(err, kizuna.ErrNotFound):
	case err != nil:
		return nil, false, err
	case existing.Expired(now):
		replace = existing.ID
	case existing.Status == kizuna.ContactDeclined && existing.TargetID == me.ID:
		// Whoever declined may change their mind and ask; the one declined
		// may not ask again until either deletes the answer.
		replace = existing.ID
	case existing.TargetID == me.ID && existing.Status == kizuna.ContactAwaitingAcceptance:
		c, err := s.accept(ctx, me, existing)
		if err != nil {
			return nil, false, err
		}
		v, err := s.view(ctx, me, c)
		return v, false, err
	default:
		v, err := s.view(ctx, me, existing)
		return v, false, err
	}
	parties, err := s.store.TalkParties(ctx, []string{me.ID, target.ID})
	if err != nil {
		return nil, false, err
	}
	pm, pt := parties[me.ID], parties[target.ID]
	if err := mayHaveContacts(me, pm, true); err != nil {
		return nil, false, err
	}
	if err := mayHaveContacts(target, pt, false); err != nil {
		return nil, false, err
	}
	if dec := kizuna.MayTalk(pm, pt); !dec.Allowed {
		return nil, false, kizuna.Errorf(kizuna.ErrForbidden, "external_talk_forbidden", "You cannot add %s: %s.", target.Address(), dec.Reason)
	}
	c := &kizuna.Contact{ID: kizuna.NewID(), RequesterID: me.ID, TargetID: target.ID, Status: kizuna.ContactAwaitingAcceptance, ExpiresAt: in.ExpiresAt}
	if needsApproval(me, pm) {
		c.Status, c.Stage, c.ApproverTenantID = kizuna.ContactAwaitingApproval, kizuna.StageRequest, pm.TenantID
	}
	if err := s.store.CreateContact(ctx, c, replace); err != nil {
		if kizuna.ErrorCode(err) == "contact_exists" {
			// The other side asked at the same moment: theirs stands.
			if existing, err2 := s.store.ContactBetween(ctx, me.ID, target.ID); err2 == nil {
				v, err := s.view(ctx, me, existing)
				return v, false, err
			}
		}
		return nil, false, err
	}
	c, err = s.store.Contact(ctx, me.ID, c.ID)
	if err != nil {
		return nil, false, err
	}
	v, err := s.view(ctx, me, c)
	return v, true, err
}

// findTarget resolves a request's ID or code to a live account.
func (s *ContactService) findTarget(ctx context.Context, in ContactRequest) (*kizuna.Account, error) {
	var a *kizuna.Account
	switch {
	case (in.ID == "") == (in.Code == ""):
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_contact_request", "Give either the person's id or their contact code.")
	case in.ID != "":
		local, domain, err := parseSignInID(in.ID)
		if err != nil {
			return nil, err
		}
		if a, err = s.store.AccountByAddress(ctx, local, domain); err != nil {
			return nil, err
		}
	default:
		code, err := normalizeContactCode(in.Code)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(code))
		if a, err = s.store.AccountByContactCode(ctx, sum[:]); err != nil {
			if errors.Is(err, kizuna.ErrNotFound) {
				return nil, kizuna.Errorf(kizuna.ErrNotFound, "not_found", "No account has this contact code; it may have been replaced.")
			}
			return nil, err
		}
	}
	if a.Status != kizuna.StatusActive {
		return nil, kizuna.NotFound("Account")
	}
	return a, nil
}

// mayHaveContacts refuses members of an admins_only tenant who are not
// admins, on either side of a contact.
func mayHaveContacts(a *kizuna.Account, p kizuna.TalkParty, self bool) error {
	if p.Kind != kizuna.KindMember || p.Policy.AddContacts != kizuna.ContactsAdminsOnly || a.Role.IsAdmin() {
		return nil
	}
	if self {
		return kizuna.Errorf(kizuna.ErrForbidden, "contact_adding_restricted", "In %s only admins add external contacts; ask an admin.", p.TenantName)
	}
	return kizuna.Errorf(kizuna.ErrForbidden, "contact_adding_restricted", "%s does not let %s have external contacts.", p.TenantName, p.Address)
}

// needsApproval reports whether a's tenant must approve a's contacts:
// admins approve their own.
func needsApproval(a *kizuna.Account, p kizuna.TalkParty) bool {
	return p.Kind == kizuna.KindMember && p.Policy.AddContacts == kizuna.ContactsApproval && !a.Role.IsAdmin()
}

// Accept accepts a contact the actor was asked for. When the actor's
// tenant requires approval it then waits for an admin of that tenant.
// Errors: not_found; forbidden "not_contact_target",
// "contact_adding_restricted", "external_talk_forbidden"; conflict
// "contact_not_pending", "contact_expired", "contact_changed".
func (s *ContactService) Accept(ctx context.Context, id string) (*ContactView, error) {
	actor, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Contact(ctx, actor.Account.ID, id)
	if err != nil {
		return nil, err
	}
	if c.TargetID != actor.Account.ID {
		return nil, errNotTarget
	}
	if c, err = s.accept(ctx, actor.Account, c); err != nil {
		return nil, err
	}
	s.notifyContact(c)
	return s.view(ctx, actor.Account, c)
}

func (s *ContactService) accept(ctx context.Context, me *kizuna.Account, c *kizuna.Contact) (*kizuna.Contact, error) {
	if c.Expired(s.now()) {
		return nil, errContactExpired
	}
	if c.Status != kizuna.ContactAwaitingAcceptance {
		return nil, errNotPending(c)
	}
	parties, err := s.store.TalkParties(ctx, []string{c.RequesterID, c.TargetID})
	if err != nil {
		return nil, err
	}
	pr, pt := parties[c.RequesterID], parties[c.TargetID]
	if err := mayHaveContacts(me, pt, true); err != nil {
		return nil, err
	}
	if err := mayHaveContacts(c.Requester, pr, false); err != nil {
		return nil, err
	}
	if dec := kizuna.MayTalk(pr, pt); !dec.Allowed {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "external_talk_forbidden", "You cannot accept %s: %s.", c.Requester.Address(), dec.Reason)
	}
	ch := store.ContactChange{From: c.Status, FromStage: c.Stage, To: kizuna.ContactAccepted}
	if needsApproval(me, pt) {
		ch.To, ch.Stage, ch.ApproverTenantID = kizuna.ContactAwaitingApproval, kizuna.StageAcceptance, pt.TenantID
	}
	return s.store.ChangeContact(ctx, me.ID, "", c.ID, ch, nil)
}

// Decline declines a contact the actor was asked for, before or after the
// requester's tenant approved it. Errors: not_found; forbidden
// "not_contact_target"; conflict "contact_not_pending", "contact_changed".
func (s *ContactService) Decline(ctx context.Context, id string) (*ContactView, error) {
	actor, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Contact(ctx, actor.Account.ID, id)
	if err != nil {
		return nil, err
	}
	if c.TargetID != actor.Account.ID {
		return nil, errNotTarget
	}
	pending := c.Status == kizuna.ContactAwaitingAcceptance || (c.Status == kizuna.ContactAwaitingApproval && c.Stage == kizuna.StageRequest)
	if !pending {
		return nil, errNotPending(c)
	}
	c, err = s.store.ChangeContact(ctx, actor.Account.ID, "", c.ID, store.ContactChange{From: c.Status, FromStage: c.Stage,
		To: kizuna.ContactDeclined, DeclinedBy: DeclinedByTarget}, nil)
	if err != nil {
		return nil, err
	}
	s.notifyContact(c)
	return s.view(ctx, actor.Account, c)
}

// Delete removes one of the actor's contacts, in any state, for both
// parties. Errors: not_found.
func (s *ContactService) Delete(ctx context.Context, id string) error {
	actor, err := signedIn(ctx)
	if err != nil {
		return err
	}
	c, err := s.store.Contact(ctx, actor.Account.ID, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteContact(ctx, actor.Account.ID, id); err != nil {
		return err
	}
	s.notify(kizuna.NoticeContactDeleted, map[string]any{"contact_id": c.ID}, c.RequesterID, c.TargetID)
	return nil
}

// ContactCode is a freshly made contact code, shown once, and the payload
// to print as a QR code.
type ContactCode struct {
	Code      string
	QRPayload string
}

// contactCodeAlphabet leaves out 0/O and 1/I, which people misread when
// they type a code off a screen or a card.
const contactCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// contactCodeLength characters of 32 symbols are 80 random bits: too many
// to guess, few enough to read out.
const contactCodeLength = 16

// CreateCode makes a new contact code for the actor, replacing the
// previous one (which stops working at once). Only its hash is kept.
func (s *ContactService) CreateCode(ctx context.Context) (*ContactCode, error) {
	actor, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	b := make([]byte, contactCodeLength)
	rand.Read(b)
	raw := make([]byte, contactCodeLength)
	for i, x := range b {
		raw[i] = contactCodeAlphabet[x&31] // 256 is a multiple of 32: no bias
	}
	sum := sha256.Sum256(raw)
	if err := s.store.SetContactCode(ctx, actor.Account.ID, sum[:]); err != nil {
		return nil, err
	}
	var code strings.Builder
	for i := 0; i < contactCodeLength; i += 4 {
		if i > 0 {
			code.WriteByte('-')
		}
		code.Write(raw[i : i+4])
	}
	return &ContactCode{Code: code.String(), QRPayload: QRPrefix + code.String()}, nil
}

// normalizeContactCode accepts a code as printed, typed in lower case,
// with or without dashes and spaces, or as a scanned QR payload.
func normalizeContactCode(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) >= len(QRPrefix) && strings.EqualFold(s[:len(QRPrefix)], QRPrefix) {
		s = s[len(QRPrefix):]
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
		case r < 128 && strings.ContainsRune(contactCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", errInvalidCode
		}
	}
	if b.Len() != contactCodeLength {
		return "", errInvalidCode
	}
	return b.String(), nil
}

var errInvalidCode = kizuna.Errorf(kizuna.ErrInvalid, "invalid_contact_code", "A contact code has 16 letters and digits, such as ABCD-EFGH-JKLM-NPQR.")

// Approvals returns a page of the contacts awaiting approval by the
// actor's tenant, oldest first (admins only).
func (s *ContactService) Approvals(ctx context.Context, cursor string, limit int) (*Page[ApprovalView], error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit); err != nil {
		return nil, err
	}
	cs, err := s.store.PendingApprovals(ctx, a.Account.TenantID, store.ContactFilter{After: cursor, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	page := &Page[ApprovalView]{Items: []ApprovalView{}}
	if len(cs) > limit {
		cs = cs[:limit]
		page.NextCursor = cs[limit-1].ID
	}
	accounts := make([]*kizuna.Account, 0, 2*len(cs))
	for _, c := range cs {
		accounts = append(accounts, c.Requester, c.Target)
	}
	people, err := s.people(ctx, a.Account, accounts...)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for i, c := range cs {
		page.Items = append(page.Items, ApprovalView{Contact: c, Requester: people[2*i], Target: people[2*i+1], Expired: c.Expired(now)})
	}
	return page, nil
}

// Approve lets a contact awaiting the actor's tenant go on (admins only):
// a request goes to the person asked, an acceptance makes the contact
// count. expiresAt, when set, ends the contact then. Errors: not_found
// (also for other tenants' queues); invalid "invalid_expiry"; forbidden
// "external_talk_forbidden" (a policy changed since the request);
// conflict "contact_expired", "contact_changed".
func (s *ContactService) Approve(ctx context.Context, id string, expiresAt *time.Time) (*ApprovalView, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.store.PendingApproval(ctx, a.Account.TenantID, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if c.Expired(now) {
		return nil, errContactExpired
	}
	if expiresAt != nil && !expiresAt.After(now) {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_expiry", "expires_at must be in the future.")
	}
	parties, err := s.store.TalkParties(ctx, []string{c.RequesterID, c.TargetID})
	if err != nil {
		return nil, err
	}
	if dec := kizuna.MayTalk(parties[c.RequesterID], parties[c.TargetID]); !dec.Allowed {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "external_talk_forbidden", "This contact cannot be approved: %s.", dec.Reason)
	}
	ch := store.ContactChange{From: c.Status, FromStage: c.Stage, To: kizuna.ContactAwaitingAcceptance, ExpiresAt: expiresAt}
	if c.Stage == kizuna.StageAcceptance {
		ch.To = kizuna.ContactAccepted
	}
	after := c.ExpiresAt
	if expiresAt != nil {
		after = *expiresAt
	}
	audit := s.contactAudit(a, c, "contact.approve", fmt.Sprintf("before=status:%s/%s expires:%s after=status:%s expires:%s",
		c.Status, c.Stage, fmtExpiry(c.ExpiresAt), ch.To, fmtExpiry(after)))
	return s.decide(ctx, a, id, ch, audit)
}

// Reject declines a contact awaiting the actor's tenant (admins only).
// Errors: not_found; conflict "contact_changed".
func (s *ContactService) Reject(ctx context.Context, id string) (*ApprovalView, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.store.PendingApproval(ctx, a.Account.TenantID, id)
	if err != nil {
		return nil, err
	}
	ch := store.ContactChange{From: c.Status, FromStage: c.Stage, To: kizuna.ContactDeclined, DeclinedBy: DeclinedByAdmin}
	audit := s.contactAudit(a, c, "contact.reject", fmt.Sprintf("before=status:%s/%s after=status:%s", c.Status, c.Stage, ch.To))
	return s.decide(ctx, a, id, ch, audit)
}

func (s *ContactService) decide(ctx context.Context, a *kizuna.Actor, id string, ch store.ContactChange, audit *kizuna.AuditEntry) (*ApprovalView, error) {
	c, err := s.store.ChangeContact(ctx, "", a.Account.TenantID, id, ch, audit)
	if err != nil {
		return nil, err
	}
	s.notifyContact(c)
	people, err := s.people(ctx, a.Account, c.Requester, c.Target)
	if err != nil {
		return nil, err
	}
	return &ApprovalView{Contact: c, Requester: people[0], Target: people[1], Expired: c.Expired(s.now())}, nil
}

func (s *ContactService) contactAudit(a *kizuna.Actor, c *kizuna.Contact, action, details string) *kizuna.AuditEntry {
	return &kizuna.AuditEntry{ID: kizuna.NewID(), TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: action, TargetID: c.ID,
		Target: c.Requester.Address() + " → " + c.Target.Address(), Details: details}
}

func fmtExpiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// Policy returns the actor's tenant's external-talk policy (members).
func (s *ContactService) Policy(ctx context.Context) (kizuna.ExternalPolicy, error) {
	a, err := member(ctx)
	if err != nil {
		return kizuna.ExternalPolicy{}, err
	}
	t, err := s.store.Tenant(ctx, a.Account.TenantID)
	if err != nil {
		return kizuna.ExternalPolicy{}, err
	}
	return t.Settings.External, nil
}

// casAttempts bounds retries of a change that lost a race with another
// admin's: each retry reads again, so the audit's "before" is true.
const casAttempts = 3

// SetPolicy replaces the actor's tenant's external-talk policy (admins
// only), audited with the values before and after. It takes effect on
// the next message: talk checks read it fresh. Errors: invalid
// "invalid_policy"; conflict "policy_changed" under heavy contention.
func (s *ContactService) SetPolicy(ctx context.Context, p kizuna.ExternalPolicy) (kizuna.ExternalPolicy, error) {
	a, err := admin(ctx)
	if err != nil {
		return kizuna.ExternalPolicy{}, err
	}
	if !p.AddContacts.Valid() {
		return kizuna.ExternalPolicy{}, kizuna.Errorf(kizuna.ErrInvalid, "invalid_policy", "add_contacts must be free, approval or admins_only.")
	}
	for attempt := 1; ; attempt++ {
		t, err := s.store.Tenant(ctx, a.Account.TenantID)
		if err != nil {
			return kizuna.ExternalPolicy{}, err
		}
		before := t.Settings.External
		if before == p {
			return p, nil // nothing changes, nothing to audit
		}
		audit := &kizuna.AuditEntry{ID: kizuna.NewID(), TenantID: t.ID, ActorID: a.Account.ID, Action: "tenant.external_policy", TargetID: t.ID, Target: t.Name,
			Details: fmt.Sprintf("before=%s after=%s", fmtPolicy(before), fmtPolicy(p))}
		t, err = s.store.SetExternalPolicy(ctx, t.ID, before, p, audit)
		if kizuna.ErrorCode(err) == "policy_changed" && attempt < casAttempts {
			continue
		}
		if err != nil {
			return kizuna.ExternalPolicy{}, err
		}
		return t.Settings.External, nil
	}
}

func fmtPolicy(p kizuna.ExternalPolicy) string {
	return fmt.Sprintf("{allow_personal:%v allow_other_tenants:%v add_contacts:%s}", p.AllowPersonal, p.AllowOtherTenants, p.AddContacts)
}

// SetExternalTalk sets a member's exception to the tenant's external-talk
// policy (admins only), audited with the values before and after.
// Errors: invalid "invalid_external_talk"; not_found (also for other
// tenants' members); conflict "policy_changed".
func (s *ContactService) SetExternalTalk(ctx context.Context, memberID string, mode kizuna.ExternalTalk) (*Person, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	if !mode.Valid() {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_external_talk", `mode must be "" (follow the tenant), "allow" or "deny".`)
	}
	for attempt := 1; ; attempt++ {
		m, err := s.store.Account(ctx, a.Account.TenantID, memberID)
		if err != nil {
			return nil, err
		}
		if m.ExternalTalk != mode {
			audit := &kizuna.AuditEntry{ID: kizuna.NewID(), TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: "member.external_talk",
				TargetID: m.ID, Target: m.Address(), Details: fmt.Sprintf("before=%q after=%q", m.ExternalTalk, mode)}
			m, err = s.store.SetExternalTalk(ctx, a.Account.TenantID, memberID, m.ExternalTalk, mode, audit)
			if kizuna.ErrorCode(err) == "policy_changed" && attempt < casAttempts {
				continue
			}
			if err != nil {
				return nil, err
			}
		}
		return s.person(ctx, a.Account, m)
	}
}

// notifyContact tells both parties' connections that a contact changed,
// so clients refresh their contact lists and approval queues.
func (s *ContactService) notifyContact(c *kizuna.Contact) {
	if c == nil {
		return
	}
	s.notify(kizuna.NoticeContactUpdated, map[string]any{"contact_id": c.ID, "status": c.Status}, c.RequesterID, c.TargetID)
}
