package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// Reclassifying a person, both ways, without losing their conversations
// (R4, R8). Who is internal never changes by a flag: the person gets
// another account (an ID in the tenant's domain, or their external one),
// and their rooms move to it.
//
//   - external → internal: the admin issues the person an internal ID (or
//     sends an invite link), then carries over the direct rooms between
//     the person's external account and the tenant's members.
//   - internal → external: the admin removes the member and offers the
//     rooms they shared with the tenant's members to an external account
//     the person names; the rooms move when that account accepts.

// RoomMove is the outcome of moving one room to another account.
type RoomMove struct {
	RoomID string `json:"room_id"`
	Kind   string `json:"kind"`
	Name   string `json:"name,omitempty"`
	// Moved is false when the room stayed as it was, with Reason.
	Moved  bool   `json:"moved"`
	Reason string `json:"reason,omitempty"`
}

// Reclassification is a preview or the result of moving a person's
// rooms: which rooms, whom it affects and, in words, what changes for
// them.
type Reclassification struct {
	From  Person     `json:"-"`
	To    Person     `json:"-"`
	Rooms []RoomMove `json:"rooms"`
	// People counts the tenant's members who share a moved room with the
	// person: they see the person under the new account from now on.
	People  int    `json:"people"`
	Summary string `json:"summary"`
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func displayOf(p Person) string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.Address()
}

// resolveOne finds one live account by sign-in ID or account ID.
func (t *TalkService) resolveOne(ctx context.Context, ref string) (*kizuna.Account, error) {
	as, err := t.resolveAccounts(ctx, []string{ref})
	if err != nil {
		return nil, err
	}
	return as[0], nil
}

// carryOverParties checks a carry-over: from must be external to the
// admin's tenant, to one of its members.
func (t *TalkService) carryOverParties(ctx context.Context, fromRef, toRef string) (*kizuna.Actor, Person, Person, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, Person{}, Person{}, err
	}
	from, err := t.resolveOne(ctx, fromRef)
	if err != nil {
		return nil, Person{}, Person{}, err
	}
	to, err := t.store.Account(ctx, a.Account.TenantID, toRef)
	if errors.Is(err, kizuna.ErrNotFound) && !kizuna.IsID(toRef) {
		var other *kizuna.Account
		if other, err = t.resolveOne(ctx, toRef); err == nil {
			to, err = t.store.Account(ctx, a.Account.TenantID, other.ID)
		}
	}
	if err != nil {
		return nil, Person{}, Person{}, kizuna.Errorf(kizuna.ErrNotFound, "member_not_found", "to must be a member of your tenant (the person's new internal ID).")
	}
	people, err := t.people(ctx, a.Account, from, to)
	if err != nil {
		return nil, Person{}, Person{}, err
	}
	if people[0].Relation == kizuna.RelationInternal {
		return nil, Person{}, Person{}, kizuna.Errorf(kizuna.ErrInvalid, "not_external", "%s is already internal to your tenant; there is nothing to carry over.", from.Address())
	}
	return a, people[0], people[1], nil
}

// CarryOverPreview tells what CarryOver would do, changing nothing.
func (t *TalkService) CarryOverPreview(ctx context.Context, fromRef, toRef string) (*Reclassification, error) {
	a, from, to, err := t.carryOverParties(ctx, fromRef, toRef)
	if err != nil {
		return nil, err
	}
	shares, err := t.store.SharedRooms(ctx, from.ID, a.Account.TenantID, true)
	if err != nil {
		return nil, err
	}
	return carryOverPlan(from, to, shares), nil
}

func carryOverPlan(from, to Person, shares []kizuna.RoomShare) *Reclassification {
	r := &Reclassification{From: from, To: to, Rooms: []RoomMove{}}
	people := map[string]bool{}
	for _, sh := range shares {
		m := RoomMove{RoomID: sh.Room.ID, Kind: string(sh.Room.Kind), Name: sh.Room.Name, Moved: true}
		if slices.Contains(sh.Others, to.ID) {
			m.Moved, m.Reason = false, "it is the room between the two accounts themselves"
		}
		if m.Moved {
			for _, o := range sh.Others {
				people[o] = true
			}
		}
		r.Rooms = append(r.Rooms, m)
	}
	r.People = len(people)
	moving := 0
	for _, m := range r.Rooms {
		if m.Moved {
			moving++
		}
	}
	r.Summary = fmt.Sprintf("%s with %s continue with %s; %s will see %s as internal.",
		plural(moving, "direct room", "direct rooms"), from.Address(), to.Address(), plural(r.People, "member", "members"), displayOf(to))
	return r
}

