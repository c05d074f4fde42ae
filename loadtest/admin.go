package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Admin configures the admin profile's work, done through the public API
// by the fixture's admin while talk traffic runs: a bulk CSV import into
// a domain of its own, renames of that domain, and directory prefix
// searches over the tenant.
type Admin struct {
	// ImportRows is the size of the timed CSV import (default 100,000).
	ImportRows int
	// DirectoryMembers, when larger than ImportRows, grows the domain to
	// that many members with more imports of up to ImportRows rows before
	// the directory is searched (a million for the target).
	DirectoryMembers int
	// Renames is how many times the domain is renamed, each timed, right
	// after the first import (default 5).
	Renames int
	// Searches is how many directory searches are timed (default 2,000),
	// SearchConcurrency how many run at once (default 1: one person
	// typing).
	Searches          int
	SearchConcurrency int
}

// AdminReport is what the admin work measured.
type AdminReport struct {
	// Domain is the domain created for the run (its latest name).
	Domain string `json:"domain"`
	// ImportRows members were imported in ImportSeconds, from the upload
	// to the job's end (parsing, checks, one transaction).
	ImportRows      int     `json:"import_rows"`
	ImportSeconds   float64 `json:"import_seconds"`
	ImportPerSecond float64 `json:"import_members_per_second"`
	// MoreImports grew the domain to DirectoryMembers for the searches.
	MoreImports        int     `json:"more_imports,omitempty"`
	MoreImportsSeconds float64 `json:"more_imports_seconds,omitempty"`
	// RenameMembers is the domain's member count when it was renamed.
	RenameMembers int     `json:"rename_members"`
	Rename        Summary `json:"rename"`
	// DirectoryMembers is the members of the import domain when the
	// directory was searched (the tenant holds the talk members too).
	DirectoryMembers int            `json:"directory_members"`
	Directory        Summary        `json:"directory_search"`
	Errors           map[string]int `json:"errors"`
}

// RunAdmin does the admin work once and reports its timings. It needs the
// fixture's admin session (a tenant admin, as Prepare signs in).
func RunAdmin(ctx context.Context, api *API, fx *Fixture, o Admin, progress func(string, ...any)) (*AdminReport, error) {
	if fx.AdminToken == "" {
		return nil, errors.New("the admin profile needs the admin's session: prepare the accounts with --admin-id or --setup-token")
	}
	if o.ImportRows <= 0 {
		o.ImportRows = 100000
	}
	if o.Renames <= 0 {
		o.Renames = 5
	}
	if o.Searches <= 0 {
		o.Searches = 2000
	}
	if o.SearchConcurrency <= 0 {
		o.SearchConcurrency = 1
	}
	run := randomHex(3)
	var d struct{ ID, Name string }
	if err := api.Do(ctx, fx.AdminToken, "POST", "/api/v1/domains", map[string]string{"name": "lt-" + run + ".example"}, &d); err != nil {
		return nil, fmt.Errorf("adding the import domain: %w", err)
	}
	// Recorded at once, for Cleanup, however the run ends.
	fx.Domains = append(fx.Domains, d.ID)
	rep := &AdminReport{Domain: d.Name}
	var errs Errors

	// The timed import.
	progress("importing %d members into %s", o.ImportRows, d.Name)
	names := newNamer(run)
	took, err := importCSV(ctx, api, fx.AdminToken, names.csv(d.Name, o.ImportRows))
	if err != nil {
		return nil, err
	}
	rep.ImportRows, rep.ImportSeconds = o.ImportRows, took.Seconds()
	rep.ImportPerSecond = float64(o.ImportRows) / took.Seconds()
	progress("imported %d members in %.2fs", o.ImportRows, took.Seconds())

	// Renames at that size; each new name is fresh, since a former name
	// stays reserved for its grace period.
	rep.RenameMembers = o.ImportRows
	var renames Latencies
	for k := range o.Renames {
		name := fmt.Sprintf("lt-%s-r%d.example", run, k+1)
		start := time.Now()
		err := api.Do(ctx, fx.AdminToken, "PATCH", "/api/v1/domains/"+d.ID, map[string]string{"name": name}, nil)
		if err != nil {
			errs.Add(errorCode(err))
			continue
		}
		renames.Add(time.Since(start))
		rep.Domain = name
	}
	rep.Rename = renames.Summary()
	progress("renamed the domain %d times: %s", o.Renames, rep.Rename)

	// Grow the domain for the directory target.
	members := o.ImportRows
	start := time.Now()
	for members < o.DirectoryMembers {
		n := min(o.ImportRows, o.DirectoryMembers-members)
		if _, err := importCSV(ctx, api, fx.AdminToken, names.csv(rep.Domain, n)); err != nil {
			return nil, err
		}
		members += n
		rep.MoreImports++
		progress("domain holds %d of %d members", members, o.DirectoryMembers)
	}
	rep.MoreImportsSeconds = time.Since(start).Seconds()
	rep.DirectoryMembers = members

	// Directory searches by the talk members (or the admin when there are
	// none), prefixes of 1–3 characters of names and IDs that exist.
	progress("searching the directory %d times, %d at once", o.Searches, o.SearchConcurrency)
	var search Latencies
	err = parallel(ctx, o.Searches, o.SearchConcurrency, func(i int) error {
		token := fx.AdminToken
		if len(fx.Accounts) > 0 {
			token = fx.Accounts[i%len(fx.Accounts)].Token
		}
		q := url.Values{"q": {names.prefix()}, "limit": {"50"}}
		var res struct {
			People []struct{ ID string } `json:"people"`
		}
		start := time.Now()
		if err := api.Do(ctx, token, "GET", "/api/v1/directory?"+q.Encode(), nil, &res); err != nil {
			errs.Add(errorCode(err))
			return nil
		}
		search.Add(time.Since(start))
		if len(res.People) == 0 {
			errs.Add("search_found_nothing")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Directory = search.Summary()
	rep.Errors = errs.Map()
	return rep, nil
}

// importCSV uploads a CSV import and polls its job until it ends; the
// time is from the upload to the end.
func importCSV(ctx context.Context, api *API, token string, csv []byte) (time.Duration, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, "POST", api.Base+"/api/v1/member-imports", bytes.NewReader(csv))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv")
	res, err := api.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("uploading the import: %w", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("uploading the import: status %d", res.StatusCode)
	}
	id := strings.TrimPrefix(res.Header.Get("Location"), "/api/v1/member-imports/")
	for {
		var job struct {
			State   string
			Created int
			Errors  []struct {
				Line int
				Code string
			}
			Failure *struct{ Code, Message string }
		}
		if err := api.Do(ctx, token, "GET", "/api/v1/member-imports/"+id, nil, &job); err != nil {
			return 0, fmt.Errorf("reading the import job: %w", err)
		}
		switch {
		case job.State == "running":
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			continue
		case job.Failure != nil:
			return 0, fmt.Errorf("import failed: %s: %s", job.Failure.Code, job.Failure.Message)
		case len(job.Errors) > 0:
			return 0, fmt.Errorf("import refused: %d row errors, first on line %d: %s", len(job.Errors), job.Errors[0].Line, job.Errors[0].Code)
		}
		return time.Since(start), nil
	}
}

func errorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) && ae.Code != "" {
		return ae.Code
	}
	return "transport"
}

