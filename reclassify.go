package kizuna

import "time"

// HandoverStatus is where a hand-over of rooms stands.
type HandoverStatus string

// Hand-over states.
const (
	HandoverPending   HandoverStatus = "pending"
	HandoverAccepted  HandoverStatus = "accepted"
	HandoverDeclined  HandoverStatus = "declined"
	HandoverCancelled HandoverStatus = "cancelled"
)

// Handover moves the rooms a former member shared with the tenant's
// members to an external account the person named (their personal account
// or their own company's ID), once that account accepts: the conversations
// go on, with the person now external to the tenant.
type Handover struct {
	ID        string
	TenantID  string
	FromID    string // the member's account (deleted when the offer is made)
	ToID      string // the external account that takes the rooms over
	Status    HandoverStatus
	CreatedAt time.Time
	DecidedAt time.Time
}

// RoomShare is a room an account shares with members of a tenant.
type RoomShare struct {
	Room Room
	// Others are the tenant's members in the room, other than the account.
	Others []string
}
