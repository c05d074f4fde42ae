package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// Setup says how the load test gets its accounts.
type Setup struct {
	// AdminID and AdminPassword sign in an admin of the tenant the test
	// adds its members to.
	AdminID, AdminPassword string
	// SetupToken, instead, creates a fresh tenant on an empty server
	// (the token "kizuna serve" prints on first start).
	SetupToken string
	// Domain is the tenant domain members are added to (default: the
	// admin's own).
	Domain string
	// Clients is how many member accounts to prepare.
	Clients int
	// StatePath, when set, keeps the prepared accounts and their session
	// tokens in a file, so that later runs skip the sign-ins.
	StatePath string
	// Concurrency bounds parallel setup requests (password hashing makes
	// each sign-in cost tens of milliseconds of server CPU).
	Concurrency int
}

// Account is one prepared member.
type Account struct {
	ID       string `json:"id"`
	SignInID string `json:"sign_in_id"`
	Token    string `json:"token"`
	// Password is the member's password after the forced change, for the
	// sign-in profile (the state file is written readable by its owner
	// only).
	Password string `json:"password"`
}

// Fixture is what a run works with, and what Cleanup removes.
type Fixture struct {
	URL        string    `json:"url"`
	AdminToken string    `json:"admin_token"`
	Accounts   []Account `json:"accounts"`
	// OwnsTenant says the tool created the tenant (with a setup token):
	// cleaning up cancels it whole.
	OwnsTenant bool `json:"owns_tenant,omitempty"`
	// OwnerID and OwnerPassword sign the owner of that tenant in again
	// when its session has ended: its password is the tool's own.
	OwnerID       string `json:"owner_id,omitempty"`
	OwnerPassword string `json:"owner_password,omitempty"`
	// Domains are the IDs of the domains the admin profile added.
	Domains []string `json:"domains,omitempty"`
}

// Prepare signs the admin in and makes sure Clients member accounts exist
// with live sessions, reusing the state file when it still works.
func Prepare(ctx context.Context, api *API, s Setup, progress func(format string, args ...any)) (*Fixture, error) {
	if s.Concurrency <= 0 {
		s.Concurrency = 4
	}
	if f, ok := loadState(ctx, api, s); ok && len(f.Accounts) >= s.Clients {
		progress("reusing %d accounts from %s", len(f.Accounts), s.StatePath)
		f.Accounts = f.Accounts[:s.Clients]
		return f, nil
	}
	admin, err := signInAdmin(ctx, api, s)
	if err != nil {
		return nil, err
	}
	domain := admin.domain
	if s.Domain != "" {
		domain = s.Domain
	}
	f := &Fixture{URL: api.Base, AdminToken: admin.token, Accounts: make([]Account, s.Clients)}
	if s.SetupToken != "" {
		f.OwnsTenant, f.OwnerID, f.OwnerPassword = true, admin.id, admin.password
	}
	run := randomHex(4)
	var done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var failed atomic.Bool
	sem := make(chan struct{}, s.Concurrency)
	var wg sync.WaitGroup
	for i := range s.Clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a, err := addMember(ctx, api, admin.token, fmt.Sprintf("lt-%s-%05d", run, i), domain)
			if err != nil {
				errOnce.Do(func() { firstErr = err })
				failed.Store(true)
				return
			}
			f.Accounts[i] = a
			if n := done.Add(1); n%100 == 0 || int(n) == s.Clients {
				progress("accounts ready: %d/%d", n, s.Clients)
			}
		}()
		if failed.Load() {
			break
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("preparing accounts: %w", firstErr)
	}
	if err := SaveState(s.StatePath, f); err != nil {
		return nil, err
	}
	return f, nil
}

type session struct {
	// password is the one the account has after the sign-in.
	password               string
	Token                  string `json:"token"`
	PasswordChangeRequired bool   `json:"password_change_required"`
	Account                struct {
		ID       string `json:"id"`
		SignInID string `json:"sign_in_id"`
		Domain   string `json:"domain"`
	} `json:"account"`
}

