package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/hub"
	"github.com/kizuna-chat/kizuna/internal/gcpolicy"
	"github.com/kizuna-chat/kizuna/mail"
	"github.com/kizuna-chat/kizuna/metrics"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/postgres"
	"github.com/kizuna-chat/kizuna/service"
	"github.com/kizuna-chat/kizuna/sqlite"
	"github.com/kizuna-chat/kizuna/sqlstore"
	"github.com/kizuna-chat/kizuna/web"
)

// Main is a running server: end-to-end tests run the same Main on port :0
// with a temporary data directory.
type Main struct {
	Config Config
	Logger *slog.Logger
	// Out receives the first-run setup instructions.
	Out io.Writer

	Store    *sqlstore.DB
	Services *service.Services
	// Metrics is this node's registry, served at /metrics.
	Metrics  *metrics.Metrics
	api      *httpapi.Server
	nats     *hub.NATS
	listener net.Listener
	server   *http.Server
	// stopJobs ends the background jobs (the mail worker).
	stopJobs context.CancelFunc
	jobs     sync.WaitGroup
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Config: DefaultConfig(), Out: os.Stdout}
}

// ParseFlags reads the environment and the serve command's flags.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("kizuna serve", flag.ContinueOnError)
	c, err := loadConfig(fs, args, func(c *Config) {
		fs.StringVar(&c.Addr, "addr", c.Addr, "HTTP listen address (KIZUNA_ADDR)")
		c.storeFlags(fs)
		fs.BoolVar(&c.OpenSignup, "open-signup", c.OpenSignup, "let anyone create a tenant (KIZUNA_OPEN_SIGNUP)")
	})
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	m.Config = c
	return nil
}

// openStore opens the configured store engine and applies migrations.
func openStore(ctx context.Context, c Config) (*sqlstore.DB, error) {
	if c.UsesPostgres() {
		return postgres.Open(ctx, c.DatabaseURL, postgres.Options{})
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(c.DataDir, "kizuna.db"), sqlite.Options{Synchronous: c.SQLiteSynchronous, RestartWAL: int64(c.SQLiteWALRestartMiB) << 20})
}

