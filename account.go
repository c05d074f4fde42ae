package kizuna

import "time"

// Tenant is a "works group": a company, a department or a project team. It
// owns one or more domains (R1), and the members whose IDs are in them (R2).
type Tenant struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Settings  TenantSettings `json:"settings"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	// CancelledAt is set on a tenant its owner cancelled (R13): its
	// members cannot sign in and its domains belong to nobody, but their
	// names stay reserved and everything can be restored until
	// PurgeAfter, when the purge job deletes it all.
	CancelledAt time.Time `json:"cancelled_at,omitzero"`
	PurgeAfter  time.Time `json:"purge_after,omitzero"`
}

// TenantImpact is what cancelling a tenant would change (R13), shown to
// the owner before they confirm.
type TenantImpact struct {
	Members        int      `json:"members"`
	Domains        []string `json:"domains"`         // live domain names, all released at purge
	DeletedDomains []string `json:"deleted_domains"` // soft-deleted names, purged with the tenant at the latest
	// Rooms counts the rooms the members are in; SharedRooms those of
	// them that also hold people outside the tenant, where the members'
	// messages stay after the purge.
	Rooms       int       `json:"rooms"`
	SharedRooms int       `json:"shared_rooms"`
	InviteLinks int       `json:"invite_links"` // usable ones
	PendingMail int       `json:"pending_mail"`
	PurgeAfter  time.Time `json:"purge_after"`
}

// TenantSettings are the choices a tenant's admins make about accounts.
type TenantSettings struct {
	// InitialPasswordTTLHours is how long an unused initial password works
	// before it must be reissued; 0 means no limit.
	InitialPasswordTTLHours int `json:"initial_password_ttl_hours"`
	// AllowTypedInitialPasswords lets admins type an initial password
	// instead of having one generated.
	AllowTypedInitialPasswords bool `json:"allow_typed_initial_passwords"`
	// MembersCreateInviteLinks lets members who are not admins create
	// invite links.
	MembersCreateInviteLinks bool `json:"members_create_invite_links"`
	// External is the external-talk policy (R9). It changes only through
	// its own audited act, never with the other settings.
	External ExternalPolicy `json:"external_policy"`
}

// DefaultTenantSettings are the settings of a new tenant.
var DefaultTenantSettings = TenantSettings{InitialPasswordTTLHours: 720, AllowTypedInitialPasswords: true, External: DefaultExternalPolicy}

// MaxInitialPasswordTTLHours bounds the initial-password lifetime (a year).
const MaxInitialPasswordTTLHours = 24 * 366

// MaxTenantNameLength bounds tenant and display names, in characters.
const (
	MaxTenantNameLength  = 100
	MaxDisplayNameLength = 100
)

// Domain is a DNS-like name owned by exactly one tenant. Name is the
// canonical ASCII form (see NormalizeDomain); the ID never changes, so a
// rename touches one row.
type Domain struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// VerificationToken is what a DNS TXT record must hold to prove the
	// tenant controls the name; VerifiedAt is when that was last proven.
	VerificationToken string
	VerifiedAt        time.Time
	// DeletedAt is set on a deleted domain, which can be restored until
	// PurgeAfter; its name stays reserved meanwhile (R11).
	DeletedAt  time.Time
	PurgeAfter time.Time
}

// DomainImpact is what deleting a domain would change (R11).
type DomainImpact struct {
	Members         int      `json:"members"`
	MemberIDs       []string `json:"sample_member_ids"` // sign-in IDs, at most 100
	InviteLinks     int      `json:"invite_links"`
	PendingMail     int      `json:"pending_mail"`
	Conflicts       []string `json:"move_conflicts"` // local parts taken in the target domain, at most 100
	ConflictCount   int      `json:"move_conflict_count"`
	IsLastDomain    bool     `json:"is_last_domain"`
	OwnersInDomain  int      `json:"owners_in_domain"`
	OwnersElsewhere int      `json:"owners_elsewhere"`
}

// AccountKind tells a tenant member from a personal (consumer) account.
type AccountKind string

// Account kinds.
const (
	KindMember   AccountKind = "member"
	KindPersonal AccountKind = "personal"
)

// Role is a member's role in its tenant.
type Role string

// Roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// IsAdmin reports whether the role may run the tenant.
func (r Role) IsAdmin() bool { return r == RoleOwner || r == RoleAdmin }

// AccountStatus is the lifecycle state of an account.
type AccountStatus string

// Account states. Deleted accounts keep their row (history refers to it)
// but free their ID at once, so the person can be added again (R13).
const (
	StatusActive    AccountStatus = "active"
	StatusSuspended AccountStatus = "suspended"
	StatusDeleted   AccountStatus = "deleted"
)

// Account is a member of a tenant (ID local@domain) or a personal account
// (a handle, no tenant). The ID is a stable key; the address is an
// attribute that follows domain renames.
type Account struct {
	ID                 string
	Kind               AccountKind
	TenantID           string // empty for personal accounts
	DomainID           string // empty for personal accounts
	Local              string // local part, or the handle of a personal account
	DomainName         string // canonical name of DomainID at read time
	TenantName         string // name of TenantID at read time
	DisplayName        string
	ContactMail        string // where invitation mail goes; optional
	Role               Role
	Status             AccountStatus
	MustChangePassword bool
	// ExternalTalk is the member's exception to the tenant's
	// external-talk policy ("" follows the tenant).
	ExternalTalk ExternalTalk
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Address returns the sign-in ID: "local@domain" for members, the handle
// for personal accounts.
func (a *Account) Address() string {
	if a.Kind == KindPersonal {
		return a.Local
	}
	return a.Local + "@" + a.DomainName
}

// Credential is the stored secret of an account: a self-describing hash
// (see package password) and whether it is an admin-issued initial one.
type Credential struct {
	Hash    string
	Initial bool
	SetAt   time.Time
	// ExpiresAt ends an unused initial password (zero: never).
	ExpiresAt time.Time
}

// Expired reports whether an initial password has passed its expiry.
func (c Credential) Expired(now time.Time) bool {
	return c.Initial && !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt)
}

// Session is a signed-in account on a client. Only the SHA-256 of the
// token is stored; the token itself is shown once, at sign-in.
type Session struct {
	ID        string
	AccountID string
	TokenHash []byte
	// PasswordChangeOnly marks a session opened with an initial password:
	// it may do nothing but set a new password (R6).
	PasswordChangeOnly bool
	// ClientID is the client (device) holding the session, if it said.
	ClientID  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Client is a device or browser profile that holds up to a server-set
// number of signed-in accounts at once (R5). It proves itself with a
// token of its own, stored hashed.
type Client struct {
	ID        string
	TokenHash []byte
	CreatedAt time.Time
}

// AuditEntry is one line of the audit trail (R14): an admin act or a
// security event. Details never hold a password.
type AuditEntry struct {
	ID         string    `json:"id"`
	TenantID   string    `json:"tenant_id,omitempty"`
	ActorID    string    `json:"actor_id,omitempty"`
	Action     string    `json:"action"`
	TargetID   string    `json:"target_id,omitempty"`
	Target     string    `json:"target,omitempty"`
	SourceAddr string    `json:"source_addr,omitempty"`
	Details    string    `json:"details,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// InviteLink lets whoever holds its code create an internal ID in one of
// the allowed domains (R8), until it expires, is used up or revoked.
type InviteLink struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	CreatedBy string    `json:"created_by"`
	DomainIDs []string  `json:"domain_ids"`
	ExpiresAt time.Time `json:"expires_at"`
	MaxUses   int       `json:"max_uses"`
	Uses      int       `json:"uses"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

// Usable reports whether the link can still be used at now.
func (l *InviteLink) Usable(now time.Time) bool {
	return l.RevokedAt.IsZero() && now.Before(l.ExpiresAt) && l.Uses < l.MaxUses
}

// DomainTransfer hands a domain, with everyone in it, from one tenant to
// another: everyone in it is reclassified for every viewer at once (R3).
type DomainTransfer struct {
	ID         string    `json:"id"`
	DomainID   string    `json:"domain_id"`
	DomainName string    `json:"domain"`
	FromTenant string    `json:"from_tenant_id"`
	FromName   string    `json:"from_tenant"`
	ToTenant   string    `json:"to_tenant_id"`
	ToName     string    `json:"to_tenant"`
	CreatedBy  string    `json:"created_by"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}