// namer makes members for the imports: unique IDs, and display names
// half Japanese and half Latin, as a Japanese company's directory holds;
// it remembers a sample of them to search for.
type namer struct {
	run  string
	next int
	mu   sync.Mutex
	seen []string
}

func newNamer(run string) *namer { return &namer{run: run} }

var (
	latinNames = []string{"sato", "suzuki", "takahashi", "tanaka", "watanabe", "ito", "yamamoto", "nakamura", "kobayashi", "kato",
		"yoshida", "yamada", "sasaki", "yamaguchi", "matsumoto", "inoue", "kimura", "hayashi", "shimizu", "mori"}
	kanaNames = []string{"サトウ", "スズキ", "タカハシ", "タナカ", "ワタナベ", "イトウ", "ヤマモト", "ナカムラ", "コバヤシ", "カトウ",
		"ヨシダ", "ヤマダ", "ササキ", "ヤマグチ", "マツモト", "イノウエ", "キムラ", "ハヤシ", "シミズ", "モリ"}
	givenNames = []string{"haruto", "yui", "sota", "hina", "riku", "aoi", "minato", "sakura", "ren", "mei"}
)

// csv returns n more rows for the domain.
func (m *namer) csv(domain string, n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 70)
	b.WriteString("local,domain,display_name,mail,role\n")
	for range n {
		i := m.next
		m.next++
		family, given := latinNames[rand.IntN(len(latinNames))], givenNames[rand.IntN(len(givenNames))]
		local := fmt.Sprintf("%s.%s%d", given, family, i)
		display := family + " " + given
		if i%2 == 0 {
			display = kanaNames[rand.IntN(len(kanaNames))] + " " + given
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s@mail.example,member\n", local, domain, display, local)
		if i%97 == 0 {
			m.mu.Lock()
			m.seen = append(m.seen, local, display)
			m.mu.Unlock()
		}
	}
	return b.Bytes()
}

// prefix returns the first 1–3 characters of a name or ID imported.
func (m *namer) prefix() string {
	m.mu.Lock()
	s := []rune(m.seen[rand.IntN(len(m.seen))])
	m.mu.Unlock()
	return string(s[:min(len(s), 1+rand.IntN(3))])
}

// RunWhileTalking is the admin profile and, with signInConcurrency above
// zero, the mixed one: it starts the talk profile, and once it is warm
// does the admin work — and a sign-in storm of that many at once — while
// the talk traffic is measured, for at least the talk's duration and
// until the admin work is done. The report is the talk's, with the admin
// work's and the storm's figures in it.
func RunWhileTalking(ctx context.Context, apis []*API, fx *Fixture, t Talk, a Admin, signInConcurrency int, progress func(string, ...any)) (*Report, error) {
	tr, err := startTalk(ctx, apis, fx, t, progress)
	if err != nil {
		return nil, err
	}
	defer tr.close()
	done := make(chan struct{})
	var (
		admin    *AdminReport
		adminErr error
		signIns  *Report
		stormErr error
		storm    sync.WaitGroup
	)
	go func() {
		defer close(done)
		admin, adminErr = RunAdmin(ctx, apis[0], fx, a, progress)
	}()
	if signInConcurrency > 0 {
		storm.Add(1)
		go func() {
			defer storm.Done()
			signIns, stormErr = runSignIn(ctx, apis[0], fx, signInConcurrency, 0, t.Duration, done, 0, func(string, ...any) {})
		}()
	}
	if err := tr.measure(ctx, done); err != nil {
		return nil, err
	}
	rep := tr.finish()
	storm.Wait()
	if adminErr != nil {
		return nil, adminErr
	}
	if stormErr != nil {
		return nil, stormErr
	}
	if signIns != nil {
		// The storm runs in the talk's process: the generator's CPU is
		// the talk report's, and would be counted twice.
		signIns.CPU, signIns.GeneratorBefore, signIns.GeneratorAfter = nil, nil, nil
	}
	rep.Admin, rep.SignIn = admin, signIns
	return rep, nil
}
