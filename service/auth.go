package service

import (
	"context"
	"crypto/sha256"
	"errors"

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

// Login checks an ID and password and opens a session. A wrong ID and a
// wrong password answer alike and take the same time. A session opened
// with an initial password may only set a new password (R6). Errors:
// unauthorized "invalid_credentials", forbidden "account_suspended".
func (s *AuthService) Login(ctx context.Context, id, pw string) (*SignedIn, error) {
	local, domain, err := parseSignInID(id)
	var acct *kizuna.Account
	if err == nil {
		acct, err = s.store.AccountByAddress(ctx, local, domain)
	}
	if err != nil {
		if !errors.Is(err, kizuna.ErrNotFound) && !errors.Is(err, kizuna.ErrInvalid) {
			return nil, err
		}
		// Spend the same time as a real check before answering.
		if _, verr := s.hasher.Verify(ctx, "", pw); verr != nil {
			return nil, verr
		}
		return nil, errBadCredentials
	}
	cred, err := s.store.Credential(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	ok, err := s.hasher.Verify(ctx, cred.Hash, pw)
	if err != nil && !errors.Is(err, password.ErrMalformedHash) {
		return nil, err
	}
	if !ok {
		return nil, errBadCredentials
	}
	if acct.Status == kizuna.StatusSuspended {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "account_suspended", "This account is suspended; ask your admin.")
	}
	return s.openSession(ctx, acct)
}

func (s *AuthService) openSession(ctx context.Context, acct *kizuna.Account) (*SignedIn, error) {
	token := "kzs_" + randomToken()
	sum := sha256.Sum256([]byte(token))
	ttl := s.cfg.SessionTTL
	if acct.MustChangePassword {
		ttl = s.cfg.PasswordChangeTTL
	}
	now := s.now()
	sess := &kizuna.Session{
		ID: kizuna.NewID(), AccountID: acct.ID, TokenHash: sum[:],
		PasswordChangeOnly: acct.MustChangePassword, ExpiresAt: now.Add(ttl),
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	people, err := s.people(ctx, acct, acct)
	if err != nil {
		return nil, err
	}
	return &SignedIn{Token: token, Session: sess, Person: people[0]}, nil
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
	return s.store.DeleteSession(ctx, a.Session.ID)
}

// Me returns the actor as it sees itself. A password-change-only session
// may call it, so a client can show who is signing in.
func (s *AuthService) Me(ctx context.Context) (*Person, *kizuna.Session, error) {
	a := kizuna.ActorFrom(ctx)
	if a == nil {
		return nil, nil, errSignInRequired
	}
	people, err := s.people(ctx, a.Account, a.Account)
	if err != nil {
		return nil, nil, err
	}
	return &people[0], a.Session, nil
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
	acct, err := s.store.AccountByID(ctx, a.Account.ID)
	if err != nil {
		return nil, err
	}
	return s.openSession(ctx, acct)
}