// Run opens the store, starts listening and serves in the background. On
// an empty store it prints a one-time setup token.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if m.Logger == nil {
		m.Logger = newLogger(m.Config.LogFormat, os.Stderr)
	}
	st, err := openStore(ctx, m.Config)
	if err != nil {
		return err
	}
	m.Store = st
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", m.Config.Addr, err)
	}
	m.listener = ln
	var transport mail.Transport = &mail.FileOutbox{Dir: filepath.Join(m.Config.DataDir, "outbox")}
	if m.Config.SMTPURL != "" {
		if transport, err = mail.ParseSMTPURL(m.Config.SMTPURL); err != nil {
			return err
		}
	}
	m.Metrics = metrics.New()
	m.Metrics.WatchDB(st.Pools())
	worker := mail.NewWorker(m.Metrics.MailQueue(st), transport, m.Logger)
	var resolver service.TXTResolver
	if m.Config.DNSVerify {
		resolver = net.DefaultResolver
	}
	hasher := password.NewHasher(password.OWASP, 0)
	var eventHub hub.Hub
	var ready []httpapi.Pinger
	if m.Config.NATSURL != "" {
		if m.nats, err = hub.NewNATS(m.Config.NATSURL, "kizuna.events", m.nodeID(), &hub.Local{}, m.Logger); err != nil {
			return err
		}
		eventHub, ready = m.nats, append(ready, m.nats)
	}
	m.Services = service.New(st, hasher, service.Config{Hub: eventHub, Resolver: resolver, OpenSignup: m.Config.OpenSignup, SessionTTL: m.Config.SessionTTL,
		SignInURL: m.URL() + "/", MaxAccountsPerClient: m.Config.MaxAccountsPerClient, Mailer: worker, DomainGracePeriod: m.Config.DomainGrace, AuditRetention: m.Config.AuditRetention,
		Limits: service.Limits{MessagesPerSecond: m.Config.MessageRate, MessageBurst: int(2 * m.Config.MessageRate)}}, m.Logger)
	jobCtx, stop := context.WithCancel(context.Background())
	m.stopJobs = stop
	m.jobs.Add(2)
	go func() {
		defer m.jobs.Done()
		worker.Run(jobCtx)
	}()
	go func() {
		defer m.jobs.Done()
		m.runAuditRetention(jobCtx)
	}()
	m.jobs.Add(1)
	go func() {
		defer m.jobs.Done()
		m.runPurge(jobCtx)
	}()
	// A quiet server collects garbage more often, so idle connections do
	// not pay for a busy one's headroom (see package gcpolicy).
	m.jobs.Add(1)
	go func() {
		defer m.jobs.Done()
		gcpolicy.Process.Watch(jobCtx, gcWatchEvery)
	}()
	if err := m.Services.Talk.StartTailing(ctx); err != nil {
		return err
	}
	m.jobs.Add(1)
	go func() {
		defer m.jobs.Done()
		m.watchHealth(jobCtx, st)
	}()
	api := httpapi.New(m.Services, m.Logger, m.URL(), append([]httpapi.Pinger{st}, ready...)...)
	m.api = api
	m.Metrics.WatchServices(m.Services)
	m.Metrics.WatchGC(gcpolicy.Process.Percent)
	m.Metrics.WatchHub(m.Services.Talk.Hub())
	api.SetMetrics(m.Metrics)
	m.server = &http.Server{
		Handler:           web.New(api, m.Services.Auth, m.Logger, m.URL()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	// Shutdown does not wait for hijacked connections: tell WebSocket
	// clients to reconnect (to another node, or to this one once back).
	m.server.RegisterOnShutdown(api.CloseStreams)
	if m.Config.DebugAddr != "" {
		go m.serveDebug()
	}
	go func() {
		if err := m.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server stopped", "err", err)
		}
	}()
	engine := "sqlite:" + filepath.Join(m.Config.DataDir, "kizuna.db")
	if m.Config.UsesPostgres() {
		engine = "postgres"
	}
	m.Logger.Info("kizuna serving", "url", m.URL(), "store", engine)

	token, err := m.Services.Tenants.SetupToken(ctx)
	if err != nil {
		return fmt.Errorf("preparing first-run setup: %w", err)
	}
	if token != "" {
		fmt.Fprintf(m.Out, `
Kizuna has no tenant yet. Create the first tenant, its domain and its owner
with this one-time setup token (valid until a tenant exists; a restart prints a new one):

  setup token: %s

Open %s/#/setup?token=%s in a browser, or:

  curl -s %s/api/v1/setup -H 'Content-Type: application/json' \
    -d '{"setup_token":"%s","tenant_name":"Acme","domain":"acme.example","owner_local":"admin"}'

or from the command line: kizuna setup --tenant Acme --domain acme.example --owner admin

`, token, m.URL(), token, m.URL(), token)
	}
	return nil
}

// gcWatchEvery is how often the GC policy samples the allocation rate.
const gcWatchEvery = 5 * time.Second

// runAuditRetention deletes expired audit entries at start and then every
// hour, on whichever node holds the job's lease.
func (m *Main) runAuditRetention(ctx context.Context) {
	m.everyHour(ctx, "audit_retention", func(ctx context.Context) {
		n, err := m.Services.Audit.PurgeExpired(ctx)
		m.Metrics.JobRan("audit_retention", err)
		if err != nil && ctx.Err() == nil {
			m.Logger.Warn("audit retention", "err", err)
		} else if n > 0 {
			m.Logger.Info("audit entries past retention deleted", "count", n)
		}
	})
}

