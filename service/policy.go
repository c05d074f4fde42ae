package service

import (
	"context"

	"github.com/kizuna-chat/kizuna"
)

// talkCheck decides whether account a may talk with each of others (R9).
// Accounts of a's own tenant always pass without a query. For any other
// account, both sides' tenant policies and member exceptions must allow
// it, and when needContact is set, a and that account must hold an
// accepted, unexpired contact. It returns nil, or a forbidden error with
// code "external_talk_forbidden" (a policy forbids it) or
// "contact_required", whose message names the person and the reason.
func (d *deps) talkCheck(ctx context.Context, a *kizuna.Account, others []*kizuna.Account, needContact bool) error {
	return nil // TODO(contacts): replaced by the external-talk policy.
}
