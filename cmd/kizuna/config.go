package main

import (
	"errors"

	"flag"
	"fmt"
	"github.com/kizuna-chat/kizuna/mail"
	"github.com/kizuna-chat/kizuna/service"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the server's configuration: defaults, then environment
// variables, then command-line flags, then Validate.
type Config struct {
	// Addr is the HTTP listen address (KIZUNA_ADDR, --addr).
	Addr string
	// DataDir holds the embedded SQLite database and other files
	// (KIZUNA_DATA, --data).
	DataDir string
	// DatabaseURL selects PostgreSQL when it is a postgres:// URL
	// (KIZUNA_DATABASE_URL, --database-url).
	DatabaseURL string
	// NATSURL connects the real-time hub to NATS so that several nodes
	// on one PostgreSQL database deliver to each other's clients
	// (KIZUNA_NATS_URL).
	NATSURL string
	// NodeID names this node among the others (KIZUNA_NODE; default: host
	// name and process ID).
	NodeID string
	// SQLiteSynchronous is NORMAL (survives a killed process) or FULL
	// (also survives power loss) (KIZUNA_SQLITE_SYNCHRONOUS).
	SQLiteSynchronous string
	// SQLiteWALRestartMiB is the write-ahead log's size, in MiB, past
	// which it starts over even under steady writes; the file keeps up to
	// twice that (KIZUNA_SQLITE_WAL_RESTART).
	SQLiteWALRestartMiB int
	// OpenSignup lets anyone create a tenant (KIZUNA_OPEN_SIGNUP).
	OpenSignup bool
	// PublicURL is the address people use to reach the server, for
	// printed links (KIZUNA_PUBLIC_URL); default http://Addr.
	PublicURL string
	// SessionTTL is how long a sign-in lasts (KIZUNA_SESSION_TTL).
	SessionTTL time.Duration
	// SMTPURL sends mail through an SMTP server
	// (smtp://user:password@host:587?tls=starttls&from=addr); empty means
	// the file outbox in DataDir/outbox (KIZUNA_SMTP_URL).
	SMTPURL string
	// DNSVerify lets admins verify domains through DNS TXT records with
	// the system resolver (KIZUNA_DNS_VERIFY).
	DNSVerify bool
	// AuditRetention is how long audit entries are kept; a negative value
	// keeps them forever (KIZUNA_AUDIT_RETENTION).
	AuditRetention time.Duration
	// DomainGrace is how long a renamed domain's former name signs in and
	// stays reserved (KIZUNA_DOMAIN_GRACE).
	DomainGrace time.Duration
	// MaxAccountsPerClient is how many accounts one client may hold
	// (KIZUNA_MAX_ACCOUNTS_PER_CLIENT).
	MaxAccountsPerClient int
	// MessageRate is how many messages per second one account may keep
	// sending, with bursts of twice as many; negative turns the limit off
	// (KIZUNA_MESSAGE_RATE; "off" too).
	MessageRate float64
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration
	// LogFormat is "json" (default) or "text" (KIZUNA_LOG_FORMAT).
	LogFormat string
	// DebugAddr, when set, serves Go's profiler (/debug/pprof/) on a
	// separate listener, for diagnosing a slow server (KIZUNA_DEBUG_ADDR).
	// Keep it on localhost.
	DebugAddr string
}

// DefaultConfig returns the embedded default: SQLite in ./kizuna-data.
func DefaultConfig() Config {
	return Config{
		Addr:                 "127.0.0.1:8080",
		DataDir:              "./kizuna-data",
		SQLiteSynchronous:    "NORMAL",
		SQLiteWALRestartMiB:  512,
		SessionTTL:           30 * 24 * time.Hour,
		MaxAccountsPerClient: 5,
		DomainGrace:          30 * 24 * time.Hour,
		AuditRetention:       365 * 24 * time.Hour,
		ShutdownTimeout:      15 * time.Second,
		MessageRate:          service.DefaultMessagesPerSecond,
		LogFormat:            "json",
	}
}

// applyEnv overrides c from KIZUNA_* variables.
func (c *Config) applyEnv(getenv func(string) string) (err error) {
	str := map[string]*string{
		"KIZUNA_ADDR": &c.Addr, "KIZUNA_DATA": &c.DataDir, "KIZUNA_DATABASE_URL": &c.DatabaseURL,
		"KIZUNA_SQLITE_SYNCHRONOUS": &c.SQLiteSynchronous, "KIZUNA_PUBLIC_URL": &c.PublicURL,
		"KIZUNA_LOG_FORMAT": &c.LogFormat, "KIZUNA_SMTP_URL": &c.SMTPURL,
		"KIZUNA_NATS_URL": &c.NATSURL, "KIZUNA_NODE": &c.NodeID,
	}
	for k, p := range str {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	if v := getenv("KIZUNA_OPEN_SIGNUP"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("KIZUNA_OPEN_SIGNUP: want true or false, got %q", v)
		}
		c.OpenSignup = b
	}
	if v := getenv("KIZUNA_MAX_ACCOUNTS_PER_CLIENT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("KIZUNA_MAX_ACCOUNTS_PER_CLIENT: want a number, got %q", v)
		}
		c.MaxAccountsPerClient = n
	}
	if v := getenv("KIZUNA_SQLITE_WAL_RESTART"); v != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(v, "MiB"), "M"))
		if err != nil {
			return fmt.Errorf("KIZUNA_SQLITE_WAL_RESTART: want a size in MiB, got %q", v)
		}
		c.SQLiteWALRestartMiB = n
	}
	if v := getenv("KIZUNA_MESSAGE_RATE"); v == "off" {
		c.MessageRate = -1
	} else if v != "" {
		if c.MessageRate, err = strconv.ParseFloat(v, 64); err != nil || c.MessageRate == 0 {
			return fmt.Errorf("KIZUNA_MESSAGE_RATE: want messages per second or off, got %q", v)
		}
	}
	if v := getenv("KIZUNA_DEBUG_ADDR"); v != "" {
		c.DebugAddr = v
	}
	if v := getenv("KIZUNA_DNS_VERIFY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("KIZUNA_DNS_VERIFY: want true or false, got %q", v)
		}
		c.DNSVerify = b
	}
	if v := getenv("KIZUNA_AUDIT_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("KIZUNA_AUDIT_RETENTION: %w", err)
		}
		c.AuditRetention = d
	}
	if v := getenv("KIZUNA_DOMAIN_GRACE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("KIZUNA_DOMAIN_GRACE: %w", err)
		}
		c.DomainGrace = d
	}
	if v := getenv("KIZUNA_SESSION_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("KIZUNA_SESSION_TTL: %w", err)
		}
		c.SessionTTL = d
	}
	return nil
}

