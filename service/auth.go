package service

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/password"
)

// AuthService signs accounts in and out and checks session tokens.
type AuthService struct{ *deps }

var errBadCredentials = kizuna.Errorf(kizuna.ErrUnauthorized, "invalid_credentials", "The ID or password is wrong.")

// SignedIn is the result of a sign-in: the token (shown once) and the
// session and account it opens.
type SignedIn struct {
	Token   string
	Session *kizuna.Session
	Person  Person
}

// LoginInput is a sign-in attempt.
type LoginInput struct {
	ID       string
	Password string
	// ClientToken binds the session to a client that holds several
	// accounts (R5); empty for a session of its own.
	ClientToken string
	// SourceAddr is the caller's network address, for throttling and the
	// audit trail.
	SourceAddr string
}

// Sign-in throttling: failures per sign-in ID (known or not, so the
// answer never tells whether an ID exists) and per source address.
const (
	throttleWindow  = 15 * time.Minute
	throttleLockFor = 15 * time.Minute
	maxIDFailures   = 5
	maxAddrFailures = 50
)

// Login checks an ID and password and opens a session. A wrong ID and a
// wrong password answer alike and take the same time. A session opened
// with an initial password may only set a new password (R6). Errors:
// unauthorized "invalid_credentials", "invalid_client"; rate_limited
// "too_many_attempts"; forbidden "account_suspended",
// "initial_password_expired"; conflict "too_many_accounts" (with the
// accounts the client holds as details).
func (s *AuthService) Login(ctx context.Context, in LoginInput) (*SignedIn, error) {
	idKey := "id:" + strings.ToLower(strings.TrimSpace(in.ID))
	if len(idKey) > 300 {
		// Cut on a character boundary: the key is stored as text.
		idKey = strings.ToValidUTF8(idKey[:300], "")
	}
	keys := []string{idKey}
	if in.SourceAddr != "" {
		keys = append(keys, "addr:"+in.SourceAddr)
	}
	until, failing, err := s.store.LoginThrottle(ctx, keys)
	if err != nil {
		return nil, err
	}
	if !until.IsZero() {
		return nil, tooManyAttempts(until.Sub(s.now()))
	}
	var client *kizuna.Client
	if in.ClientToken != "" {
		sum := sha256.Sum256([]byte(in.ClientToken))
		if client, err = s.store.ClientByTokenHash(ctx, sum[:]); err != nil {
			if errors.Is(err, kizuna.ErrNotFound) {
				return nil, kizuna.Errorf(kizuna.ErrUnauthorized, "invalid_client", "This client is not known; register it again.")
			}
			return nil, err
		}
	}

	local, domain, err := parseSignInID(in.ID)
	var acct *kizuna.Account
	if err == nil {
		acct, err = s.store.AccountByAddress(ctx, local, domain)
	}
	if err != nil && !errors.Is(err, kizuna.ErrNotFound) && !errors.Is(err, kizuna.ErrInvalid) {
		return nil, err
	}
	var cred kizuna.Credential
	if acct != nil {
		if cred, err = s.store.Credential(ctx, acct.ID); err != nil {
			return nil, err
		}
	}
	// With no account, Verify checks a dummy hash: the same time is spent.
	ok, err := s.hasher.Verify(ctx, cred.Hash, in.Password)
	if err != nil && !errors.Is(err, password.ErrMalformedHash) {
		return nil, err
	}
	if !ok || acct == nil {
		return nil, s.loginFailed(ctx, in, acct, keys)
	}
	// Sign-in sits next to the argon2id run in cost: skip the write when
	// there is nothing to clear.
	if failing {
		if err := s.store.ClearLoginFailures(ctx, idKey); err != nil {
			return nil, err
		}
	}
	if acct.Status == kizuna.StatusSuspended {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "account_suspended", "This account is suspended; ask your admin.")
	}
	if cred.Expired(s.now()) {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "initial_password_expired", "This initial password has expired; ask your admin to reissue it.")
	}
	// Successful sign-ins are not audited (R14 asks for failures and
	// lockouts): one write less on the hottest public route.
	return s.openSession(ctx, acct, client)
}

