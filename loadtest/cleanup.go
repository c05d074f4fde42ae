package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
)

// CleanupReport says what Cleanup removed. Everything it removes goes the
// way an admin's removal would: a cancelled tenant and deleted domains
// can be restored until they are purged.
type CleanupReport struct {
	// Tenant is the tenant the tool had created, now cancelled, with the
	// code that restores it until PurgeAfter.
	Tenant      string `json:"tenant,omitempty"`
	RestoreCode string `json:"restore_code,omitempty"`
	PurgeAfter  string `json:"purge_after,omitempty"`
	// Domains and Members were deleted; Gone were already.
	Domains int `json:"domains"`
	Members int `json:"members"`
	Gone    int `json:"already_gone"`
}

// Text is the report for people.
func (r *CleanupReport) Text() string {
	if r.Tenant != "" {
		return fmt.Sprintf("cleanup: cancelled the tenant %q the load test had created, with its members, domains and rooms;\n"+
			"  restorable until %s: POST /api/v1/tenant-restores {\"code\":\"%s\"}\n", r.Tenant, r.PurgeAfter, r.RestoreCode)
	}
	return fmt.Sprintf("cleanup: deleted %d test domain(s) with their imported members and %d test member(s); %d already gone\n", r.Domains, r.Members, r.Gone)
}

// Cleanup removes what the load test created, through the public API:
// a tenant made with a setup token is cancelled whole; in an existing
// tenant the admin profile's domains are deleted with their members, then
// the prepared members one by one. Rooms stay with the members removed,
// as rooms do when anyone leaves.
// s gives the admin's credentials for when the state file's session has
// ended, and the concurrency of the member deletions.
func Cleanup(ctx context.Context, api *API, fx *Fixture, s Setup, progress func(string, ...any)) (*CleanupReport, error) {
	token, err := adminSession(ctx, api, fx, s)
	if err != nil {
		return nil, err
	}
	fx.AdminToken = token
	rep := &CleanupReport{}
	if fx.OwnsTenant {
		var t struct{ Name string }
		if err := api.Do(ctx, fx.AdminToken, "GET", "/api/v1/tenant", nil, &t); err != nil {
			return nil, fmt.Errorf("reading the test tenant: %w", err)
		}
		var cancelled struct {
			RestoreCode string `json:"restore_code"`
			PurgeAfter  string `json:"purge_after"`
		}
		if err := api.Do(ctx, fx.AdminToken, "DELETE", "/api/v1/tenant", map[string]string{"confirm": t.Name}, &cancelled); err != nil {
			return nil, fmt.Errorf("cancelling the test tenant: %w", err)
		}
		rep.Tenant, rep.RestoreCode, rep.PurgeAfter = t.Name, cancelled.RestoreCode, cancelled.PurgeAfter
		return rep, nil
	}
	if len(fx.Domains) > 0 {
		var live struct {
			Items []struct{ ID, Name string }
		}
		if err := api.Do(ctx, fx.AdminToken, "GET", "/api/v1/domains", nil, &live); err != nil {
			return nil, fmt.Errorf("listing domains: %w", err)
		}
		names := map[string]string{}
		for _, d := range live.Items {
			names[d.ID] = d.Name
		}
		for _, id := range fx.Domains {
			name, ok := names[id]
			if !ok {
				rep.Gone++
				continue
			}
			progress("deleting the test domain %s and its members", name)
			if err := api.Do(ctx, fx.AdminToken, "DELETE", "/api/v1/domains/"+id, map[string]string{"members": "delete", "confirm": name}, nil); err != nil {
				return rep, fmt.Errorf("deleting the test domain %s: %w", name, err)
			}
			rep.Domains++
		}
	}
	var deleted, gone, done atomic.Int64
	err = parallel(ctx, len(fx.Accounts), max(s.Concurrency, 1), func(i int) error {
		err := api.Do(ctx, fx.AdminToken, "DELETE", "/api/v1/members/"+fx.Accounts[i].ID, nil, nil)
		var ae *APIError
		switch {
		case err == nil:
			deleted.Add(1)
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			gone.Add(1)
		default:
			return fmt.Errorf("deleting %s: %w", fx.Accounts[i].SignInID, err)
		}
		if n := done.Add(1); n%100 == 0 || int(n) == len(fx.Accounts) {
			progress("test members removed: %d/%d", n, len(fx.Accounts))
		}
		return nil
	})
	rep.Members, rep.Gone = int(deleted.Load()), rep.Gone+int(gone.Load())
	return rep, err
}

// adminSession returns a live session of the admin: the state file's, or
// a new one with the owner's password the tool kept, or with the
// credentials given.
func adminSession(ctx context.Context, api *API, fx *Fixture, s Setup) (string, error) {
	if fx.AdminToken != "" && api.Do(ctx, fx.AdminToken, "GET", "/api/v1/me", nil, nil) == nil {
		return fx.AdminToken, nil
	}
	id, pw := s.AdminID, s.AdminPassword
	if fx.OwnerID != "" {
		id, pw = fx.OwnerID, fx.OwnerPassword
	}
	if id == "" {
		return "", errors.New("the admin's session in the state file has ended: give --admin-id and --admin-password to clean up")
	}
	sess, err := signIn(ctx, api, id, pw, pw+" changed")
	if err != nil {
		return "", err
	}
	return sess.Token, nil
}

// ReadState reads a state file as the load test wrote it, without
// checking its sessions (Cleanup reports an expired one).
func ReadState(path string) (*Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f Fixture
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return &f, nil
}

// RecordDomains adds domains the admin profile made to the state file, so
// that a later cleanup finds them.
func RecordDomains(path string, ids []string) error {
	if path == "" || len(ids) == 0 {
		return nil
	}
	f, err := ReadState(path)
	if err != nil {
		return err
	}
	f.AddDomains(ids)
	return SaveState(path, f)
}

// AddDomains records domains the admin profile made, each once.
func (f *Fixture) AddDomains(ids []string) {
	for _, id := range ids {
		if !slices.Contains(f.Domains, id) {
			f.Domains = append(f.Domains, id)
		}
	}
}

// SaveState writes the fixture to path, readable by its owner only: it
// holds session tokens and passwords.
func SaveState(path string, f *Fixture) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
