package store

import (
	"context"
	"time"

	"github.com/kizuna-chat/kizuna"
)

// CancelledTenant is a cancelled, not yet purged tenant with the names of
// its domains, for the server operator.
type CancelledTenant struct {
	Tenant  *kizuna.Tenant
	Domains []string // every domain name it holds, soft-deleted ones too
	Members int
}

// PurgeCounts says what a purge removed. A purge that found nothing to do
// (another node was first, or the tenant was restored) counts zero.
type PurgeCounts struct {
	Tenants  int `json:"tenants"`
	Domains  int `json:"domains"`
	Accounts int `json:"accounts"`
	// Rooms counts rooms deleted because no member was left in them;
	// rooms shared with people who stay keep the purged accounts'
	// messages under their sender IDs.
	Rooms int `json:"rooms"`
}

// Add sums two counts.
func (c PurgeCounts) Add(o PurgeCounts) PurgeCounts {
	return PurgeCounts{Tenants: c.Tenants + o.Tenants, Domains: c.Domains + o.Domains, Accounts: c.Accounts + o.Accounts, Rooms: c.Rooms + o.Rooms}
}

// TenantLifecycle stores tenant cancellation and the purge of what
// outlived its retention (R11, R13).
type TenantLifecycle interface {
	// TenantImpact tells what cancelling a live tenant would change (all
	// but PurgeAfter, which the caller decides). Errors: not_found, also
	// for a cancelled tenant.
	TenantImpact(ctx context.Context, tenantID string) (*kizuna.TenantImpact, error)
	// CancelTenant cancels a live tenant in one transaction: it is marked
	// cancelled until purgeAfter with the hash of its restore code, every
	// session of its members ends, its pending domain transfers are
	// withdrawn and the audit entry is written. Errors: not_found (also
	// when already cancelled).
	CancelTenant(ctx context.Context, tenantID string, purgeAfter time.Time, restoreCodeHash []byte, audit *kizuna.AuditEntry) error
	// TenantByRestoreCode returns the cancelled tenant whose restore code
	// has this hash. Errors: not_found "not_restorable" (no such code: it
	// was used, the tenant was purged, or it never existed).
	TenantByRestoreCode(ctx context.Context, codeHash []byte) (*kizuna.Tenant, error)
	// RestoreTenant undoes a cancellation before its purge date, in one
	// transaction with the audit entry (its TenantID and TargetID are set
	// to the tenant's). With a codeHash, only a tenant holding that
	// restore code is restored; nil means the server operator. The
	// restore code stops working. Errors: not_found "not_restorable".
	RestoreTenant(ctx context.Context, tenantID string, codeHash []byte, audit *kizuna.AuditEntry) (*kizuna.Tenant, error)
	// CancelledTenants lists the cancelled tenants not yet purged, the
	// soonest purge first.
	CancelledTenants(ctx context.Context) ([]CancelledTenant, error)
	// ExpiredTenants returns the IDs of at most limit cancelled tenants
	// whose purge date is at or before t.
	ExpiredTenants(ctx context.Context, t time.Time, limit int) ([]string, error)
	// PurgeTenant deletes everything of a cancelled tenant whose purge date
	// is at or before t, in one transaction: accounts with their
	// credentials, sessions, contacts and room memberships, its domains
	// (releasing their names), aliases, invite links, sheet tickets, mail,
	// groups, boards and audit entries, rooms left without members, then
	// the tenant. Messages its members sent to rooms that other people
	// stay in remain there. The delete is conditional, so a concurrent
	// purge of the same tenant finds nothing and counts zero.
	PurgeTenant(ctx context.Context, tenantID string, t time.Time) (PurgeCounts, error)
	// ExpiredDomains returns the IDs of at most limit deleted domains
	// whose purge date is at or before t.
	ExpiredDomains(ctx context.Context, t time.Time, limit int) ([]string, error)
	// PurgeDomain deletes a deleted domain whose purge date is at or
	// before t, in one transaction: the accounts still in it (those
	// deleted with it and those deleted before) with what PurgeTenant
	// deletes of accounts, its aliases, rooms left without members, and
	// the domain row, so its name is free again. The audit entry, when
	// given, is written to the domain's tenant (its TenantID, TargetID and
	// Target are set here). Conditional like PurgeTenant.
	PurgeDomain(ctx context.Context, domainID string, t time.Time, audit *kizuna.AuditEntry) (PurgeCounts, error)
}
