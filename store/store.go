// Package store declares what the service layer needs from persistent
// storage, one small interface per concern. Two engines implement them
// (package sqlstore, opened through packages sqlite and postgres), and one
// suite (package storetest) holds them to the same behaviour.
//
// Store methods decide nothing: authorization, validation and policy live in
// the service layer. Every method that reads tenant data takes the tenant
// scope explicitly and puts it in its WHERE clause; a row of another tenant
// answers not_found exactly like a missing one.
package store

import (
	"context"
	"time"

	"github.com/kizuna-chat/kizuna"
)

// Store is everything a Kizuna server keeps.
type Store interface {
	Tenants
	Domains
	Accounts
	Sessions
	Setup
	Clients
	Throttle
	Audit
	SheetTickets
	InviteLinks
	MailQueue
	Talk
	Contacts
	TenantLifecycle
	Reclassification
	Groups
	Leases
	// Ping checks that the database answers (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// NewTenant is a tenant created together with its first domain and owner,
// in one transaction.
type NewTenant struct {
	Tenant     *kizuna.Tenant
	Domain     *kizuna.Domain
	Owner      *kizuna.Account
	Credential kizuna.Credential
}

// Tenants stores tenants.
type Tenants interface {
	// CreateTenant stores a tenant, its first domain and its owner
	// atomically. Errors: conflict "domain_taken".
	CreateTenant(ctx context.Context, nt NewTenant) error
	// Tenant returns a tenant. Errors: not_found.
	Tenant(ctx context.Context, id string) (*kizuna.Tenant, error)
	// RenameTenant changes a tenant's name. Errors: not_found.
	RenameTenant(ctx context.Context, id, name string) (*kizuna.Tenant, error)
	// CountTenants returns how many tenants exist.
	CountTenants(ctx context.Context) (int, error)
	// UpdateTenantSettings replaces a tenant's settings. Errors: not_found.
	UpdateTenantSettings(ctx context.Context, id string, s kizuna.TenantSettings) (*kizuna.Tenant, error)
}

// Domains stores domains and answers the domain→tenant mapping.
type Domains interface {
	// AddDomain stores a domain for d.TenantID. Errors: conflict
	// "domain_taken" when the name is owned by any tenant; not_found when
	// the tenant does not exist.
	AddDomain(ctx context.Context, d *kizuna.Domain) error
	// Domains lists a tenant's domains by name.
	Domains(ctx context.Context, tenantID string) ([]kizuna.Domain, error)
	// Domain returns a domain of a tenant. Errors: not_found.
	Domain(ctx context.Context, tenantID, domainID string) (*kizuna.Domain, error)
	// MarkDomainVerified records that the domain's TXT record was found
	// now. Errors: not_found.
	MarkDomainVerified(ctx context.Context, tenantID, domainID string) (*kizuna.Domain, error)
	// DomainByName returns the domain with a canonical name. Errors: not_found.
	DomainByName(ctx context.Context, name string) (*kizuna.Domain, error)
	// RenameDomain renames a domain of a tenant in one transaction: the old
	// name becomes an alias that signs in and stays reserved until
	// graceUntil, and the audit entry is written with the change.
	// Renaming back to a reserved former name of the same domain is
	// allowed. Errors: not_found; conflict "domain_taken" (owned or
	// reserved by another domain).
	RenameDomain(ctx context.Context, tenantID, domainID, newName string, graceUntil time.Time, audit *kizuna.AuditEntry) (*kizuna.Domain, error)
	// DeletedDomains lists a tenant's deleted, not yet purged domains.
	DeletedDomains(ctx context.Context, tenantID string) ([]kizuna.Domain, error)
	// DomainImpact tells what deleting a domain would change; moveTo, when
	// set, is the domain its members would move to. Errors: not_found.
	DomainImpact(ctx context.Context, tenantID, domainID, moveTo string) (*kizuna.DomainImpact, error)
	// DeleteDomain soft-deletes a domain in one transaction: its members
	// move to moveTo, or (moveTo "") are deleted with it; the name stays
	// reserved until purgeAfter. Errors: not_found; conflict
	// "last_domain", "last_owner", "local_part_taken"; invalid
	// "invalid_move_target".
	DeleteDomain(ctx context.Context, tenantID, domainID, moveTo string, purgeAfter time.Time, audit *kizuna.AuditEntry) error
	// RestoreDomain undoes a deletion within the retention period, with
	// the members deleted with it. Errors: not_found "not_restorable";
	// conflict "id_taken".
	RestoreDomain(ctx context.Context, tenantID, domainID string, audit *kizuna.AuditEntry) (*kizuna.Domain, error)
	// CreateDomainTransfer stores a pending transfer offer.
	CreateDomainTransfer(ctx context.Context, t *kizuna.DomainTransfer) error
	// DomainTransfers lists a tenant's pending offers, made or received.
	DomainTransfers(ctx context.Context, tenantID string) ([]*kizuna.DomainTransfer, error)
	// AcceptDomainTransfer moves the domain of a pending offer made to
	// toTenant, in one transaction with the audit entries: the domain
	// changes owner, its members' roles become member, and the source's
	// invite links naming it are revoked. Errors: not_found; conflict
	// "last_domain", "last_owner".
	AcceptDomainTransfer(ctx context.Context, toTenant, id string, audit []*kizuna.AuditEntry) (*kizuna.DomainTransfer, error)
	// CancelDomainTransfer withdraws or declines a pending offer of either
	// tenant. Errors: not_found.
	CancelDomainTransfer(ctx context.Context, tenantID, id string) error
	// CountMembers counts a tenant's live members.
	CountMembers(ctx context.Context, tenantID string) (int, error)
	// DomainOwners returns the current owner of each given domain ID;
	// unknown and deleted domains are absent from the map (nobody owns
	// them now).
	DomainOwners(ctx context.Context, domainIDs []string) (map[string]kizuna.DomainOwner, error)
}

// AccountFilter selects accounts of one tenant, a page at a time, in ID
// order (IDs sort by creation time).
type AccountFilter struct {
	After          string // return accounts with an ID greater than this
	Limit          int
	IncludeDeleted bool
}

// AccountUpdate changes the fields that are set.
type AccountUpdate struct {
	DisplayName *string
	Role        *kizuna.Role
	Status      *kizuna.AccountStatus
}

// Accounts stores accounts and their credentials.
type Accounts interface {
	// AddAccount stores an account with its credential. For members,
	// a.DomainID must be a domain of tenantID. Errors: conflict
	// "id_taken" (the local part is in use in that domain, or the handle
	// is taken); not_found "domain_not_found" when the domain is not the
	// tenant's.
	AddAccount(ctx context.Context, tenantID string, a *kizuna.Account, c kizuna.Credential) error
	// AddAccounts stores many accounts in one transaction: all or none.
	// Errors as AddAccount, for the first row that fails.
	AddAccounts(ctx context.Context, tenantID string, as []*kizuna.Account, cs []kizuna.Credential) error
	// Account returns an account of a tenant ("" for personal accounts).
	// Errors: not_found, also for deleted accounts and other tenants'.
	Account(ctx context.Context, tenantID, id string) (*kizuna.Account, error)
	// AccountByID returns any non-deleted account by key, whatever its
	// tenant; for session checks only. Errors: not_found.
	AccountByID(ctx context.Context, id string) (*kizuna.Account, error)
	// AccountByAddress finds the live account with a sign-in ID: domain ""
	// means a personal handle. A renamed domain's former name finds its
	// members until the alias expires. Errors: not_found.
	AccountByAddress(ctx context.Context, local, domain string) (*kizuna.Account, error)
	// Credential returns an account's current credential. Errors: not_found.
	Credential(ctx context.Context, accountID string) (kizuna.Credential, error)
	// SetCredential replaces an account's credential and its
	// must-change-password flag, and revokes all its sessions when
	// revokeSessions is set, in one transaction.
	SetCredential(ctx context.Context, accountID string, c kizuna.Credential, mustChange, revokeSessions bool) error
	// Accounts lists a tenant's accounts, a page at a time.
	Accounts(ctx context.Context, tenantID string, f AccountFilter) ([]*kizuna.Account, error)
	// UpdateAccount changes an account of a tenant and returns it as
	// updated (also when deleted). Errors: not_found.
	UpdateAccount(ctx context.Context, tenantID, id string, u AccountUpdate) (*kizuna.Account, error)
	// CountOwners counts a tenant's active owners (the last one may not go).
	CountOwners(ctx context.Context, tenantID string) (int, error)
	// ExistingLocals returns which of the local parts are in use by live
	// accounts in a domain.
	ExistingLocals(ctx context.Context, domainID string, locals []string) (map[string]bool, error)
}

// Sessions stores sign-in sessions by the hash of their token.
type Sessions interface {
	// CreateSession stores a session.
	CreateSession(ctx context.Context, s *kizuna.Session) error
	// SessionByTokenHash returns a live (unexpired) session. Errors: not_found.
	SessionByTokenHash(ctx context.Context, hash []byte) (*kizuna.Session, error)
	// DeleteSession revokes one session; deleting a missing one is no error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteAccountSessions revokes every session of an account.
	DeleteAccountSessions(ctx context.Context, accountID string) error
}

// Setup keeps the one-time setup token of an empty installation.
type Setup interface {
	// PutSetupToken replaces the stored setup token hash.
	PutSetupToken(ctx context.Context, hash []byte) error
	// SetupTokenHash returns the stored hash. Errors: not_found.
	SetupTokenHash(ctx context.Context) ([]byte, error)
	// DeleteSetupToken removes the setup token after use.
	DeleteSetupToken(ctx context.Context) error
}

// Clients stores the clients (devices) that hold several sessions (R5).
type Clients interface {
	// CreateClient stores a new client.
	CreateClient(ctx context.Context, c *kizuna.Client) error
	// ClientByTokenHash returns a client by the hash of its token.
	// Errors: not_found.
	ClientByTokenHash(ctx context.Context, hash []byte) (*kizuna.Client, error)
	// OpenClientSession stores s on its client. A live session of the same
	// account on that client is replaced; otherwise, when the client
	// already holds max accounts, nothing is stored and the error is
	// conflict "too_many_accounts". Atomic under concurrent sign-ins.
	OpenClientSession(ctx context.Context, s *kizuna.Session, max int) error
	// ClientSessions lists the live sessions a client holds, oldest first.
	ClientSessions(ctx context.Context, clientID string) ([]*kizuna.Session, error)
}

// Throttle counts sign-in failures per key so that guessing is slowed
// down on every node alike.
type Throttle interface {
	// LoginThrottle returns the latest lock of any of the keys (zero when
	// none is locked) and whether any key has failures on record.
	LoginThrottle(ctx context.Context, keys []string) (lockedUntil time.Time, failing bool, err error)
	// RecordLoginFailure counts a failure for key within a sliding window;
	// at max failures the key is locked for lockFor. It returns the lock
	// end (zero when not locked).
	RecordLoginFailure(ctx context.Context, key string, window time.Duration, max int, lockFor time.Duration) (time.Time, error)
	// ClearLoginFailures forgets a key's failures (after a success).
	ClearLoginFailures(ctx context.Context, key string) error
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Before string // entries with an ID lower than this
	Action string // exact action, or "" for all
	Limit  int
}

// Audit stores the audit trail (R14).
type Audit interface {
	// AppendAudit stores an entry.
	AppendAudit(ctx context.Context, e *kizuna.AuditEntry) error
	// AuditLog lists a tenant's entries, newest first.
	AuditLog(ctx context.Context, tenantID string, f AuditFilter) ([]*kizuna.AuditEntry, error)
	// DeleteAuditBefore removes entries older than t, at most limit of
	// them, and says how many went (the retention job calls it until 0).
	DeleteAuditBefore(ctx context.Context, t time.Time, limit int) (int, error)
}

// SheetTickets keeps encrypted initial passwords until their sheet is
// printed or the ticket expires.
type SheetTickets interface {
	// PutSheetTicket stores a ticket and removes expired ones.
	PutSheetTicket(ctx context.Context, id, tenantID string, ciphertext []byte, expires time.Time) error
	// SheetTicket returns a live ticket's ciphertext. Errors: not_found.
	SheetTicket(ctx context.Context, tenantID, id string) ([]byte, error)
}

// InviteLinks stores invite links by the hash of their code.
type InviteLinks interface {
	// CreateInviteLink stores a link.
	CreateInviteLink(ctx context.Context, l *kizuna.InviteLink, codeHash []byte) error
	// InviteLinks lists a tenant's links, newest first.
	InviteLinks(ctx context.Context, tenantID string) ([]*kizuna.InviteLink, error)
	// RevokeInviteLink ends a link of a tenant. Errors: not_found.
	RevokeInviteLink(ctx context.Context, tenantID, id string) error
	// InviteLinkByCodeHash returns a link by its code. Errors: not_found.
	InviteLinkByCodeHash(ctx context.Context, hash []byte) (*kizuna.InviteLink, error)
	// UseInviteLink consumes one use of a link and adds the account in one
	// transaction. Errors: conflict "invite_unusable" when the link was
	// revoked, expired or used up meanwhile; those of AddAccount.
	UseInviteLink(ctx context.Context, linkID string, a *kizuna.Account, c kizuna.Credential) error
}
