package store

import (
	"context"

	"github.com/kizuna-chat/kizuna"
)

// Reclassification stores hand-overs of a person's rooms between their
// internal and external accounts (issue 4).
type Reclassification interface {
	// SharedRooms lists the rooms accountID is in together with at least
	// one live member of tenantID (other than itself); directOnly keeps
	// only direct rooms.
	SharedRooms(ctx context.Context, accountID, tenantID string, directOnly bool) ([]kizuna.RoomShare, error)
	// CreateHandover stores a pending hand-over and deletes its member
	// (the from account, which must be a live member of h.TenantID) with
	// its sessions, in one transaction with the audit entry. Errors:
	// not_found; conflict "handover_pending".
	CreateHandover(ctx context.Context, h *kizuna.Handover, audit *kizuna.AuditEntry) error
	// Handover returns a hand-over. Errors: not_found.
	Handover(ctx context.Context, id string) (*kizuna.Handover, error)
	// Handovers lists the hand-overs of a tenant (made by its admins) or,
	// with tenantID "", those offered to toID; newest first.
	Handovers(ctx context.Context, tenantID, toID string) ([]*kizuna.Handover, error)
	// FinishHandover moves a pending hand-over to status, with the audit
	// entry. Errors: not_found; conflict "handover_not_pending".
	FinishHandover(ctx context.Context, id string, status kizuna.HandoverStatus, audit *kizuna.AuditEntry) (*kizuna.Handover, error)
	// FormerAccount returns an account of a tenant whatever its status
	// (a removed member, as a hand-over shows it). Errors: not_found.
	FormerAccount(ctx context.Context, tenantID, id string) (*kizuna.Account, error)
}
