package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/service"
)

// runSetup creates a tenant with its first domain and owner, as the server
// operator, and prints the owner's ID and initial password.
func runSetup(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("kizuna setup", flag.ContinueOnError)
	var in service.NewTenant
	c, err := loadConfig(fs, args, func(c *Config) {
		c.storeFlags(fs)
		fs.StringVar(&in.TenantName, "tenant", "", "tenant name (required)")
		fs.StringVar(&in.Domain, "domain", "", "the tenant's first domain (required)")
		fs.StringVar(&in.OwnerLocal, "owner", "", "the owner's ID before @ (required)")
		fs.StringVar(&in.OwnerDisplayName, "owner-name", "", "the owner's display name")
	})
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	if in.TenantName == "" || in.Domain == "" || in.OwnerLocal == "" {
		fs.Usage()
		return errors.New("--tenant, --domain and --owner are required")
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := service.New(st, password.NewHasher(password.OWASP, 0), service.Config{}, slog.New(slog.DiscardHandler))
	created, err := svc.Tenants.Create(ctx, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Created tenant %q with domain %s.\n\n", created.Tenant.Name, created.Domain.Name)
	fmt.Fprintf(out, "  owner ID:         %s\n", created.Owner.Address())
	fmt.Fprintf(out, "  initial password: %s\n\n", created.GeneratedPassword)
	fmt.Fprintln(out, "Sign in with them; the owner must choose a new password at first sign-in.")
	return nil
}
