package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-chat/kizuna/loadtest"
)

// loadtestProfiles are the values --profile takes.
var loadtestProfiles = []string{"talk", "hot-room", "announcement", "signin", "admin", "mixed", "idle", "cleanup"}

func unknownProfile(name string) error {
	return fmt.Errorf("unknown profile %q: use %s or %s", name,
		strings.Join(loadtestProfiles[:len(loadtestProfiles)-1], ", "), loadtestProfiles[len(loadtestProfiles)-1])
}

// runLoadtest drives a running server through its public API and
// WebSockets (package loadtest) and prints what it measured.
func runLoadtest(ctx context.Context, args []string, out io.Writer) (retErr error) {
	fs := flag.NewFlagSet("kizuna loadtest", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "the server to load; several comma-separated URLs spread the clients over a cluster's nodes")
	profile := fs.String("profile", "talk", "talk (rooms sending over WebSockets), hot-room (one room, 8 senders), announcement (one room of every client, one sender at 10/s), signin (a sign-in storm), admin (CSV import, domain renames and directory searches while talk runs), mixed (talk, sign-ins and admin work at once), idle (memory per idle connection) or cleanup (only remove what the state file's load tests created)")
	cleanup := fs.Bool("cleanup", false, "after the run, remove what the load test created (the tenant it set up, or its members and the admin profile's domains) and the state file")
	var s loadtest.Setup
	fs.StringVar(&s.AdminID, "admin-id", "", "sign-in ID of a tenant admin; test members are added to that tenant")
	fs.StringVar(&s.AdminPassword, "admin-password", os.Getenv("KIZUNA_LOADTEST_PASSWORD"), "that admin's password (or KIZUNA_LOADTEST_PASSWORD)")
	fs.StringVar(&s.SetupToken, "setup-token", "", "instead of an admin: the setup token of an empty server; a tenant is created")
	fs.StringVar(&s.Domain, "domain", "", "domain for test members (default: the admin's)")
	fs.IntVar(&s.Clients, "clients", 1000, "member accounts (and WebSockets) in the talk profile")
	fs.StringVar(&s.StatePath, "state", "", "file keeping the prepared accounts for later runs")
	fs.IntVar(&s.Concurrency, "setup-concurrency", 4, "parallel requests while preparing accounts")
	var t loadtest.Talk
	fs.IntVar(&t.RoomSize, "room-size", 10, "members per room")
	fs.Float64Var(&t.Rate, "rate", 0, "messages per second offered in total (0: as fast as acknowledged)")
	fs.IntVar(&t.Senders, "senders", 0, "clients that send (0: all)")
	fs.DurationVar(&t.RampUp, "ramp-up", 0, "talk profiles: start the senders one after another over this long, before the warm-up (the offered load climbs to --rate)")
	fs.DurationVar(&t.Warmup, "warmup", 5*time.Second, "time before measuring")
	fs.DurationVar(&t.Duration, "duration", 30*time.Second, "time measured (with --messages, the most it may take: an hour unless given)")
	fs.Int64Var(&t.Messages, "messages", 0, "talk profiles: measure until this many messages are accepted rather than for --duration")
	fs.IntVar(&t.BodyBytes, "body-bytes", 100, "message size")
	fs.IntVar(&t.PID, "pid", 0, "the server's process ID on this machine, to read its memory and CPU")
	conns := fs.Int("connections", 10000, "WebSockets held open in the idle profile")
	settle := fs.Duration("settle", 5*time.Second, "idle profile: how long the connections sit before the server's memory is read (an idle Go server collects the handshakes' garbage within about two minutes)")
	jsonPath := fs.String("json", "", "also write the report as JSON to this file")
	svgPath := fs.String("svg", "", "also draw latency percentiles over time as an SVG chart in this file")
	concurrency := fs.Int("concurrency", 50, "sign-ins at once in the signin profile")
	var a loadtest.Admin
	fs.IntVar(&a.ImportRows, "import-rows", 100000, "admin and mixed profiles: members in the timed CSV import")
	fs.IntVar(&a.DirectoryMembers, "directory-members", 0, "admin and mixed profiles: grow the import domain to this many members (more imports) before searching the directory")
	fs.IntVar(&a.Renames, "renames", 5, "admin and mixed profiles: domain renames timed")
	fs.IntVar(&a.Searches, "searches", 2000, "admin and mixed profiles: directory searches timed")
	fs.IntVar(&a.SearchConcurrency, "search-concurrency", 1, "admin and mixed profiles: directory searches at once")
	cpuProfile := fs.String("cpuprofile", "", "write a pprof CPU profile of the load generator, from the prepared accounts to the report, to this file (on the server's machine the generator's CPU is taken from the server)")
	procs := fs.Int("procs", 0, "CPUs the load generator may use (0: one when --pid says the server shares this machine, else all)")
	strict := fs.Bool("strict", false, "exit non-zero on any error, disconnect or lost delivery (for CI)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	// A stray word (say two PIDs from pgrep after --pid) would otherwise
	// end the flags there, and the run would go on with the defaults of
	// everything after it.
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	// Before any account is made for it.
	if !slices.Contains(loadtestProfiles, *profile) {
		return unknownProfile(*profile)
	}
	if t.Messages < 0 || t.RampUp < 0 {
		return errors.New("--messages and --ramp-up cannot be negative")
	}
	// A message count ends the window; the duration's default would cut
	// a large count short, so it becomes a generous limit unless given.
	if t.Messages > 0 {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "duration" })
		if !given {
			t.Duration = time.Hour
		}
	}
	// Sharing the server's machine, a generator on every CPU wakes idle
	// threads for each frame it reads: measured on two cores at 5,000
	// messages/s, one CPU cost it a fifth less CPU, left to the server,
	// and moved the as-fast-as-acknowledged rate from 7,745 to 8,100-
	// 10,000 messages/s. Remote, it needs all its CPUs to load a cluster.
	if *procs == 0 && t.PID > 0 {
		*procs = 1
	}
	if *procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*procs))
	}
	progress := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	var apis []*loadtest.API
	for _, u := range strings.Split(*url, ",") {
		apis = append(apis, loadtest.NewAPI(strings.TrimSpace(u)))
	}
	api := apis[0]
	if *profile == "cleanup" {
		if s.StatePath == "" {
			return errors.New("the cleanup profile removes what a state file lists: give --state")
		}
		fx, err := loadtest.ReadState(s.StatePath)
		if err != nil {
			return err
		}
		return cleanUp(ctx, api, fx, s, progress, out)
	}
	fx, err := loadtest.Prepare(ctx, api, s, progress)
	if err != nil {
		return err
	}
	if *cleanup {
		// However the run ends.
		defer func() {
			// The state file lists every account of earlier runs too,
			// where this run may have used fewer.
			all := fx
			if saved, err := loadtest.ReadState(s.StatePath); err == nil {
				saved.AddDomains(fx.Domains)
				all = saved
			}
			if cerr := cleanUp(ctx, api, all, s, progress, out); cerr != nil && retErr == nil {
				retErr = fmt.Errorf("cleanup: %w", cerr)
			}
		}()
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		// Stopped before the report is written, not deferred only: the
		// profile is then complete however the run ends.
		defer pprof.StopCPUProfile()
	}
	var rep *loadtest.Report
	switch *profile {
	case "hot-room":
		// One room holds every client; eight of them send at once.
		t.RoomSize = len(fx.Accounts)
		if t.Senders == 0 {
			t.Senders = 8
		}
		rep, err = loadtest.RunTalk(ctx, apis, fx, t, progress)
	case "announcement":
		// One room holds every client; one sends ten messages a second.
		t.RoomSize, t.Senders = len(fx.Accounts), 1
		if t.Rate == 0 {
			t.Rate = 10
		}
		rep, err = loadtest.RunTalk(ctx, apis, fx, t, progress)
	case "signin":
		rep, err = loadtest.RunSignIn(ctx, api, fx, *concurrency, t.Warmup, t.Duration, t.PID, progress)
	case "talk":
		rep, err = loadtest.RunTalk(ctx, apis, fx, t, progress)
	case "admin", "mixed":
		// The talk traffic runs at a rate (500/s unless given), so the
		// admin work competes with a busy server rather than a saturated
		// one.
		if t.Rate == 0 {
			t.Rate = 500
		}
		storm := 0
		if *profile == "mixed" {
			storm = *concurrency
		}
		rep, err = loadtest.RunWhileTalking(ctx, apis, fx, t, a, storm, progress)
	case "idle":
		rep, err = loadtest.RunIdle(ctx, api, fx, *conns, *settle, t.PID, progress)
	default:
		return unknownProfile(*profile)
	}
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	// The admin profile's domains go into the state file, for a later
	// cleanup, even when the run failed after making one.
	if rerr := loadtest.RecordDomains(s.StatePath, fx.Domains); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	rep.Profile = *profile
	rep.GeneratorProcs = runtime.GOMAXPROCS(0)
	fmt.Fprint(out, rep.Text())
	if *svgPath != "" && len(rep.Timeline) > 0 {
		title := fmt.Sprintf("kizuna loadtest %s: %s latency by second", rep.Profile, map[bool]string{true: "sign-in", false: "send-to-delivery"}[rep.Profile == "signin"])
		if err := os.WriteFile(*svgPath, []byte(loadtest.SVG(title, rep.Timeline)), 0o644); err != nil {
			return err
		}
	}
	if *jsonPath != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonPath, b, 0o644); err != nil {
			return err
		}
	}
	if *strict {
		switch {
		case len(rep.Errors) > 0:
			return fmt.Errorf("strict: errors %v", rep.Errors)
		case rep.Admin != nil && len(rep.Admin.Errors) > 0:
			return fmt.Errorf("strict: admin errors %v", rep.Admin.Errors)
		case rep.SignIn != nil && len(rep.SignIn.Errors) > 0:
			return fmt.Errorf("strict: sign-in errors %v", rep.SignIn.Errors)
		case rep.Disconnects > 0:
			return fmt.Errorf("strict: %d disconnects", rep.Disconnects)
		case rep.Delivered < rep.Expected:
			return fmt.Errorf("strict: %d of %d deliveries lost", rep.Expected-rep.Delivered, rep.Expected)
		case rep.Accepted == 0:
			return errors.New("strict: nothing was accepted")
		case rep.Accepted < rep.TargetMessages:
			return fmt.Errorf("strict: %d of the %d messages asked for were accepted before the time limit", rep.Accepted, rep.TargetMessages)
		}
	}
	return nil
}

// cleanUp removes what the load test created and, once that worked, its
// state file (whose sessions and accounts are then gone).
func cleanUp(ctx context.Context, api *loadtest.API, fx *loadtest.Fixture, s loadtest.Setup, progress func(string, ...any), out io.Writer) error {
	rep, err := loadtest.Cleanup(ctx, api, fx, s, progress)
	if rep != nil {
		fmt.Fprint(out, rep.Text())
	}
	if err != nil {
		return err
	}
	if s.StatePath != "" {
		if err := os.Remove(s.StatePath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
