package store

import (
	"context"
	"time"

	"github.com/kizuna-chat/kizuna"
)

// ContactFilter selects one account's contacts, a page at a time, in ID
// order (IDs sort by creation time).
type ContactFilter struct {
	After string // contacts with an ID greater than this
	Limit int    // <= 0 means 50
}

// ContactChange is a state change of a contact, applied only when the
// contact is still in the state the caller decided on (From, FromStage):
// two admins approving at once, or a decline racing an accept, leave one
// winner and one conflict.
type ContactChange struct {
	From      kizuna.ContactStatus
	FromStage kizuna.ApprovalStage
	// To, Stage and ApproverTenantID are the new state; ApproverTenantID
	// is set exactly when To is awaiting_approval.
	To               kizuna.ContactStatus
	Stage            kizuna.ApprovalStage
	ApproverTenantID string
	DeclinedBy       string
	// ExpiresAt, when set, replaces the expiry (a zero time pointed to
	// clears it).
	ExpiresAt *time.Time
}

// Contacts stores external contacts, contact codes, the approval queue and
// the external-talk policy with its member exceptions (R9). It decides
// nothing: the service layer checks policies and roles before calling.
type Contacts interface {
	// CreateContact stores a new contact between c.RequesterID and
	// c.TargetID and sets its times. When replaceID is set, that contact
	// of the same pair (an expired or declined one) is removed in the same
	// transaction. Errors: conflict "contact_exists" when the pair holds a
	// contact (another request won a race); invalid "invalid_reference"
	// for unknown accounts.
	CreateContact(ctx context.Context, c *kizuna.Contact, replaceID string) error
	// Contact returns a contact that accountID is a party of, with both
	// accounts. Errors: not_found, also for other people's contacts.
	Contact(ctx context.Context, accountID, id string) (*kizuna.Contact, error)
	// ContactBetween returns the contact of a pair, whoever asked.
	// Errors: not_found.
	ContactBetween(ctx context.Context, a, b string) (*kizuna.Contact, error)
	// ListContacts lists an account's contacts whose other party is not
	// deleted, a page at a time.
	ListContacts(ctx context.Context, accountID string, f ContactFilter) ([]*kizuna.Contact, error)
	// ChangeContact applies ch to a contact of accountID's, or, when
	// accountID is "", to one awaiting approval by approverTenantID; the
	// audit entry, when given, is written in the same transaction.
	// Errors: not_found (not the party's or the tenant's); conflict
	// "contact_changed" when it left ch.From meanwhile.
	ChangeContact(ctx context.Context, accountID, approverTenantID, id string, ch ContactChange, audit *kizuna.AuditEntry) (*kizuna.Contact, error)
	// DeleteContact removes a contact of accountID's, for both parties.
	// Errors: not_found.
	DeleteContact(ctx context.Context, accountID, id string) error
	// PendingApprovals lists the contacts awaiting approval by a tenant's
	// admins, oldest first, a page at a time.
	PendingApprovals(ctx context.Context, tenantID string, f ContactFilter) ([]*kizuna.Contact, error)
	// PendingApproval returns one contact awaiting approval by a tenant.
	// Errors: not_found, also for other tenants' queues.
	PendingApproval(ctx context.Context, tenantID, id string) (*kizuna.Contact, error)
	// CountingContacts reports which of others hold an accepted contact
	// with accountID that has not expired at now.
	CountingContacts(ctx context.Context, accountID string, others []string, now time.Time) (map[string]bool, error)

	// SetContactCode stores the hash of an account's contact code,
	// replacing its previous one.
	SetContactCode(ctx context.Context, accountID string, hash []byte) error
	// AccountByContactCode returns the live account whose code hashes to
	// hash. Errors: not_found.
	AccountByContactCode(ctx context.Context, hash []byte) (*kizuna.Account, error)

	// SetExternalPolicy replaces a tenant's external-talk policy if it is
	// still before, with the audit entry in the same transaction. Errors:
	// not_found; conflict "policy_changed" when another admin changed it
	// meanwhile.
	SetExternalPolicy(ctx context.Context, tenantID string, before, after kizuna.ExternalPolicy, audit *kizuna.AuditEntry) (*kizuna.Tenant, error)
	// SetExternalTalk sets a live member's exception if it is still
	// before, with the audit entry in the same transaction. Errors:
	// not_found (also for other tenants' members); conflict
	// "policy_changed".
	SetExternalTalk(ctx context.Context, tenantID, accountID string, before, after kizuna.ExternalTalk, audit *kizuna.AuditEntry) (*kizuna.Account, error)
	// TalkParties returns, with one read, what the external-talk rule
	// needs about each live account: kind, address, tenant, the tenant's
	// policy and the member's exception. Deleted and unknown accounts are
	// absent.
	TalkParties(ctx context.Context, accountIDs []string) (map[string]kizuna.TalkParty, error)
}