// loginFailed counts a failure on every key, writes the audit trail and
// returns the answer: invalid_credentials, or too_many_attempts when this
// failure locked a key.
func (s *AuthService) loginFailed(ctx context.Context, in LoginInput, acct *kizuna.Account, keys []string) error {
	s.counters.signInFailures.Add(1)
	var locked time.Time
	for i, key := range keys {
		max := maxIDFailures
		if i > 0 {
			max = maxAddrFailures
		}
		until, err := s.store.RecordLoginFailure(ctx, key, throttleWindow, max, throttleLockFor)
		if err != nil {
			return err
		}
		if until.After(locked) {
			locked = until
		}
	}
	e := &kizuna.AuditEntry{Action: "auth.login_failed", Target: truncateForLog(in.ID), SourceAddr: in.SourceAddr}
	if acct != nil {
		e.TenantID, e.TargetID = acct.TenantID, acct.ID
	}
	s.audit(ctx, e)
	if !locked.IsZero() {
		e2 := *e
		e2.ID, e2.Action = "", "auth.lockout"
		e2.Details = "sign-in locked until " + locked.UTC().Format(time.RFC3339)
		s.audit(ctx, &e2)
		return tooManyAttempts(locked.Sub(s.now()))
	}
	return errBadCredentials
}

func tooManyAttempts(wait time.Duration) error {
	secs := int(wait.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	e := kizuna.Errorf(kizuna.ErrRateLimited, "too_many_attempts", "Too many failed sign-ins; try again in %d minutes.", (secs+59)/60)
	e.RetryAfterSeconds = secs
	return e
}

func truncateForLog(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// audit appends a security event. The event is best-effort: failing to
// record it must not turn a sign-in into an error, so it is logged.
func (d *deps) audit(ctx context.Context, e *kizuna.AuditEntry) {
	if err := d.store.AppendAudit(ctx, e); err != nil {
		d.log.Error("audit entry not written", "action", e.Action, "err", err)
	}
}

func (s *AuthService) openSession(ctx context.Context, acct *kizuna.Account, client *kizuna.Client) (*SignedIn, error) {
	token := "kzs_" + randomToken()
	sum := sha256.Sum256([]byte(token))
	ttl := s.cfg.SessionTTL
	if acct.MustChangePassword {
		ttl = s.cfg.PasswordChangeTTL
	}
	sess := &kizuna.Session{
		ID: kizuna.NewID(), AccountID: acct.ID, TokenHash: sum[:],
		PasswordChangeOnly: acct.MustChangePassword, ExpiresAt: s.now().Add(ttl),
	}
	if client != nil {
		sess.ClientID = client.ID
		if err := s.store.OpenClientSession(ctx, sess, s.cfg.MaxAccountsPerClient); err != nil {
			if kizuna.ErrorCode(err) == "too_many_accounts" {
				return nil, s.tooManyAccounts(ctx, client.ID, err)
			}
			return nil, err
		}
	} else if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	return &SignedIn{Token: token, Session: sess, Person: self(acct)}, nil
}

// self is an account as it sees itself. Its domain and tenant were read
// with it, so no lookup of the domain map is needed on the sign-in path.
func self(a *kizuna.Account) Person {
	viewer := kizuna.PartyOf(a)
	m := kizuna.DomainMapFunc(func(id string) (kizuna.DomainOwner, bool) {
		return kizuna.DomainOwner{DomainName: a.DomainName, TenantID: a.TenantID, TenantName: a.TenantName}, id != "" && id == a.DomainID
	})
	return Person{Account: a, Classification: kizuna.Classify(viewer, viewer, m)}
}

// HeldAccount is an account a client holds, as the too_many_accounts
// error and the client's account list show it.
type HeldAccount struct {
	AccountID   string `json:"account_id"`
	SignInID    string `json:"sign_in_id"`
	DisplayName string `json:"display_name"`
	TenantName  string `json:"tenant_name,omitempty"`
}

func (s *AuthService) tooManyAccounts(ctx context.Context, clientID string, cause error) error {
	held, err := s.heldAccounts(ctx, clientID)
	if err != nil {
		return err
	}
	e := *kizuna.AsError(cause)
	e.Message = fmt.Sprintf("This client already holds %d accounts, the most it may hold; sign one of them out first.", s.cfg.MaxAccountsPerClient)
	e.Details = map[string]any{"max_accounts": s.cfg.MaxAccountsPerClient, "accounts": held}
	return &e
}

func (s *AuthService) heldAccounts(ctx context.Context, clientID string) ([]HeldAccount, error) {
	sessions, err := s.store.ClientSessions(ctx, clientID)
	if err != nil {
		return nil, err
	}
	out := []HeldAccount{}
	for _, sess := range sessions {
		a, err := s.store.AccountByID(ctx, sess.AccountID)
		if errors.Is(err, kizuna.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, HeldAccount{AccountID: a.ID, SignInID: a.Address(), DisplayName: a.DisplayName, TenantName: a.TenantName})
	}
	return out, nil
}

// RegisterClient creates a client (a device or browser profile) and
// returns its token, shown once. Sign-ins that carry the token count
// toward the client's account limit.
func (s *AuthService) RegisterClient(ctx context.Context) (string, error) {
	token := "kzc_" + randomToken()
	sum := sha256.Sum256([]byte(token))
	if err := s.store.CreateClient(ctx, &kizuna.Client{ID: kizuna.NewID(), TokenHash: sum[:]}); err != nil {
		return "", err
	}
	return token, nil
}

// ClientAccounts lists the accounts signed in on the actor's client.
// Errors: invalid "no_client" when the session is not on a client.
func (s *AuthService) ClientAccounts(ctx context.Context) ([]HeldAccount, error) {
	a, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if a.Session.ClientID == "" {
		return nil, errNoClient
	}
	return s.heldAccounts(ctx, a.Session.ClientID)
}

var errNoClient = kizuna.Errorf(kizuna.ErrInvalid, "no_client", "This session was not opened on a registered client.")

// SignOutClientAccount ends the session of one account on the actor's
// client, leaving the others signed in. Errors: not_found.
func (s *AuthService) SignOutClientAccount(ctx context.Context, accountID string) error {
	a := kizuna.ActorFrom(ctx)
	if a == nil {
		return errSignInRequired
	}
	if a.Session.ClientID == "" {
		return errNoClient
	}
	sessions, err := s.store.ClientSessions(ctx, a.Session.ClientID)
	if err != nil {
		return err
	}
	for _, sess := range sessions {
		if sess.AccountID == accountID {
			if err := s.store.DeleteSession(ctx, sess.ID); err != nil {
				return err
			}
			s.sessionsChanged(accountID)
			return nil
		}
	}
	return kizuna.NotFound("Signed-in account")
}

// Authenticate resolves a session token to its actor. Errors:
// unauthorized "invalid_session" for unknown, expired or revoked tokens and
// for accounts no longer active.
func (s *AuthService) Authenticate(ctx context.Context, token string) (*kizuna.Actor, error) {
	errSession := kizuna.Errorf(kizuna.ErrUnauthorized, "invalid_session", "The session has ended; sign in again.")
	if token == "" || len(token) > 200 {
		return nil, errSession
	}
	sum := sha256.Sum256([]byte(token))
	sess, err := s.store.SessionByTokenHash(ctx, sum[:])
	if errors.Is(err, kizuna.ErrNotFound) {
		return nil, errSession
	}
	if err != nil {
		return nil, err
	}
	acct, err := s.store.AccountByID(ctx, sess.AccountID)
	if errors.Is(err, kizuna.ErrNotFound) {
		return nil, errSession
	}
	if err != nil {
		return nil, err
	}
	if acct.Status != kizuna.StatusActive {
		return nil, errSession
	}
	return &kizuna.Actor{Account: acct, Session: sess}, nil
}

// Logout ends the actor's session.
func (s *AuthService) Logout(ctx context.Context) error {
	a := kizuna.ActorFrom(ctx)
	if a == nil {
		return errSignInRequired
	}
	if err := s.store.DeleteSession(ctx, a.Session.ID); err != nil {
		return err
	}
	s.sessionsChanged(a.Account.ID)
	return nil
}

// Me returns the actor as it sees itself. A password-change-only session
// may call it, so a client can show who is signing in.
func (s *AuthService) Me(ctx context.Context) (*Person, *kizuna.Session, error) {
	a := kizuna.ActorFrom(ctx)
	if a == nil {
		return nil, nil, errSignInRequired
	}
	p := self(a.Account)
	return &p, a.Session, nil
}

// ChangePassword sets the actor's password. The current one must be given;
// the new one must meet the policy and differ from it. Every session of the
// account ends, including the current one, and a fresh full session is
// returned: after a forced change the initial password never works again
// (R6). Errors: unauthorized "invalid_credentials", invalid
// "weak_password", invalid "password_reused".
func (s *AuthService) ChangePassword(ctx context.Context, current, next string) (*SignedIn, error) {
	a := kizuna.ActorFrom(ctx)
	if a == nil {
		return nil, errSignInRequired
	}
	cred, err := s.store.Credential(ctx, a.Account.ID)
	if err != nil {
		return nil, err
	}
	ok, err := s.hasher.Verify(ctx, cred.Hash, current)
	if err != nil && !errors.Is(err, password.ErrMalformedHash) {
		return nil, err
	}
	if !ok {
		return nil, kizuna.Errorf(kizuna.ErrUnauthorized, "invalid_credentials", "The current password is wrong.")
	}
	if next == current {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "password_reused", "The new password must differ from the current one.")
	}
	if err := password.CheckPolicy(next, a.Account.Local, a.Account.DisplayName); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetCredential(ctx, a.Account.ID, kizuna.Credential{Hash: hash}, false, true); err != nil {
		return nil, err
	}
	s.sessionsChanged(a.Account.ID)
	acct, err := s.store.AccountByID(ctx, a.Account.ID)
	if err != nil {
		return nil, err
	}
	var client *kizuna.Client
	if a.Session.ClientID != "" {
		client = &kizuna.Client{ID: a.Session.ClientID}
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: acct.TenantID, ActorID: acct.ID, Action: "auth.password_changed", TargetID: acct.ID, Target: acct.Address()})
	return s.openSession(ctx, acct, client)
}

// StreamActors returns the accounts an event stream serves: every account
// signed in (past the password change) on the actor's client, or the actor
// alone when its session is not on a client. Errors: unauthorized
// "invalid_session" when the actor's own session has ended.
func (s *AuthService) StreamActors(ctx context.Context) ([]*kizuna.Actor, error) {
	a, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if a.Session.ClientID == "" {
		return []*kizuna.Actor{a}, nil
	}
	sessions, err := s.store.ClientSessions(ctx, a.Session.ClientID)
	if err != nil {
		return nil, err
	}
	var out []*kizuna.Actor
	own := false
	for _, sess := range sessions {
		if sess.PasswordChangeOnly {
			continue
		}
		acct, err := s.store.AccountByID(ctx, sess.AccountID)
		if errors.Is(err, kizuna.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if acct.Status != kizuna.StatusActive {
			continue
		}
		own = own || sess.ID == a.Session.ID
		out = append(out, &kizuna.Actor{Account: acct, Session: sess})
	}
	if !own {
		return nil, kizuna.Errorf(kizuna.ErrUnauthorized, "invalid_session", "The session has ended; sign in again.")
	}
	return out, nil
}