// runPurge deletes cancelled tenants and deleted domains past their
// retention period at start and then every hour, on whichever node holds
// the job's lease (the store's deletes are conditional too, so even two
// runs at once purge each item once).
func (m *Main) runPurge(ctx context.Context) {
	m.everyHour(ctx, "purge", func(ctx context.Context) {
		c, err := m.Services.Tenants.PurgeExpired(ctx)
		m.Metrics.JobRan("purge", err)
		if err != nil && ctx.Err() == nil {
			m.Logger.Warn("purge past retention", "err", err, "tenants", c.Tenants, "domains", c.Domains, "accounts", c.Accounts, "rooms", c.Rooms)
		} else if c.Tenants > 0 || c.Domains > 0 {
			m.Logger.Info("purged past retention", "tenants", c.Tenants, "domains", c.Domains, "accounts", c.Accounts, "rooms", c.Rooms)
		}
	})
}

// everyHour runs job at start and then hourly while this node holds the
// job's lease: with several nodes, one runs it; when that node dies, its
// lease runs out and another node takes the job over within the hour.
func (m *Main) everyHour(ctx context.Context, name string, job func(context.Context)) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		// A lease slightly longer than the period: the holder renews it
		// before anyone else may take it.
		ok, err := m.Store.TakeLease(ctx, name, m.nodeID(), time.Hour+5*time.Minute)
		switch {
		case err != nil && ctx.Err() == nil:
			m.Logger.Warn("taking a job lease", "job", name, "err", err)
		case ok:
			job(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchHealth checks the database (and NATS) every two seconds and tells
// this node's WebSocket clients when either goes away and when both are
// back, so that apps can say so instead of failing silently.
func (m *Main) watchHealth(ctx context.Context, st *sqlstore.DB) {
	local, ok := m.Services.Talk.Hub().(*hub.Local)
	if m.nats != nil {
		local, ok = m.nats.Local(), true
	}
	if !ok {
		return
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	state := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		reason := ""
		if err := st.Ping(pctx); err != nil {
			reason = "database_unavailable"
		} else if m.nats != nil && m.nats.Ping(pctx) != nil {
			reason = "nats_unavailable"
		}
		cancel()
		if reason == state || ctx.Err() != nil {
			continue
		}
		frame := map[string]string{"type": "notice", "kind": kizuna.NoticeRecovered}
		if reason != "" {
			frame = map[string]string{"type": "notice", "kind": kizuna.NoticeDegraded, "reason": reason}
			m.Logger.Warn("degraded: telling connected clients", "reason", reason)
		} else {
			m.Logger.Info("recovered: telling connected clients", "was", state)
		}
		b, _ := json.Marshal(frame)
		local.Publish([]hub.Event{{Everyone: true, Frame: b}})
		state = reason
	}
}

// nodeID names this node among the others: KIZUNA_NODE, or the host
// name and process ID.
func (m *Main) nodeID() string {
	if m.Config.NodeID != "" {
		return m.Config.NodeID
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// URL returns the server's base URL.
func (m *Main) URL() string {
	if m.Config.PublicURL != "" {
		return m.Config.PublicURL
	}
	if m.listener == nil {
		return "http://" + m.Config.Addr
	}
	return "http://" + m.listener.Addr().String()
}

// Close stops accepting requests, lets those in flight finish (up to the
// shutdown timeout), and closes the store.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		defer cancel()
		errs = append(errs, m.server.Shutdown(ctx))
	}
	if m.stopJobs != nil {
		m.stopJobs()
		m.jobs.Wait()
	}
	if m.Services != nil {
		m.Services.Close() // commits the queued talk writes
	}
	if m.nats != nil {
		m.nats.Close()
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}

// serveDebug serves the profiler on its own listener, never on the API's.
func (m *Main) serveDebug() {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.Logger.Info("profiler listening", "addr", m.Config.DebugAddr)
	srv := &http.Server{Addr: m.Config.DebugAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		m.Logger.Error("profiler stopped", "err", err)
	}
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}
