package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/service"
)

const tenantsUsage = `Usage:
  kizuna tenants list --cancelled             cancelled tenants and when they are purged
  kizuna tenants restore --tenant ID|DOMAIN   undo a cancellation before the purge date
Both take --data or --database-url to reach the store.
`

// runTenants lets the server operator list cancelled tenants and restore
// one before its purge date, against the same store as the server, for
// an owner who lost the restore code.
func runTenants(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "restore") {
		fmt.Fprint(os.Stderr, tenantsUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("kizuna tenants "+args[0], flag.ContinueOnError)
	var cancelled bool
	var ref string
	c, err := loadConfig(fs, args[1:], func(c *Config) {
		c.storeFlags(fs)
		if args[0] == "list" {
			fs.BoolVar(&cancelled, "cancelled", false, "list the cancelled tenants (required: live tenants are not listed here)")
		} else {
			fs.StringVar(&ref, "tenant", "", "the tenant's ID or one of its domain names (required)")
		}
	})
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	switch {
	case args[0] == "list" && !cancelled:
		fs.Usage()
		return errors.New("--cancelled is required")
	case args[0] == "restore" && strings.TrimSpace(ref) == "":
		fs.Usage()
		return errors.New("--tenant is required")
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := service.New(st, password.NewHasher(password.OWASP, 0), service.Config{}, slog.New(slog.DiscardHandler))
	defer svc.Close()
	if args[0] == "restore" {
		t, err := svc.Tenants.OperatorRestore(ctx, ref)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Restored tenant %q (%s): its members can sign in again.\n", t.Name, t.ID)
		return nil
	}
	list, err := svc.Tenants.CancelledTenants(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(out, "No cancelled tenants.")
		return nil
	}
	fmt.Fprintf(out, "%-26s  %-20s  %-20s  %7s  %s\n", "ID", "CANCELLED", "PURGED AFTER", "MEMBERS", "NAME / DOMAINS")
	for _, ct := range list {
		fmt.Fprintf(out, "%-26s  %-20s  %-20s  %7d  %s  %s\n", ct.Tenant.ID, ct.Tenant.CancelledAt.Format(time.RFC3339), ct.Tenant.PurgeAfter.Format(time.RFC3339),
			ct.Members, ct.Tenant.Name, strings.Join(ct.Domains, " "))
	}
	return nil
}