// storeFlags registers the flags that select the store.
func (c *Config) storeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory for the embedded SQLite store (KIZUNA_DATA)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres:// URL to use PostgreSQL instead of SQLite (KIZUNA_DATABASE_URL)")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("the listen address is empty"))
	}
	if c.DatabaseURL != "" && !c.UsesPostgres() {
		errs = append(errs, fmt.Errorf("the database URL must start with postgres:// or postgresql://"))
	}
	if c.NATSURL != "" && !c.UsesPostgres() {
		errs = append(errs, errors.New("KIZUNA_NATS_URL joins nodes that share one PostgreSQL database: set KIZUNA_DATABASE_URL too"))
	}
	if !c.UsesPostgres() && c.DataDir == "" {
		errs = append(errs, errors.New("the data directory is empty"))
	}
	c.SQLiteSynchronous = strings.ToUpper(c.SQLiteSynchronous)
	if c.SQLiteSynchronous != "NORMAL" && c.SQLiteSynchronous != "FULL" {
		errs = append(errs, fmt.Errorf("KIZUNA_SQLITE_SYNCHRONOUS must be NORMAL or FULL, not %q", c.SQLiteSynchronous))
	}
	if c.SQLiteWALRestartMiB < 4 || c.SQLiteWALRestartMiB > 65536 {
		errs = append(errs, fmt.Errorf("KIZUNA_SQLITE_WAL_RESTART must be between 4 and 65536 (MiB), not %d", c.SQLiteWALRestartMiB))
	}
	if c.SMTPURL != "" {
		if _, err := mail.ParseSMTPURL(c.SMTPURL); err != nil {
			errs = append(errs, err)
		}
	}
	if c.MaxAccountsPerClient < 1 || c.MaxAccountsPerClient > 100 {
		errs = append(errs, fmt.Errorf("KIZUNA_MAX_ACCOUNTS_PER_CLIENT must be between 1 and 100"))
	}
	if c.AuditRetention >= 0 && c.AuditRetention < 24*time.Hour {
		errs = append(errs, errors.New("KIZUNA_AUDIT_RETENTION must be at least 24h (or negative to keep entries forever)"))
	}
	if c.DomainGrace < time.Minute {
		errs = append(errs, errors.New("KIZUNA_DOMAIN_GRACE must be at least a minute"))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, errors.New("the session lifetime must be at least a minute"))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("the log format must be json or text, not %q", c.LogFormat))
	}
	return errors.Join(errs...)
}

// UsesPostgres reports whether the configuration selects PostgreSQL.
func (c *Config) UsesPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

func loadConfig(fs *flag.FlagSet, args []string, register func(*Config)) (Config, error) {
	c := DefaultConfig()
	if err := c.applyEnv(os.Getenv); err != nil {
		return c, err
	}
	register(&c)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, c.Validate()
}
