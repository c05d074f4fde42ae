package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/kizuna-chat/kizuna"
)

// Limits are a node's abuse limits (issue 10). A zero field takes its
// default; a negative one turns that limit off. The message and stream
// limits are counted in this process: behind a load balancer each node
// allows them once, which still bounds what one account can do.
type Limits struct {
	// MessagesPerSecond is the rate at which one account may keep
	// sending messages; default 20.
	MessagesPerSecond float64
	// MessageBurst is how many messages an account may send at once
	// before the rate applies; default 40.
	MessageBurst int
	// StreamsPerAccount bounds the event streams (WebSocket connections)
	// open at once for one account; default 20.
	StreamsPerAccount int
}

// Default abuse limits.
const (
	DefaultMessagesPerSecond = 20
	DefaultMessageBurst      = 40
	DefaultStreamsPerAccount = 20
)

// Invite-code guessing is throttled like sign-in (store.Throttle): codes
// carry 256 random bits, so this only keeps a guesser from hammering the
// lookup. An address is locked after maxInviteAddrFailures unusable codes
// within the window; a code (known or not) after maxInviteCodeFailures.
const (
	inviteWindow          = 15 * time.Minute
	inviteLockFor         = 15 * time.Minute
	maxInviteAddrFailures = 20
	maxInviteCodeFailures = 10
)

// limiter holds the per-account counters of one node.
type limiter struct {
	limits Limits

	mu        sync.Mutex
	senders   map[string]*rate.Limiter
	lastSweep time.Time
	streams   map[string]int
}

func newLimiter(l Limits) *limiter {
	if l.MessagesPerSecond == 0 {
		l.MessagesPerSecond = DefaultMessagesPerSecond
	}
	if l.MessageBurst == 0 {
		l.MessageBurst = DefaultMessageBurst
	}
	if l.StreamsPerAccount == 0 {
		l.StreamsPerAccount = DefaultStreamsPerAccount
	}
	return &limiter{limits: l, senders: map[string]*rate.Limiter{}, streams: map[string]int{}}
}

// allowMessage takes a token from the account's bucket, or says how long
// to wait. Errors: rate_limited "rate_limited".
func (l *limiter) allowMessage(accountID string, now time.Time) error {
	if l.limits.MessagesPerSecond < 0 || l.limits.MessageBurst < 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.senders[accountID]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(l.limits.MessagesPerSecond), l.limits.MessageBurst)
		l.senders[accountID] = b
	}
	if b.AllowN(now, 1) {
		return nil
	}
	wait := (1 - b.TokensAt(now)) / l.limits.MessagesPerSecond
	e := kizuna.Errorf(kizuna.ErrRateLimited, "rate_limited", "You are sending messages too fast; wait a moment.")
	e.RetryAfterSeconds = max(1, int(math.Ceil(wait)))
	return e
}

// sweep forgets, once a minute, the buckets that have filled up again:
// they are in their initial state, so the map holds only recent senders.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for id, b := range l.senders {
		if b.TokensAt(now) >= float64(l.limits.MessageBurst) {
			delete(l.senders, id)
		}
	}
}

var errTooManyStreams = func() *kizuna.Error {
	e := kizuna.Errorf(kizuna.ErrRateLimited, "too_many_connections", "This account has too many live connections; close one first.")
	e.RetryAfterSeconds = 10
	return e
}()

// openStream counts a stream against each account; all or none.
func (l *limiter) openStream(accountIDs []string) (func(), error) {
	if l.limits.StreamsPerAccount < 0 {
		return func() {}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range accountIDs {
		if l.streams[id] >= l.limits.StreamsPerAccount {
			return nil, errTooManyStreams
		}
	}
	for _, id := range accountIDs {
		l.streams[id]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			for _, id := range accountIDs {
				if l.streams[id]--; l.streams[id] <= 0 {
					delete(l.streams, id)
				}
			}
		})
	}, nil
}

// allowMessage applies the per-account message rate to a send.
func (t *TalkService) allowMessage(accountID string) error {
	return t.limiter.allowMessage(accountID, t.now())
}

// OpenStream counts an event stream against every account it serves
// before the connection is upgraded; call release when the stream ends.
// Errors: rate_limited "too_many_connections".
func (t *TalkService) OpenStream(actors []*kizuna.Actor) (release func(), err error) {
	ids := make([]string, 0, len(actors))
	for _, a := range actors {
		ids = append(ids, a.Account.ID)
	}
	return t.limiter.openStream(ids)
}

type sourceAddrKey struct{}

// WithSourceAddr returns ctx carrying the caller's network address, for
// the throttles of public routes that take no sign-in ID.
func WithSourceAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, sourceAddrKey{}, addr)
}

func sourceAddrFrom(ctx context.Context) string {
	addr, _ := ctx.Value(sourceAddrKey{}).(string)
	return addr
}

// inviteKeys are the throttle keys of a code lookup: the code (hashed, so
// a guess is not stored and keys stay short) and the caller's address.
func inviteKeys(ctx context.Context, code string) []string {
	sum := sha256.Sum256([]byte(code))
	keys := []string{"invite-code:" + hex.EncodeToString(sum[:16])}
	if addr := sourceAddrFrom(ctx); addr != "" {
		keys = append(keys, "invite-addr:"+addr)
	}
	return keys
}

// inviteThrottled refuses a code lookup while the code or the caller's
// address is locked. Errors: rate_limited "too_many_attempts".
func (s *InviteService) inviteThrottled(ctx context.Context, code string) error {
	until, _, err := s.store.LoginThrottle(ctx, inviteKeys(ctx, code))
	if err != nil {
		return err
	}
	if !until.IsZero() {
		return tooManyGuesses(until.Sub(s.now()))
	}
	return nil
}

// inviteMissed counts an unusable code against the code and the address
// and returns the answer: invite_unusable, or too_many_attempts when this
// miss locked a key.
func (s *InviteService) inviteMissed(ctx context.Context, code string) error {
	var locked time.Time
	for i, key := range inviteKeys(ctx, code) {
		limit := maxInviteCodeFailures
		if i > 0 {
			limit = maxInviteAddrFailures
		}
		until, err := s.store.RecordLoginFailure(ctx, key, inviteWindow, limit, inviteLockFor)
		if err != nil {
			return err
		}
		if until.After(locked) {
			locked = until
		}
	}
	if !locked.IsZero() {
		s.audit(ctx, &kizuna.AuditEntry{Action: "invite_link.lockout", SourceAddr: sourceAddrFrom(ctx),
			Details: "invite code lookups locked until " + locked.UTC().Format(time.RFC3339)})
		return tooManyGuesses(locked.Sub(s.now()))
	}
	return errInviteUnusable
}

func tooManyGuesses(wait time.Duration) error {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	e := kizuna.Errorf(kizuna.ErrRateLimited, "too_many_attempts", "Too many unusable invite codes; try again in %d minutes.", (secs+59)/60)
	e.RetryAfterSeconds = secs
	return e
}
