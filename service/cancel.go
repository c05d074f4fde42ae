package service

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/hub"
	"github.com/kizuna-chat/kizuna/store"
)

// Tenant cancellation (R13): the owner sees what would change, confirms
// with the tenant's name, and gets a restore code. The tenant then sleeps
// for the retention period — nobody in it can sign in, its domains belong
// to nobody, their names stay reserved — and is purged afterwards (see
// PurgeExpired).

var errOwnerOnly = kizuna.Errorf(kizuna.ErrForbidden, "owner_required", "Only an owner of the tenant can cancel it.")

// owner returns a signed-in actor that owns its tenant: cancelling ends
// everyone's access, which is more than an admin's act.
func owner(ctx context.Context) (*kizuna.Actor, error) {
	a, err := member(ctx)
	if err != nil {
		return nil, err
	}
	if a.Account.Role != kizuna.RoleOwner {
		return nil, errOwnerOnly
	}
	return a, nil
}

// restoreCodePrefix marks restore codes, so that a pasted invite code or
// session token is told apart from a wrong restore code.
const restoreCodePrefix = "kzr_"

// CancellationPreview tells the owner what cancelling the tenant would
// change: members, domains, the rooms they are in, invite links, pending
// mail, and when everything would be purged (owners only).
func (s *TenantService) CancellationPreview(ctx context.Context) (*kizuna.TenantImpact, error) {
	a, err := owner(ctx)
	if err != nil {
		return nil, err
	}
	imp, err := s.store.TenantImpact(ctx, a.Account.TenantID)
	if err != nil {
		return nil, err
	}
	imp.PurgeAfter = s.now().Add(s.cfg.DeletedRetention).UTC()
	return imp, nil
}

// CancelledTenant is the answer to a cancellation. RestoreCode is shown
// this once; only its hash is stored.
type CancelledTenant struct {
	Tenant      *kizuna.Tenant
	Impact      *kizuna.TenantImpact
	RestoreCode string
}

// Cancel cancels the actor's tenant (owners only). confirm must be the
// tenant's exact name: a cancellation is never a single careless click.
// Every member is signed out at once and cannot sign in; the tenant can be
// restored with the returned code until the purge date. Errors: forbidden
// "owner_required"; invalid "confirmation_required".
func (s *TenantService) Cancel(ctx context.Context, confirm string) (*CancelledTenant, error) {
	a, err := owner(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.store.Tenant(ctx, a.Account.TenantID)
	if err != nil {
		return nil, err
	}
	if confirm != t.Name {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "confirmation_required", "Type the tenant's name (%s) exactly as confirm to cancel it.", t.Name)
	}
	imp, err := s.store.TenantImpact(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	until := s.now().Add(s.cfg.DeletedRetention).UTC()
	imp.PurgeAfter = until
	code := restoreCodePrefix + randomToken()
	sum := sha256.Sum256([]byte(code))
	audit := &kizuna.AuditEntry{ID: kizuna.NewID(), TenantID: t.ID, ActorID: a.Account.ID, Action: "tenant.cancel", TargetID: t.ID, Target: t.Name,
		Details: fmt.Sprintf("%d members, domains %s, %d rooms (%d shared with others), %d invite links, %d pending mails; restorable until %s",
			imp.Members, strings.Join(imp.Domains, " "), imp.Rooms, imp.SharedRooms, imp.InviteLinks, imp.PendingMail, until.Format(time.RFC3339))}
	if err := s.store.CancelTenant(ctx, t.ID, until, sum[:], audit); err != nil {
		return nil, err
	}
	s.roomsChanged() // its members belong to nobody now
	// Their sessions are gone: streams open on any node check theirs now.
	s.cfg.Hub.Publish([]hub.Event{{Everyone: true, Control: ControlSessionsChanged}})
	if t, err = s.store.Tenant(ctx, t.ID); err != nil {
		return nil, err
	}
	return &CancelledTenant{Tenant: t, Impact: imp, RestoreCode: code}, nil
}

// RestoreWithCode restores a cancelled tenant with the code its owner got
// at cancellation, before the purge date. Nobody of the tenant can sign in
// meanwhile, so the code is the proof. It works once. Errors: invalid
// "invalid_code" (not a restore code at all); not_found "not_restorable"
// (used, purged, past its purge date, or unknown).
func (s *TenantService) RestoreWithCode(ctx context.Context, code string) (*kizuna.Tenant, error) {
	code = strings.TrimSpace(code)
	if !strings.HasPrefix(code, restoreCodePrefix) || len(code) != len(restoreCodePrefix)+43 {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_code", "That is not a restore code; it starts with %s and was shown once when the tenant was cancelled.", restoreCodePrefix)
	}
	sum := sha256.Sum256([]byte(code))
	t, err := s.store.TenantByRestoreCode(ctx, sum[:])
	if err != nil {
		return nil, err
	}
	audit := &kizuna.AuditEntry{ID: kizuna.NewID(), Action: "tenant.restore", Details: "with the restore code shown at cancellation"}
	return s.restored(s.store.RestoreTenant(ctx, t.ID, sum[:], audit))
}

// OperatorRestore restores a cancelled tenant, named by its ID or one of
// its domain names, as the server operator (the CLI). Errors: not_found
// "not_restorable".
func (s *TenantService) OperatorRestore(ctx context.Context, ref string) (*kizuna.Tenant, error) {
	cancelled, err := s.store.CancelledTenants(ctx)
	if err != nil {
		return nil, err
	}
	ref = strings.TrimSpace(ref)
	name, _ := kizuna.NormalizeDomain(ref)
	for _, c := range cancelled {
		match := c.Tenant.ID == ref
		for _, d := range c.Domains {
			match = match || (name != "" && d == name)
		}
		if match {
			audit := &kizuna.AuditEntry{ID: kizuna.NewID(), Action: "tenant.restore", Details: "by the server operator"}
			return s.restored(s.store.RestoreTenant(ctx, c.Tenant.ID, nil, audit))
		}
	}
	return nil, kizuna.Errorf(kizuna.ErrNotFound, "not_restorable", "No cancelled tenant has the ID or domain %q; it may have been purged already.", truncateForLog(ref))
}

// restored passes a restore's result on, telling cached room members that
// the tenant's people are its members again.
func (s *TenantService) restored(t *kizuna.Tenant, err error) (*kizuna.Tenant, error) {
	if err != nil {
		return nil, err
	}
	s.roomsChanged()
	return t, nil
}

// CancelledTenants lists the cancelled tenants not yet purged, soonest
// purge first, for the server operator (the CLI).
func (s *TenantService) CancelledTenants(ctx context.Context) ([]store.CancelledTenant, error) {
	return s.store.CancelledTenants(ctx)
}
