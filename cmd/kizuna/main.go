// Command kizuna is the Kizuna server and its admin tool.
//
//	kizuna serve   run the server
//	kizuna setup   create a tenant, its first domain and its owner
//	kizuna tenants list cancelled tenants and restore them
//	kizuna loadtest drive a running server and measure it
//	kizuna backup  archive the embedded store and data directory, online
//	kizuna restore unpack a backup into a data directory
//	kizuna migrate-store copy a SQLite installation into PostgreSQL
//	kizuna version print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "kizuna:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `Kizuna — business chat and member directory.

Usage:
  kizuna serve   [--addr 127.0.0.1:8080] [--data ./kizuna-data] [--database-url postgres://…]
  kizuna setup   --tenant NAME --domain DOMAIN --owner LOCAL [--owner-name NAME] [--data …] [--database-url …]
  kizuna tenants list --cancelled | restore --tenant ID|DOMAIN [--data …] [--database-url …]
  kizuna loadtest --url http://127.0.0.1:8080 --admin-id ID [--clients 1000] [--rate N] [--profile talk|idle]
  kizuna backup  [--data ./kizuna-data] [--out FILE.tar.gz]
  kizuna restore --from FILE.tar.gz [--data ./kizuna-data] [--force]
  kizuna migrate-store --from ./kizuna-data --to postgres://…
  kizuna version

Run "kizuna COMMAND -h" for a command's flags and environment variables.
`

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		m := NewMain()
		if err := m.ParseFlags(args[1:]); err != nil {
			return err
		}
		if err := m.Run(ctx); err != nil {
			m.Close()
			return err
		}
		<-ctx.Done()
		m.Logger.Info("shutting down")
		return m.Close()
	case "setup":
		return runSetup(ctx, args[1:], os.Stdout)
	case "tenants":
		return runTenants(ctx, args[1:], os.Stdout)
	case "loadtest":
		return runLoadtest(ctx, args[1:], os.Stdout)
	case "backup":
		return runBackup(ctx, args[1:], os.Stdout)
	case "restore":
		return runRestore(ctx, args[1:], os.Stdout)
	case "migrate-store":
		return runMigrateStore(ctx, args[1:], os.Stdout)
	case "version", "--version":
		fmt.Println("kizuna", Version)
		return nil
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprintf(os.Stderr, "kizuna: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