// signIn signs in and, when the password is an initial one, replaces it
// with next (the forced change every new member goes through).
func signIn(ctx context.Context, api *API, id, password, next string) (*session, error) {
	var s session
	if err := api.Do(ctx, "", "POST", "/api/v1/login", map[string]string{"id": id, "password": password}, &s); err != nil {
		return nil, fmt.Errorf("signing in %s: %w", id, err)
	}
	s.password = password
	if !s.PasswordChangeRequired {
		return &s, nil
	}
	var changed session
	if err := api.Do(ctx, s.Token, "POST", "/api/v1/me/password", map[string]string{"current_password": password, "new_password": next}, &changed); err != nil {
		return nil, fmt.Errorf("changing the initial password of %s: %w", id, err)
	}
	changed.Account, changed.password = s.Account, next
	return &changed, nil
}

// signedInAdmin is the admin a load test works as.
type signedInAdmin struct {
	token, id, password string
	domain              string // the admin's own domain
}

func signInAdmin(ctx context.Context, api *API, s Setup) (*signedInAdmin, error) {
	if s.SetupToken != "" {
		pw := "lt " + randomHex(12)
		var created struct {
			Owner struct {
				SignInID string `json:"sign_in_id"`
			} `json:"owner"`
		}
		d := s.Domain
		if d == "" {
			d = "loadtest.example"
		}
		err := api.Do(ctx, "", "POST", "/api/v1/setup", map[string]string{"setup_token": s.SetupToken, "tenant_name": "Load test",
			"domain": d, "owner_local": "owner", "owner_password": pw}, &created)
		if err != nil {
			return nil, fmt.Errorf("setting up a tenant: %w", err)
		}
		s.AdminID, s.AdminPassword = created.Owner.SignInID, pw
	}
	if s.AdminID == "" {
		return nil, errors.New("give --admin-id and --admin-password of a tenant admin, or --setup-token of an empty server")
	}
	sess, err := signIn(ctx, api, s.AdminID, s.AdminPassword, s.AdminPassword+" changed")
	if err != nil {
		return nil, err
	}
	_, domain, _ := strings.Cut(sess.Account.SignInID, "@")
	return &signedInAdmin{token: sess.Token, id: s.AdminID, password: sess.password, domain: domain}, nil
}

func addMember(ctx context.Context, api *API, admin, local, domain string) (Account, error) {
	pw := "lt initial " + randomHex(8)
	var added struct {
		Member struct {
			ID       string `json:"id"`
			SignInID string `json:"sign_in_id"`
		} `json:"member"`
	}
	err := api.Do(ctx, admin, "POST", "/api/v1/members", map[string]string{"local": local, "domain": domain, "display_name": local, "password": pw}, &added)
	if err != nil {
		return Account{}, fmt.Errorf("adding %s@%s: %w", local, domain, err)
	}
	final := "lt member " + randomHex(8)
	sess, err := signIn(ctx, api, added.Member.SignInID, pw, final)
	if err != nil {
		return Account{}, err
	}
	return Account{ID: added.Member.ID, SignInID: added.Member.SignInID, Token: sess.Token, Password: final}, nil
}

// loadState reads the state file and checks that its tokens still work.
func loadState(ctx context.Context, api *API, s Setup) (*Fixture, bool) {
	if s.StatePath == "" {
		return nil, false
	}
	b, err := os.ReadFile(s.StatePath)
	if err != nil {
		return nil, false
	}
	var f Fixture
	if json.Unmarshal(b, &f) != nil || f.URL != api.Base || len(f.Accounts) == 0 {
		return nil, false
	}
	for _, tok := range []string{f.AdminToken, f.Accounts[0].Token, f.Accounts[len(f.Accounts)-1].Token} {
		if api.Do(ctx, tok, "GET", "/api/v1/me", nil, nil) != nil {
			return nil, false
		}
	}
	return &f, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}
