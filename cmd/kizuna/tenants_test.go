package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
)

func TestTenantsCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := runSetup(ctx, []string{"--data", dir, "--tenant", "Acme", "--domain", "acme.example", "--owner", "admin"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.DataDir = dir
	st, err := openStore(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.DomainByName(ctx, "acme.example")
	if err != nil {
		t.Fatal(err)
	}
	// The owner cancels (as through the API) and loses the code.
	if err := st.CancelTenant(ctx, d.TenantID, time.Now().Add(time.Hour), []byte("lost code hash"), nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	tenants := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runTenants(ctx, append(args, "--data", dir), &out)
		return out.String(), err
	}
	out, err := tenants("list", "--cancelled")
	if err != nil || !strings.Contains(out, d.TenantID) || !strings.Contains(out, "Acme") || !strings.Contains(out, "acme.example") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	// By domain, in any case the operator types it.
	out, err = tenants("restore", "--tenant", "ACME.example")
	if err != nil || !strings.Contains(out, `Restored tenant "Acme"`) {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	_, err = tenants("restore", "--tenant", d.TenantID)
	if kizuna.ErrorCode(err) != "not_restorable" {
		t.Errorf("restoring twice: %v", err)
	}
	if out, err := tenants("list", "--cancelled"); err != nil || !strings.Contains(out, "No cancelled tenants.") {
		t.Errorf("list after restore: %v\n%s", err, out)
	}
	_, err = tenants("restore", "--tenant", "nobody.example")
	if kizuna.ErrorCode(err) != "not_restorable" {
		t.Errorf("restoring an unknown tenant: %v", err)
	}

	// The restored owner signs in again.
	st, err = openStore(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AccountByAddress(ctx, "admin", "acme.example"); err != nil {
		t.Errorf("owner after restore: %v", err)
	}

	for _, bad := range [][]string{{}, {"purge"}, {"list"}, {"restore"}, {"restore", "--tenant", " "}, {"list", "--cancelled", "extra"}} {
		if err := runTenants(ctx, bad, io.Discard); err == nil {
			t.Errorf("tenants %q: no error", bad)
		}
	}
	if err := runTenants(ctx, nil, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("no subcommand: %v", err)
	}
}