// CarryOver moves the direct rooms between an external account and the
// admin's tenant's members to the person's new internal account, so their
// history continues there (external → internal). Rooms that cannot move
// (the new account already talks with that member) stay, with the reason.
// Running it again moves what is left. Errors: not_found
// "account_not_found", "member_not_found"; invalid "not_external";
// forbidden "admin_required".
func (t *TalkService) CarryOver(ctx context.Context, fromRef, toRef string) (*Reclassification, error) {
	a, from, to, err := t.carryOverParties(ctx, fromRef, toRef)
	if err != nil {
		return nil, err
	}
	shares, err := t.store.SharedRooms(ctx, from.ID, a.Account.TenantID, true)
	if err != nil {
		return nil, err
	}
	plan := carryOverPlan(from, to, shares)
	if err := t.moveRooms(ctx, a.Account.ID, from.ID, to.ID, plan); err != nil {
		return nil, err
	}
	t.audit(ctx, &kizuna.AuditEntry{TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: "member.carry_over",
		TargetID: to.ID, Target: to.Address(), Details: fmt.Sprintf("from=%s rooms=%d", from.Address(), countMoved(plan))})
	t.roomsChanged()
	return plan, nil
}

func countMoved(r *Reclassification) int {
	n := 0
	for _, m := range r.Rooms {
		if m.Moved {
			n++
		}
	}
	return n
}

// moveRooms replaces from with to in the plan's rooms through the talk
// writer (so members hear of it live), recording per room what happened.
func (t *TalkService) moveRooms(ctx context.Context, actorID, from, to string, plan *Reclassification) error {
	var idx []int
	var ops []store.TalkOp
	for i, m := range plan.Rooms {
		if m.Moved {
			idx = append(idx, i)
			ops = append(ops, store.TalkOp{Kind: store.OpReplaceMember, ActorID: actorID, RoomID: m.RoomID, AccountID: from, AccountIDs: []string{to}})
		}
	}
	for k, op := range ops {
		_, err := t.submit(ctx, op)
		if err != nil {
			var e *kizuna.Error
			if !errors.As(err, &e) || e.Kind == kizuna.ErrInternal {
				return err
			}
			plan.Rooms[idx[k]].Moved, plan.Rooms[idx[k]].Reason = false, e.Message
		}
	}
	return nil
}

// memberForHandover checks a hand-over: the member must be the admin's
// tenant's (not the admin, not its last owner) and to an account external
// to the tenant.
func (t *TalkService) handoverParties(ctx context.Context, memberID, toRef string) (*kizuna.Actor, Person, Person, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, Person{}, Person{}, err
	}
	m, err := t.store.Account(ctx, a.Account.TenantID, memberID)
	if err != nil {
		return nil, Person{}, Person{}, err
	}
	if m.ID == a.Account.ID {
		return nil, Person{}, Person{}, kizuna.Errorf(kizuna.ErrInvalid, "cannot_remove_self", "You cannot hand over your own rooms; ask another admin.")
	}
	if m.Role == kizuna.RoleOwner {
		if a.Account.Role != kizuna.RoleOwner {
			return nil, Person{}, Person{}, kizuna.Errorf(kizuna.ErrForbidden, "owner_required", "Only an owner can remove an owner.")
		}
		if n, err := t.store.CountOwners(ctx, a.Account.TenantID); err != nil || n <= 1 {
			return nil, Person{}, Person{}, errors.Join(err, kizuna.Errorf(kizuna.ErrConflict, "last_owner", "The tenant's last owner cannot be removed."))
		}
	}
	to, err := t.resolveOne(ctx, toRef)
	if err != nil {
		return nil, Person{}, Person{}, err
	}
	people, err := t.people(ctx, a.Account, m, to)
	if err != nil {
		return nil, Person{}, Person{}, err
	}
	if people[1].Relation == kizuna.RelationInternal {
		return nil, Person{}, Person{}, kizuna.Errorf(kizuna.ErrInvalid, "not_external", "%s is internal to your tenant; name the person's external account (their personal account or their company's ID).", to.Address())
	}
	return a, people[0], people[1], nil
}

