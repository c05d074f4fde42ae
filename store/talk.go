package store

import (
	"context"
	"time"

	"github.com/kizuna-chat/kizuna"
)

// TalkOpKind names a write of the talk system.
type TalkOpKind int

// Talk writes. Every one of them appends to the room event log.
const (
	// OpSend stores Message (RoomID, SenderID, ClientMsgID, Body, ReplyTo,
	// Mentions; ID and CreatedAt set by the caller). A send whose
	// (RoomID, SenderID, ClientMsgID) is already stored returns the stored message
	// with Duplicate set and appends nothing.
	OpSend TalkOpKind = iota + 1
	// OpEdit replaces the body of message Seq of RoomID sent by AccountID.
	OpEdit
	// OpDelete deletes message Seq of RoomID sent by AccountID.
	OpDelete
	// OpRead moves AccountID's read position in RoomID forward to Seq
	// (never back; a read beyond the newest message stops there).
	OpRead
	// OpCreateRoom stores Room with Members (the first of them is its
	// manager). A direct room whose DirectKey exists returns the existing
	// room with Duplicate set.
	OpCreateRoom
	// OpAddMembers adds AccountIDs to RoomID as members; accounts already
	// in the room are skipped. An empty ActorID is the server itself (a
	// group's room following the group).
	OpAddMembers
	// OpRemoveMember removes AccountID from RoomID.
	OpRemoveMember
	// OpRenameRoom sets RoomID's name to Name.
	OpRenameRoom
	// OpReplaceMember puts account AccountIDs[0] in AccountID's place in
	// RoomID, with its role and read position (a person's rooms moving to
	// another of their accounts). A direct room keeps its pair unique:
	// when the new pair already has a room, the op is refused with
	// conflict "direct_room_exists".
	OpReplaceMember
)

// TalkOp is one write of a batch.
type TalkOp struct {
	Kind TalkOpKind
	// ActorID is the account doing it; sends, edits, deletes, reads,
	// invitations and renames are refused unless it is in the room.
	ActorID    string
	RoomID     string
	Seq        int64
	Body       string
	Name       string
	AccountID  string
	AccountIDs []string
	Message    *kizuna.Message
	Room       *kizuna.Room
}

// TalkResult is the outcome of one op of a batch.
type TalkResult struct {
	// Err is the op's own error (not_found, forbidden…); the other ops of
	// the batch are unaffected.
	Err       error
	Message   *kizuna.Message
	Room      *kizuna.Room
	Duplicate bool
	// Events are what the op appended to the log, in order.
	Events []kizuna.RoomEvent
}

// RoomSummary is a room as its member's room list shows it.
type RoomSummary struct {
	Room       kizuna.Room
	Membership kizuna.RoomMembership
	// Unread counts messages after the read position from others (capped
	// at MaxUnreadCount).
	Unread int
	// MemberCount is how many accounts are in the room.
	MemberCount int
	// ExternalCount is how many members are outside the viewer's tenant
	// (R3: members of other tenants, of no tenant, and personal accounts).
	ExternalCount int
}

// MaxUnreadCount caps unread counting: beyond it clients show "999+".
const MaxUnreadCount = 999

// RoomFilter pages a member's rooms, most recently active first.
type RoomFilter struct {
	// ViewerTenantID decides ExternalCount.
	ViewerTenantID string
	// BeforeActive and BeforeID continue after the last room of the
	// previous page.
	BeforeActive time.Time
	BeforeID     string
	Limit        int
}

// MessageFilter pages a room's history by sequence, either way.
type MessageFilter struct {
	Before int64 // messages with a lower seq, newest first (0: from the end)
	After  int64 // messages with a higher seq, oldest first (used when set)
	Limit  int
}

// Talk stores rooms, messages, read state and the room event log.
type Talk interface {
	// ApplyTalk runs a batch of writes in one transaction (group commit):
	// one result per op, in order. An op's own refusal is in its result;
	// an error return means nothing of the batch was stored.
	ApplyTalk(ctx context.Context, ops []TalkOp) ([]TalkResult, error)
	// Room returns a room. Errors: not_found.
	Room(ctx context.Context, id string) (*kizuna.Room, error)
	// RoomMemberships lists a room's members, oldest first.
	RoomMemberships(ctx context.Context, roomID string) ([]kizuna.RoomMembership, error)
	// Membership returns one account's membership. Errors: not_found.
	Membership(ctx context.Context, roomID, accountID string) (*kizuna.RoomMembership, error)
	// RoomsOf lists an account's rooms, most recently active first.
	RoomsOf(ctx context.Context, accountID string, f RoomFilter) ([]RoomSummary, error)
	// UnreadCounts returns the unread count of each of an account's rooms
	// that has unread messages.
	UnreadCounts(ctx context.Context, accountID string) (map[string]int, error)
	// RoomUnread returns an account's unread count in one room (0 when it
	// is not a member).
	RoomUnread(ctx context.Context, roomID, accountID string) (int, error)
	// Messages pages a room's history.
	Messages(ctx context.Context, roomID string, f MessageFilter) ([]*kizuna.Message, error)
	// Message returns message seq of a room. Errors: not_found.
	Message(ctx context.Context, roomID string, seq int64) (*kizuna.Message, error)
	// SearchMessages finds live messages containing text (case-insensitive
	// for ASCII) in the rooms accountID belongs to, newest first, before
	// the message with ID before ("" for the newest).
	SearchMessages(ctx context.Context, accountID, text, before string, limit int) ([]*kizuna.Message, error)
	// EventsAfter returns up to limit events after pos that concern the
	// accounts: events of rooms they are in, and events naming them (so a
	// removed member hears of it), in position order.
	EventsAfter(ctx context.Context, pos int64, accountIDs []string, limit int) ([]kizuna.RoomEvent, error)
	// EventsSince returns up to limit events of every room after pos, in
	// position order (a cluster node tailing the log).
	EventsSince(ctx context.Context, pos int64, limit int) ([]kizuna.RoomEvent, error)
	// EventCountsAfter counts those events per room ("" for events of
	// rooms they are no longer in).
	EventCountsAfter(ctx context.Context, pos int64, accountIDs []string) (map[string]int, error)
	// EventBounds returns the lowest and highest positions in the log
	// (0, 0 when it is empty).
	EventBounds(ctx context.Context) (first, last int64, err error)
	// AccountsByIDs returns the live accounts among ids, by ID, whatever
	// their tenant (room members come from several).
	AccountsByIDs(ctx context.Context, ids []string) (map[string]*kizuna.Account, error)
}
