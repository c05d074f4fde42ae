package kizuna

import (
	"fmt"
	"time"
)

// ContactMode is how a tenant's members may add external contacts (R9).
type ContactMode string

// Contact modes.
const (
	// ContactsFree lets members add external contacts on their own.
	ContactsFree ContactMode = "free"
	// ContactsApproval makes an admin of the tenant approve each contact a
	// member requests or accepts.
	ContactsApproval ContactMode = "approval"
	// ContactsAdminsOnly lets only the tenant's admins have external
	// contacts.
	ContactsAdminsOnly ContactMode = "admins_only"
)

// Valid reports whether m is a known mode.
func (m ContactMode) Valid() bool {
	return m == ContactsFree || m == ContactsApproval || m == ContactsAdminsOnly
}

// ExternalPolicy is a tenant's external-talk policy (R9): whom its members
// may talk with outside the tenant, and how they may add external contacts.
type ExternalPolicy struct {
	AllowPersonal     bool        `json:"allow_personal"`
	AllowOtherTenants bool        `json:"allow_other_tenants"`
	AddContacts       ContactMode `json:"add_contacts"`
}

// DefaultExternalPolicy is the policy of a new tenant: open, as the
// product it is modelled on ships, so that nothing breaks before an admin
// decides otherwise.
var DefaultExternalPolicy = ExternalPolicy{AllowPersonal: true, AllowOtherTenants: true, AddContacts: ContactsFree}

// ExternalTalk is a member's exception to its tenant's external-talk
// policy, set by an admin.
type ExternalTalk string

// Member exceptions.
const (
	ExternalTalkDefault ExternalTalk = ""      // the tenant's policy decides
	ExternalTalkAllow   ExternalTalk = "allow" // talks outside even where the tenant says no
	ExternalTalkDeny    ExternalTalk = "deny"  // never talks outside, whatever the tenant says
)

// Valid reports whether e is a known exception.
func (e ExternalTalk) Valid() bool {
	return e == ExternalTalkDefault || e == ExternalTalkAllow || e == ExternalTalkDeny
}

// TalkParty is one side of a conversation as the external-talk rule sees
// it. For personal accounts only Kind and Address matter: they have no
// tenant and so no policy of their own.
type TalkParty struct {
	Kind       AccountKind
	Address    string // the sign-in ID, for reasons a person reads
	TenantID   string
	TenantName string
	Policy     ExternalPolicy
	Exception  ExternalTalk
}

// TalkDecision is whether two parties may talk and, when they may not, why
// in words a person understands.
type TalkDecision struct {
	Allowed bool
	Reason  string
}

// MayTalk decides whether a and b may talk (R9). Members of one tenant
// always may. Otherwise each member side must allow the other: its tenant
// allows personal accounts iff AllowPersonal and other tenants' members
// iff AllowOtherTenants, and the member's exception, when set, overrides
// the tenant either way. Personal accounts have no policy and so allow
// everyone; both sides must allow. It is a pure function of its inputs.
func MayTalk(a, b TalkParty) TalkDecision {
	if a.Kind == KindMember && b.Kind == KindMember && a.TenantID != "" && a.TenantID == b.TenantID {
		return TalkDecision{Allowed: true}
	}
	if reason, ok := sideAllows(a, b); !ok {
		return TalkDecision{Reason: reason}
	}
	if reason, ok := sideAllows(b, a); !ok {
		return TalkDecision{Reason: reason}
	}
	return TalkDecision{Allowed: true}
}

// sideAllows says whether self's side lets self talk with other, who is
// outside self's tenant, and why not.
func sideAllows(self, other TalkParty) (string, bool) {
	if self.Kind != KindMember {
		return "", true
	}
	switch self.Exception {
	case ExternalTalkAllow:
		return "", true
	case ExternalTalkDeny:
		return fmt.Sprintf("%s has turned off talk outside the tenant for %s", self.TenantName, self.Address), false
	}
	if other.Kind == KindPersonal {
		if self.Policy.AllowPersonal {
			return "", true
		}
		return fmt.Sprintf("%s does not allow talk with personal accounts", self.TenantName), false
	}
	if self.Policy.AllowOtherTenants {
		return "", true
	}
	return fmt.Sprintf("%s does not allow talk with other companies", self.TenantName), false
}

// ContactStatus is the state of an external contact.
type ContactStatus string

// Contact states. A contact moves
//
//	request ─▶ awaiting_approval (stage "request": the requester's tenant
//	           requires approval) ─approve─▶ awaiting_acceptance
//	request ─▶ awaiting_acceptance (no approval needed)
//	awaiting_acceptance ─accept─▶ awaiting_approval (stage "acceptance":
//	           the target's tenant requires approval) ─approve─▶ accepted
//	awaiting_acceptance ─accept─▶ accepted (no approval needed)
//	awaiting_acceptance or awaiting_approval ─decline or reject─▶ declined
//
// and deleting removes it, from any state, for both sides.
const (
	ContactAwaitingApproval   ContactStatus = "awaiting_approval"
	ContactAwaitingAcceptance ContactStatus = "awaiting_acceptance"
	ContactAccepted           ContactStatus = "accepted"
	ContactDeclined           ContactStatus = "declined"
)

// ApprovalStage tells whose tenant a contact awaiting approval waits for.
type ApprovalStage string

// Approval stages.
const (
	StageNone       ApprovalStage = ""
	StageRequest    ApprovalStage = "request"    // the requester's tenant, before the target is asked
	StageAcceptance ApprovalStage = "acceptance" // the target's tenant, after the target accepted
)

// Contact is an external contact between two accounts: one asked
// (Requester), the other is asked (Target). A pair holds at most one.
type Contact struct {
	ID          string
	RequesterID string
	TargetID    string
	Status      ContactStatus
	// Stage and ApproverTenantID say whose admins must approve while the
	// status is awaiting_approval.
	Stage            ApprovalStage
	ApproverTenantID string
	// DeclinedBy is "target" or "admin" on a declined contact.
	DeclinedBy string
	// ExpiresAt ends the contact (zero: never). An expired contact no
	// longer counts, whatever its status.
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	// Requester and Target are the two accounts as read with the contact.
	Requester *Account
	Target    *Account
}

// Expired reports whether the contact has passed its expiry at now.
func (c *Contact) Expired(now time.Time) bool {
	return !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt)
}

// Counts reports whether the contact lets the two talk where a contact is
// required: accepted and not expired.
func (c *Contact) Counts(now time.Time) bool {
	return c.Status == ContactAccepted && !c.Expired(now)
}

// Other returns the party of c that is not accountID.
func (c *Contact) Other(accountID string) *Account {
	if c.RequesterID == accountID {
		return c.Target
	}
	return c.Requester
}
