package service

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/csvimport"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/store"
)

// ImportService imports members from CSV in the background, reporting
// progress, and exports the member list.
type ImportService struct {
	*deps
	mu   sync.Mutex
	jobs map[string]*ImportJob
}

// Import job states.
const (
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// ImportJob is one CSV import. Read it through ImportService.Job, which
// returns a snapshot.
type ImportJob struct {
	ID       string    `json:"id"`
	DryRun   bool      `json:"dry_run"`
	State    string    `json:"state"`
	Phase    string    `json:"phase"` // parsing, checking, writing, done
	Lines    int       `json:"lines_read"`
	Rows     int       `json:"rows"`
	Created  int       `json:"created"`
	Started  time.Time `json:"started_at"`
	Finished time.Time `json:"finished_at,omitzero"`
	// Errors lists every row's problems; nothing is written when any.
	Errors []csvimport.RowError `json:"errors"`
	// Warnings are notes that did not stop the import.
	Warnings []string `json:"warnings,omitempty"`
	// SheetTicket prints the generated initial passwords (as PDF, HTML or
	// CSV) for an hour after a real import.
	SheetTicket string `json:"sheet_ticket,omitempty"`
	// Failure explains a failed job.
	Failure *kizuna.Error `json:"failure,omitempty"`

	tenantID string
}

// MaxImportBytes bounds an uploaded CSV.
const MaxImportBytes = 32 << 20

// jobTTL is how long a finished job can be read.
const jobTTL = time.Hour

// StartImport checks and (unless dryRun) imports members from CSV data in
// the background (admins only) and returns the job to poll. The real run
// is all-or-nothing: with any row error nothing is written.
func (s *ImportService) StartImport(ctx context.Context, data []byte, dryRun bool) (*ImportJob, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxImportBytes {
		return nil, kizuna.Errorf(kizuna.ErrTooLarge, "body_too_large", "The CSV file is larger than %d MiB.", MaxImportBytes>>20)
	}
	job := &ImportJob{ID: kizuna.NewID(), DryRun: dryRun, State: JobRunning, Phase: "parsing", Started: s.now(), tenantID: actor.Account.TenantID}
	s.mu.Lock()
	if s.jobs == nil {
		s.jobs = map[string]*ImportJob{}
	}
	for id, j := range s.jobs {
		if !j.Finished.IsZero() && s.now().Sub(j.Finished) > jobTTL {
			delete(s.jobs, id)
		}
	}
	s.jobs[job.ID] = job
	snapshot := *job
	s.mu.Unlock()
	// The job outlives the request; it keeps the actor but not the
	// request's cancellation.
	jobCtx := kizuna.WithActor(context.WithoutCancel(ctx), actor)
	go s.run(jobCtx, job, actor, data)
	return &snapshot, nil
}

// Job returns a snapshot of an import job of the actor's tenant.
// Errors: not_found.
func (s *ImportService) Job(ctx context.Context, id string) (*ImportJob, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok || j.tenantID != actor.Account.TenantID {
		return nil, kizuna.NotFound("Import")
	}
	snapshot := *j
	snapshot.Errors = append([]csvimport.RowError(nil), j.Errors...)
	return &snapshot, nil
}

func (s *ImportService) update(job *ImportJob, fn func(j *ImportJob)) {
	s.mu.Lock()
	fn(job)
	s.mu.Unlock()
}

func (s *ImportService) run(ctx context.Context, job *ImportJob, actor *kizuna.Actor, data []byte) {
	err := s.importRows(ctx, job, actor, data)
	s.update(job, func(j *ImportJob) {
		j.Finished = s.now()
		j.Phase = "done"
		j.State = JobDone
		if err != nil {
			j.State = JobFailed
			j.Failure = kizuna.AsError(err)
			if j.Failure.Code == "internal" {
				s.log.Error("member import failed", "job", j.ID, "err", err)
			}
		}
	})
}

func (s *ImportService) importRows(ctx context.Context, job *ImportJob, actor *kizuna.Actor, data []byte) error {
	res, err := csvimport.Parse(bytes.NewReader(data), csvimport.Options{
		Progress: func(lines int) { s.update(job, func(j *ImportJob) { j.Lines = lines }) },
	})
	if err != nil {
		return err
	}
	rowErrors := res.Errors
	s.update(job, func(j *ImportJob) { j.Lines, j.Rows, j.Phase = res.Lines, len(res.Rows), "checking" })

	// Check each row against the store: the domain must be the tenant's
	// and the ID free.
	domains, err := s.store.Domains(ctx, actor.Account.TenantID)
	if err != nil {
		return err
	}
	byName := map[string]kizuna.Domain{}
	for _, d := range domains {
		byName[d.Name] = d
	}
	localsByDomain := map[string][]string{}
	groupsSeen := false
	for _, r := range res.Rows {
		d, ok := byName[r.Domain]
		switch {
		case !ok:
			rowErrors = append(rowErrors, csvimport.RowError{Line: r.Line, Column: "domain", Code: "domain_not_found",
				Message: fmt.Sprintf("The domain %s is not one of this tenant's domains.", kizuna.DisplayDomain(r.Domain))})
		case r.Role == kizuna.RoleOwner && actor.Account.Role != kizuna.RoleOwner:
			rowErrors = append(rowErrors, csvimport.RowError{Line: r.Line, Column: "role", Code: "owner_required", Message: "Only an owner can make another owner."})
		default:
			localsByDomain[d.ID] = append(localsByDomain[d.ID], r.Local)
		}
		groupsSeen = groupsSeen || len(r.Groups) > 0
	}
	taken := map[string]bool{}
	for domainID, locals := range localsByDomain {
		existing, err := s.store.ExistingLocals(ctx, domainID, locals)
		if err != nil {
			return err
		}
		for l := range existing {
			taken[domainID+"\x00"+l] = true
		}
	}
	for _, r := range res.Rows {
		if d, ok := byName[r.Domain]; ok && taken[d.ID+"\x00"+r.Local] {
			rowErrors = append(rowErrors, csvimport.RowError{Line: r.Line, Column: "local", Code: "id_taken",
				Message: fmt.Sprintf("The ID %s@%s is already in use.", r.Local, r.Domain)})
		}
	}
	sortRowErrors(rowErrors)
	var warnings []string
	if groupsSeen {
		warnings = append(warnings, "The groups column is read but not applied yet: add the members to groups once groups exist.")
	}
	s.update(job, func(j *ImportJob) { j.Errors, j.Warnings = rowErrors, warnings })
	if len(rowErrors) > 0 || job.DryRun {
		return nil
	}

	// The real run: generated passwords with a fast hash (see package
	// password), all rows in one transaction.
	s.update(job, func(j *ImportJob) { j.Phase = "writing" })
	tenant, err := s.store.Tenant(ctx, actor.Account.TenantID)
	if err != nil {
		return err
	}
	expires := (&MemberService{deps: s.deps}).expiryOf(tenant.Settings)
	accounts := make([]*kizuna.Account, len(res.Rows))
	creds := make([]kizuna.Credential, len(res.Rows))
	issued := make([]IssuedPassword, len(res.Rows))
	for i, r := range res.Rows {
		pw := password.Generate()
		accounts[i] = &kizuna.Account{ID: kizuna.NewID(), Kind: kizuna.KindMember, DomainID: byName[r.Domain].ID, Local: r.Local,
			DisplayName: r.DisplayName, ContactMail: r.Mail, Role: r.Role, Status: kizuna.StatusActive, MustChangePassword: true}
		creds[i] = kizuna.Credential{Hash: password.HashGenerated(pw), Initial: true, ExpiresAt: expires}
		issued[i] = IssuedPassword{AccountID: accounts[i].ID, Password: pw, ExpiresAt: expires}
	}
	if err := s.store.AddAccounts(ctx, actor.Account.TenantID, accounts, creds); err != nil {
		return err
	}
	ticket, err := s.newSheetTicket(ctx, actor.Account.TenantID, issued)
	if err != nil {
		return err
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: actor.Account.TenantID, ActorID: actor.Account.ID, Action: "member.import",
		Details: fmt.Sprintf("%d members imported (job %s)", len(accounts), job.ID)})
	s.update(job, func(j *ImportJob) { j.Created, j.SheetTicket = len(accounts), ticket })
	return nil
}

func sortRowErrors(errs []csvimport.RowError) {
	// Parse errors come first, then the store's checks: present all by
	// line, keeping each line's errors in the order they were found.
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
}

// ExportColumns are the member export's columns. The first five are the
// import's: drop the last three to import an edited export elsewhere.
var ExportColumns = []string{"local", "domain", "display_name", "mail", "role", "sign_in_id", "status", "created_at"}

// Export writes the actor's tenant's members as CSV (admins only), a page
// at a time so memory stays flat for any size.
func (s *ImportService) Export(ctx context.Context, w io.Writer) error {
	actor, err := admin(ctx)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write(ExportColumns)
	after := ""
	for {
		page, err := s.store.Accounts(ctx, actor.Account.TenantID, store.AccountFilter{After: after, Limit: 1000})
		if err != nil {
			return err
		}
		for _, a := range page {
			cw.Write([]string{a.Local, a.DomainName, a.DisplayName, a.ContactMail, string(a.Role), a.Address(), string(a.Status),
				a.CreatedAt.UTC().Format(time.RFC3339)})
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if len(page) < 1000 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}
