package kizuna

import (
	"strings"
	"time"
	"unicode/utf8"
)

// RoomKind tells a one-to-one room from a named group room.
type RoomKind string

// Room kinds.
const (
	// RoomDirect is the one room of a pair of accounts, found again rather
	// than created twice.
	RoomDirect RoomKind = "direct"
	// RoomGroup is a named room of any number of accounts.
	RoomGroup RoomKind = "group"
)

// RoomRole is what a member may do in a room.
type RoomRole string

// Room roles.
const (
	RoomManager RoomRole = "manager" // renames the room, removes members
	RoomMember  RoomRole = "member"
)

// Room is a conversation. Its members may come from several tenants; who
// is external is decided per viewer (R3), never stored on the room.
type Room struct {
	ID   string
	Kind RoomKind
	Name string
	// DirectKey is the sorted pair of account IDs of a direct room; it
	// makes the pair's room unique.
	DirectKey string
	CreatedBy string
	CreatedAt time.Time
	// LastSeq is the sequence number of the room's newest message.
	LastSeq int64
	// ActiveAt is the time of the newest message (or the creation), for
	// ordering room lists.
	ActiveAt time.Time
}

// DirectKey returns the key of the direct room of two accounts.
func DirectKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + "|" + b
}

// RoomMembership is one account's place in a room.
type RoomMembership struct {
	RoomID    string
	AccountID string
	Role      RoomRole
	JoinedAt  time.Time
	// LastReadSeq is the newest message sequence the member has read.
	LastReadSeq int64
}

// Message is one message of a room. Seq numbers a room's messages 1, 2, 3…
// in the order they were stored. An edit or a deletion keeps the message
// (and its place); a deleted message loses its text.
type Message struct {
	ID       string
	RoomID   string
	Seq      int64
	SenderID string
	// ClientMsgID is the sender's idempotency key: a retried send with the
	// same key is stored once and answered with the same message.
	ClientMsgID string
	Body        string
	ReplyTo     int64    // seq of the message replied to, or 0
	Mentions    []string // account IDs mentioned
	CreatedAt   time.Time
	EditedAt    time.Time // zero when never edited
	DeletedAt   time.Time // zero unless deleted
}

// Deleted reports whether the sender deleted the message.
func (m *Message) Deleted() bool { return !m.DeletedAt.IsZero() }

// EventKind names a change in the room event log.
type EventKind string

// Event kinds: every change a client must hear about, in the order the
// store committed them.
const (
	EventMessageCreated EventKind = "message.created"
	EventMessageEdited  EventKind = "message.edited"
	EventMessageDeleted EventKind = "message.deleted"
	EventReadUpdated    EventKind = "read.updated"
	EventMemberJoined   EventKind = "member.joined"
	EventMemberLeft     EventKind = "member.left"
	EventRoomUpdated    EventKind = "room.updated"
)

// Notices are live-only events, not kept in the log: a client that missed
// one refreshes the list it concerns when it reconnects.
const (
	NoticeContactUpdated = "contact.updated"
	NoticeContactDeleted = "contact.deleted"
	// NoticeDegraded tells every connection of a node that the node lost
	// its database or its bus (with a reason code): sends may fail with
	// 503 and live events may lag until NoticeRecovered.
	NoticeDegraded  = "service.degraded"
	NoticeRecovered = "service.recovered"
	// NoticeHandoverOffered tells an account that a tenant offers it a
	// former member's rooms (or that the offer ended).
	NoticeHandoverOffered = "handover.updated"
	// NoticeReclassified says that who is internal or external changed
	// for somebody (a domain moved, was deleted or restored, a person was
	// reclassified): refresh the people and rooms on screen. It names
	// nothing, so it can go to everyone.
	NoticeReclassified = "people.reclassified"
)

// RoomEvent is one entry of the event log. Pos is a server-wide position
// that grows in commit order: a client that saw position P and asks for
// what came after misses nothing and gets nothing twice.
type RoomEvent struct {
	Pos       int64
	RoomID    string
	Kind      EventKind
	Seq       int64  // message concerned, or the read position
	AccountID string // member concerned (joins, leaves, reads)
	CreatedAt time.Time
	// Message is the message concerned, as it is now (message kinds).
	Message *Message
	// RoomName is the room's name (room.updated).
	RoomName string
}

// Limits of talk.
const (
	// MaxMessageLength bounds a message body, in characters.
	MaxMessageLength = 10000
	// MaxRoomNameLength bounds a room name, in characters.
	MaxRoomNameLength = 100
	// MaxRoomMembers bounds a group room.
	MaxRoomMembers = 5000
	// MaxMentions bounds the mentions of one message.
	MaxMentions = 50
	// MaxClientMsgIDLength bounds the idempotency key.
	MaxClientMsgIDLength = 64
)

// CheckMessageBody validates a message text.
func CheckMessageBody(body string) error {
	if !utf8.ValidString(body) {
		return Errorf(ErrInvalid, "invalid_message", "The message is not valid UTF-8 text.")
	}
	if strings.TrimSpace(body) == "" {
		return Errorf(ErrInvalid, "invalid_message", "The message is empty.")
	}
	if n := utf8.RuneCountInString(body); n > MaxMessageLength {
		return Errorf(ErrTooLarge, "message_too_long", "A message holds at most %d characters; this one has %d.", MaxMessageLength, n)
	}
	return nil
}

// CheckClientMsgID validates a send's idempotency key: 1 to 64 printable
// ASCII characters, so that it is safe in logs and unique indexes.
func CheckClientMsgID(id string) error {
	if id == "" || len(id) > MaxClientMsgIDLength {
		return Errorf(ErrInvalid, "invalid_client_msg_id", "client_msg_id must be 1 to %d characters; send a new random one per message and the same one when retrying.", MaxClientMsgIDLength)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return Errorf(ErrInvalid, "invalid_client_msg_id", "client_msg_id may hold only printable ASCII characters.")
		}
	}
	return nil
}

// NormalizeRoomName trims and validates a group room's name.
func NormalizeRoomName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) {
		return "", Errorf(ErrInvalid, "invalid_room_name", "A group room needs a name.")
	}
	if utf8.RuneCountInString(name) > MaxRoomNameLength {
		return "", Errorf(ErrInvalid, "invalid_room_name", "A room name holds at most %d characters.", MaxRoomNameLength)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", Errorf(ErrInvalid, "invalid_room_name", "A room name may not hold control characters.")
		}
	}
	return name, nil
}
