// Package service owns Kizuna's decisions: who may do what, validation of
// input, classification of people (R3) and the order of writes. Stores only
// persist; the HTTP layer only translates. Each concern has its own type:
// TenantService, DomainService, MemberService, AuthService.
package service

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/hub"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/store"
)

// Config holds the server settings the services obey.
type Config struct {
	// OpenSignup lets anyone create a tenant through the API.
	OpenSignup bool
	// SessionTTL is how long a session lives; 0 means 30 days.
	SessionTTL time.Duration
	// PasswordChangeTTL bounds a session opened with an initial password;
	// 0 means 15 minutes.
	PasswordChangeTTL time.Duration
	// MaxAccountsPerClient is how many accounts one client may hold at
	// once (R5); 0 means 5.
	MaxAccountsPerClient int
	// SignInURL is printed on invitation sheets and mail.
	SignInURL string
	// Now is the clock; nil means time.Now. Tests move it forward.
	Now func() time.Time
	// Resolver, when set, lets admins verify domains through DNS TXT
	// records.
	Resolver TXTResolver
	// AuditRetention is how long audit entries are kept; 0 means 365
	// days, a negative value forever.
	AuditRetention time.Duration
	// DeletedRetention is how long a deleted domain can be restored; 0
	// means 30 days.
	DeletedRetention time.Duration
	// DomainGracePeriod is how long a renamed domain's former name signs
	// in and stays reserved; 0 means 30 days.
	DomainGracePeriod time.Duration
	// Mailer is woken when mail is queued; nil means nobody listens (the
	// mail waits for the next poll).
	Mailer Notifier
	// Hub delivers talk events to connections; nil means an in-process
	// hub (one node).
	Hub hub.Hub
	// Limits are the abuse limits (see limits.go).
	Limits Limits
}

// Services bundles every service over one store.
type Services struct {
	Tenants  *TenantService
	Domains  *DomainService
	Members  *MemberService
	Auth     *AuthService
	Invites  *InviteService
	Imports  *ImportService
	Mail     *MailService
	Audit    *AuditService
	Talk     *TalkService
	Groups   *GroupService
	Contacts *ContactService
}

// deps are what every service shares.
type deps struct {
	store  store.Store
	hasher *password.Hasher
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	// rooms caches room membership for talk (see roomCache).
	rooms *roomCache
	// talkSvc lets other services write through the talk writer.
	talkSvc *TalkService
	// counters feed Services.Stats (see metrics.go).
	counters counters
	limiter  *limiter
}

// New returns the services over st.
func New(st store.Store, hasher *password.Hasher, cfg Config, log *slog.Logger) *Services {
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.PasswordChangeTTL == 0 {
		cfg.PasswordChangeTTL = 15 * time.Minute
	}
	if cfg.AuditRetention == 0 {
		cfg.AuditRetention = 365 * 24 * time.Hour
	}
	if cfg.DeletedRetention == 0 {
		cfg.DeletedRetention = 30 * 24 * time.Hour
	}
	if cfg.DomainGracePeriod == 0 {
		cfg.DomainGracePeriod = 30 * 24 * time.Hour
	}
	if cfg.MaxAccountsPerClient == 0 {
		cfg.MaxAccountsPerClient = 5
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Hub == nil {
		cfg.Hub = hub.NewLocal()
	}
	d := &deps{store: st, hasher: hasher, cfg: cfg, log: log, now: cfg.Now, rooms: newRoomCache(), limiter: newLimiter(cfg.Limits)}
	return &Services{
		Tenants:  &TenantService{d},
		Domains:  &DomainService{d},
		Members:  &MemberService{d},
		Auth:     &AuthService{d},
		Invites:  &InviteService{d},
		Imports:  &ImportService{deps: d},
		Mail:     &MailService{d},
		Audit:    &AuditService{d},
		Contacts: &ContactService{d},
		Talk:     d.newTalk(cfg.Hub),
		Groups:   &GroupService{d},
	}
}

// Close stops the background writers after what they hold is committed.
func (s *Services) Close() { s.Talk.Close() }

// Errors every service may return.
var (
	errSignInRequired = kizuna.Errorf(kizuna.ErrUnauthorized, "unauthorized", "Sign in first.")
	errPasswordChange = kizuna.Errorf(kizuna.ErrForbidden, "password_change_required", "Set a new password before doing anything else.")
	errAdminOnly      = kizuna.Errorf(kizuna.ErrForbidden, "admin_required", "Only an admin of the tenant can do this.")
	errMembersOnly    = kizuna.Errorf(kizuna.ErrForbidden, "member_required", "Only members of a tenant can do this; personal accounts cannot.")
)

// signedIn returns the actor, refusing sessions that may only change their
// password (R6): every capability except the password change goes through
// here.
func signedIn(ctx context.Context) (*kizuna.Actor, error) {
	a := kizuna.ActorFrom(ctx)
	if a == nil {
		return nil, errSignInRequired
	}
	if a.Session.PasswordChangeOnly {
		return nil, errPasswordChange
	}
	return a, nil
}

// member returns a signed-in actor that is a tenant member.
func member(ctx context.Context) (*kizuna.Actor, error) {
	a, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if a.Account.Kind != kizuna.KindMember {
		return nil, errMembersOnly
	}
	return a, nil
}

// admin returns a signed-in actor that is an owner or admin of its tenant.
func admin(ctx context.Context) (*kizuna.Actor, error) {
	a, err := member(ctx)
	if err != nil {
		return nil, err
	}
	if !a.Account.Role.IsAdmin() {
		return nil, errAdminOnly
	}
	return a, nil
}

// cleanName validates a human name (tenant or display name): trimmed,
// non-empty, no control characters, at most max characters.
func cleanName(s, what, code string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", kizuna.Errorf(kizuna.ErrInvalid, code, "The %s is not valid UTF-8.", what)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", kizuna.Errorf(kizuna.ErrInvalid, code, "The %s is required.", what)
	}
	if utf8.RuneCountInString(s) > max {
		return "", kizuna.Errorf(kizuna.ErrInvalid, code, "The %s must have at most %d characters.", what, max)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "", kizuna.Errorf(kizuna.ErrInvalid, code, "The %s must not contain control characters.", what)
		}
	}
	return s, nil
}

// Person is an account as a viewer sees it: the account and how it stands
// to the viewer, with the reason (R3).
type Person struct {
	*kizuna.Account
	kizuna.Classification
}

// people classifies accounts relative to viewer with one read of the
// current domain→tenant mapping.
func (d *deps) people(ctx context.Context, viewer *kizuna.Account, accounts ...*kizuna.Account) ([]Person, error) {
	ids := make([]string, 0, len(accounts)+1)
	ids = append(ids, viewer.DomainID)
	for _, a := range accounts {
		ids = append(ids, a.DomainID)
	}
	owners, err := d.store.DomainOwners(ctx, ids)
	if err != nil {
		return nil, err
	}
	m := kizuna.DomainMapFunc(func(id string) (kizuna.DomainOwner, bool) { o, ok := owners[id]; return o, ok })
	out := make([]Person, len(accounts))
	for i, a := range accounts {
		out[i] = Person{Account: a, Classification: kizuna.Classify(kizuna.PartyOf(viewer), kizuna.PartyOf(a), m)}
	}
	return out, nil
}

// person classifies one account relative to viewer.
func (d *deps) person(ctx context.Context, viewer, a *kizuna.Account) (*Person, error) {
	p, err := d.people(ctx, viewer, a)
	if err != nil {
		return nil, err
	}
	return &p[0], nil
}
