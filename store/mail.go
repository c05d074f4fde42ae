package store

import (
	"context"
	"time"
)

// Outgoing mail states. A mail being delivered stays pending: its claim
// shows as a NextAttemptAt in the future (the lease) and Attempts already
// counts the delivery under way.
const (
	MailPending = "pending"
	MailSent    = "sent"
	MailFailed  = "failed"
)

// OutgoingMail is a queued mail. Its text (which may hold an initial
// password) is erased once sent.
type OutgoingMail struct {
	ID            string    `json:"id"`
	TenantID      string    `json:"-"`
	AccountID     string    `json:"account_id,omitempty"`
	Kind          string    `json:"kind"`
	To            string    `json:"to"`
	Subject       string    `json:"subject"`
	Text          string    `json:"-"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	LastError     string    `json:"last_error,omitempty"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	CreatedAt     time.Time `json:"created_at"`
	SentAt        time.Time `json:"sent_at,omitzero"`
}

// MailQueue is the durable outbox that mail workers drain.
type MailQueue interface {
	// EnqueueMail stores a pending mail, due at once, and sets its Status,
	// CreatedAt and NextAttemptAt. m.ID, TenantID, Kind, To, Subject and
	// Text are the caller's. Errors: invalid (unknown tenant or account),
	// conflict (the ID exists).
	EnqueueMail(ctx context.Context, m *OutgoingMail) error
	// ClaimDueMail claims up to limit pending mails that are due: each is
	// pushed lease into the future and its attempts counted, so no other
	// worker (on any node) takes it meanwhile, and a worker that dies
	// loses its claim when the lease ends.
	ClaimDueMail(ctx context.Context, limit int, lease time.Duration) ([]*OutgoingMail, error)
	// MarkMailSent records a delivery, clears the last error and erases
	// the text.
	MarkMailSent(ctx context.Context, id string) error
	// MarkMailFailed records a failed attempt: pending again at retryAt,
	// or failed for good when retryAt is zero. lastError is kept (cut to
	// 1000 bytes of valid UTF-8) for admins to read.
	MarkMailFailed(ctx context.Context, id, lastError string, retryAt time.Time) error
	// ListMail lists a tenant's mail, newest first; status "" means all,
	// before (a mail ID, the last of the previous page) pages on, limit <= 0
	// means 50. Another tenant's mail is never listed.
	ListMail(ctx context.Context, tenantID, status, before string, limit int) ([]*OutgoingMail, error)
	// RetryMail makes a failed mail of a tenant pending and due now; its
	// attempts and last error stay. Errors: not_found (also when the mail
	// is another tenant's or is not failed).
	RetryMail(ctx context.Context, tenantID, id string) error
}