func handoverPlan(from, to Person, shares []kizuna.RoomShare) *Reclassification {
	r := &Reclassification{From: from, To: to, Rooms: []RoomMove{}}
	people := map[string]bool{}
	for _, sh := range shares {
		r.Rooms = append(r.Rooms, RoomMove{RoomID: sh.Room.ID, Kind: string(sh.Room.Kind), Name: sh.Room.Name, Moved: true})
		for _, o := range sh.Others {
			people[o] = true
		}
	}
	r.People = len(people)
	r.Summary = fmt.Sprintf("%s will be removed from the tenant; once %s accepts, %s move to %s, and %s will see %s as external.",
		from.Address(), to.Address(), plural(len(r.Rooms), "room", "rooms"), to.Address(), plural(r.People, "member", "members"), displayOf(from))
	return r
}

// HandoverPreview tells what handing a member's rooms over to an external
// account would change, changing nothing.
func (t *TalkService) HandoverPreview(ctx context.Context, memberID, toRef string) (*Reclassification, error) {
	a, from, to, err := t.handoverParties(ctx, memberID, toRef)
	if err != nil {
		return nil, err
	}
	shares, err := t.store.SharedRooms(ctx, from.ID, a.Account.TenantID, false)
	if err != nil {
		return nil, err
	}
	return handoverPlan(from, to, shares), nil
}

// HandoverView is a hand-over as its parties see it.
type HandoverView struct {
	*kizuna.Handover
	From    Person
	To      Person
	Preview *Reclassification
}

// OfferHandover removes a member from the tenant and offers the rooms
// they shared with its members to an external account the person named
// (internal → external). The member's ID is deleted at once (it can be
// issued again later); the rooms move when the external account accepts.
// Errors: not_found; invalid "not_external", "cannot_remove_self";
// forbidden "admin_required", "owner_required"; conflict "last_owner",
// "handover_pending".
func (t *TalkService) OfferHandover(ctx context.Context, memberID, toRef string) (*HandoverView, error) {
	a, from, to, err := t.handoverParties(ctx, memberID, toRef)
	if err != nil {
		return nil, err
	}
	shares, err := t.store.SharedRooms(ctx, from.ID, a.Account.TenantID, false)
	if err != nil {
		return nil, err
	}
	plan := handoverPlan(from, to, shares)
	h := &kizuna.Handover{ID: kizuna.NewID(), TenantID: a.Account.TenantID, FromID: from.ID, ToID: to.ID}
	audit := &kizuna.AuditEntry{TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: "member.handover_offer", TargetID: from.ID,
		Target: from.Address(), Details: fmt.Sprintf("before=member after=deleted to=%s rooms=%d", to.Address(), len(plan.Rooms))}
	if err := t.store.CreateHandover(ctx, h, audit); err != nil {
		return nil, err
	}
	t.sessionsChanged(from.ID)
	t.notify(kizuna.NoticeHandoverOffered, map[string]any{"handover_id": h.ID}, to.ID)
	return &HandoverView{Handover: h, From: from, To: to, Preview: plan}, nil
}

