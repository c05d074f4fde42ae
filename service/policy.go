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
	var external []*kizuna.Account
	for _, o := range others {
		// This runs for every message sent: colleagues cost nothing.
		if o.ID == a.ID || (a.TenantID != "" && o.TenantID == a.TenantID) {
			continue
		}
		external = append(external, o)
	}
	if len(external) == 0 {
		return nil
	}
	// The policies and exceptions are read fresh, not taken from the
	// accounts given: those may come from a session or a cache older than
	// an admin's latest change.
	ids := make([]string, 0, len(external)+1)
	ids = append(ids, a.ID)
	for _, o := range external {
		ids = append(ids, o.ID)
	}
	parties, err := d.store.TalkParties(ctx, ids)
	if err != nil {
		return err
	}
	me, ok := parties[a.ID]
	if !ok {
		return kizuna.Errorf(kizuna.ErrForbidden, "external_talk_forbidden", "Your account is no longer active.")
	}
	for _, o := range external {
		p, ok := parties[o.ID]
		if !ok {
			return kizuna.Errorf(kizuna.ErrForbidden, "external_talk_forbidden", "You cannot talk with %s: the account is no longer active.", o.Address())
		}
		if dec := kizuna.MayTalk(me, p); !dec.Allowed {
			return kizuna.Errorf(kizuna.ErrForbidden, "external_talk_forbidden", "You cannot talk with %s: %s.", p.Address, dec.Reason)
		}
	}
	if !needContact {
		return nil
	}
	counting, err := d.store.CountingContacts(ctx, a.ID, ids[1:], d.now())
	if err != nil {
		return err
	}
	for _, o := range external {
		if !counting[o.ID] {
			return kizuna.Errorf(kizuna.ErrForbidden, "contact_required",
				"You cannot talk with %s: %s is external and not one of your accepted contacts; add them as a contact first.", o.Address(), o.Address())
		}
	}
	return nil
}