// Handovers lists the hand-overs offered to the actor and, for admins,
// those their tenant made.
func (t *TalkService) Handovers(ctx context.Context) ([]HandoverView, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, err
	}
	list, err := t.store.Handovers(ctx, "", actor.Account.ID)
	if err != nil {
		return nil, err
	}
	if actor.Account.Kind == kizuna.KindMember && actor.Account.Role.IsAdmin() {
		made, err := t.store.Handovers(ctx, actor.Account.TenantID, "")
		if err != nil {
			return nil, err
		}
		list = append(list, made...)
	}
	out := []HandoverView{}
	for _, h := range list {
		v, err := t.handoverView(ctx, actor.Account, h)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

func (t *TalkService) handoverView(ctx context.Context, viewer *kizuna.Account, h *kizuna.Handover) (*HandoverView, error) {
	accounts, err := t.store.AccountsByIDs(ctx, []string{h.ToID})
	if err != nil {
		return nil, err
	}
	v := &HandoverView{Handover: h}
	// The former member is deleted: shown by the ID it had.
	from, err := t.accountEvenDeleted(ctx, h.TenantID, h.FromID)
	if err != nil {
		return nil, err
	}
	list := []*kizuna.Account{from}
	if to, ok := accounts[h.ToID]; ok {
		list = append(list, to)
	}
	people, err := t.people(ctx, viewer, list...)
	if err != nil {
		return nil, err
	}
	v.From = people[0]
	if len(people) > 1 {
		v.To = people[1]
	}
	return v, nil
}

func (t *TalkService) accountEvenDeleted(ctx context.Context, tenantID, id string) (*kizuna.Account, error) {
	a, err := t.store.FormerAccount(ctx, tenantID, id)
	if errors.Is(err, kizuna.ErrNotFound) {
		return &kizuna.Account{ID: id, Kind: kizuna.KindMember, Local: "(removed)"}, nil
	}
	return a, err
}

// handoverFor returns a pending hand-over addressed to the actor, or one
// of the actor's tenant for its admins; others answer not_found.
func (t *TalkService) handoverFor(ctx context.Context, id string, asAdmin bool) (*kizuna.Actor, *kizuna.Handover, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(id) > 64 {
		return nil, nil, kizuna.NotFound("Hand-over")
	}
	h, err := t.store.Handover(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if asAdmin {
		if actor.Account.Kind != kizuna.KindMember || h.TenantID != actor.Account.TenantID {
			return nil, nil, kizuna.NotFound("Hand-over")
		}
		if !actor.Account.Role.IsAdmin() {
			return nil, nil, errAdminOnly
		}
	} else if h.ToID != actor.Account.ID {
		return nil, nil, kizuna.NotFound("Hand-over")
	}
	return actor, h, nil
}

// AcceptHandover takes over the rooms of a hand-over offered to the
// actor. Rooms are read again now: the member may have left some since
// the offer. Errors: not_found; conflict "handover_not_pending".
func (t *TalkService) AcceptHandover(ctx context.Context, id string) (*HandoverView, error) {
	actor, h, err := t.handoverFor(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if h.Status != kizuna.HandoverPending {
		return nil, kizuna.Errorf(kizuna.ErrConflict, "handover_not_pending", "This hand-over was already %s.", h.Status)
	}
	shares, err := t.store.SharedRooms(ctx, h.FromID, h.TenantID, false)
	if err != nil {
		return nil, err
	}
	v, err := t.handoverView(ctx, actor.Account, h)
	if err != nil {
		return nil, err
	}
	plan := handoverPlan(v.From, v.To, shares)
	audit := &kizuna.AuditEntry{TenantID: h.TenantID, ActorID: actor.Account.ID, Action: "member.handover_accept", TargetID: h.FromID,
		Target: v.From.Address(), Details: fmt.Sprintf("to=%s rooms=%d", actor.Account.Address(), len(plan.Rooms))}
	// Rooms first: if this fails half-way, the offer is still pending and
	// accepting again moves the rest.
	if err := t.moveRooms(ctx, actor.Account.ID, h.FromID, actor.Account.ID, plan); err != nil {
		return nil, err
	}
	done, err := t.store.FinishHandover(ctx, h.ID, kizuna.HandoverAccepted, audit)
	if err != nil {
		return nil, err
	}
	t.roomsChanged()
	v.Handover, v.Preview = done, plan
	return v, nil
}

// DeclineHandover refuses a hand-over offered to the actor; the rooms
// stay with the removed member's account, readable by the others.
func (t *TalkService) DeclineHandover(ctx context.Context, id string) (*HandoverView, error) {
	return t.finishHandover(ctx, id, false, kizuna.HandoverDeclined, "member.handover_decline")
}

// CancelHandover withdraws a pending hand-over of the actor's tenant
// (admins).
func (t *TalkService) CancelHandover(ctx context.Context, id string) (*HandoverView, error) {
	return t.finishHandover(ctx, id, true, kizuna.HandoverCancelled, "member.handover_cancel")
}

func (t *TalkService) finishHandover(ctx context.Context, id string, asAdmin bool, status kizuna.HandoverStatus, action string) (*HandoverView, error) {
	actor, h, err := t.handoverFor(ctx, id, asAdmin)
	if err != nil {
		return nil, err
	}
	audit := &kizuna.AuditEntry{TenantID: h.TenantID, ActorID: actor.Account.ID, Action: action, TargetID: h.FromID}
	done, err := t.store.FinishHandover(ctx, h.ID, status, audit)
	if err != nil {
		return nil, err
	}
	t.notify(kizuna.NoticeHandoverOffered, map[string]any{"handover_id": h.ID, "status": status}, h.ToID)
	return t.handoverView(ctx, actor.Account, done)
}
