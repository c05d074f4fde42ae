// Package csvimport reads a CSV file of members to add and checks every row
// on its own: ID parts, names, mail, role, groups. It reports every problem
// with its physical line number so that an admin can fix the whole file at
// once. Checks that need the database (is the domain the tenant's, is the ID
// free) belong to the service layer, which also writes all rows in one
// transaction.
//
// The file is UTF-8, with or without a byte order mark, and starts with a
// header row naming its columns (see [Parse] for the accepted names). Line
// numbers count the header as line 1 and are physical lines: a quoted value
// that spans lines moves the following rows down as it does in an editor.
package csvimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/kizuna-chat/kizuna"
)

// Row is one valid member row, normalized: Local and Domain are in the
// canonical form of kizuna.NormalizeLocalPart and kizuna.NormalizeDomain,
// DisplayName defaults to Local, Role to member, and Groups are trimmed,
// without empty names or repeats, in file order.
type Row struct {
	Line        int
	Local       string
	Domain      string
	DisplayName string
	Mail        string
	Role        kizuna.Role
	Groups      []string
}

// RowError is one problem of one row. Code is stable (see the Code*
// constants), Column is the canonical name of the column at fault ("" for
// the whole row) and Message is for people.
type RowError struct {
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Result is what a file holds: its valid rows, every row error (in line
// order) and the number of physical lines, the header included. A row with
// any error is not in Rows.
type Result struct {
	Rows   []Row
	Errors []RowError
	Lines  int
}

// Options bound and observe a parse. The zero value uses the defaults.
type Options struct {
	// MaxRows refuses files with more member rows (blank rows aside) with
	// a too_many_rows error; 0 means DefaultMaxRows.
	MaxRows int
	// MaxErrors stops listing row errors after this many, adding one final
	// too_many_errors entry; 0 means DefaultMaxErrors.
	MaxErrors int
	// Progress, if set, is called with the number of lines read so far at
	// least every ProgressEvery lines, and once at the end with
	// Result.Lines. It runs on the parsing goroutine.
	Progress func(linesRead int)
	// ProgressEvery is the progress interval in lines; 0 means
	// DefaultProgressEvery.
	ProgressEvery int
}

// Defaults and limits.
const (
	DefaultMaxRows       = 100_000
	DefaultMaxErrors     = 1000
	DefaultProgressEvery = 1000
	// MaxMailLength is the longest contact mail address (RFC 5321 path).
	MaxMailLength = 254
	// MaxGroupNameLength bounds a group name, in characters.
	MaxGroupNameLength = 100
	// MaxGroupsPerRow bounds the groups of one member.
	MaxGroupsPerRow = 100
)

// Row error codes.
const (
	CodeInvalidLocalPart   = "invalid_local_part"
	CodeInvalidDomain      = "invalid_domain"
	CodeInvalidID          = "invalid_id" // id column without "@", or an ID over 254 characters
	CodeInvalidDisplayName = "invalid_display_name"
	CodeInvalidMail        = "invalid_mail"
	CodeInvalidRole        = "invalid_role"
	CodeInvalidGroup       = "invalid_group"
	CodeDuplicateRow       = "duplicate_row"
	CodeWrongColumnCount   = "wrong_column_count"
	CodeInvalidEncoding    = "invalid_encoding"
	CodeInvalidQuote       = "invalid_quote" // a row that is not valid CSV
	CodeMissingValue       = "missing_value"
	CodeTooManyErrors      = "too_many_errors"
)

// Whole-file error codes, returned as *kizuna.Error of kind ErrInvalid.
const (
	CodeEmptyFile     = "empty_file"
	CodeInvalidHeader = "invalid_header"
	CodeTooManyRows   = "too_many_rows"
	CodeNotCSV        = "not_csv"
	// CodeInvalidEncoding is also a whole-file code: UTF-16, or a file
	// that looks like Shift_JIS.
)

// Canonical column names.
const (
	ColLocal       = "local"
	ColDomain      = "domain"
	ColID          = "id"
	ColDisplayName = "display_name"
	ColMail        = "mail"
	ColRole        = "role"
	ColGroups      = "groups"
)

// AcceptedColumns lists the canonical column names.
var AcceptedColumns = []string{ColLocal, ColDomain, ColID, ColDisplayName, ColMail, ColRole, ColGroups}

// aliases maps header keys (see headerKey) to canonical column names.
var aliases = map[string]string{}

func init() {
	for col, names := range map[string][]string{
		ColLocal: {"local", "local_part", "localpart", "login", "login_name", "user", "username", "user_name",
			"ローカル部", "ローカルパート", "ユーザー名", "ユーザ名", "ログイン名"},
		ColDomain: {"domain", "domain_name", "ドメイン", "ドメイン名"},
		ColID: {"id", "member_id", "sign_in_id", "signin_id", "login_id", "account", "account_id",
			"ログインid", "アカウント", "アカウントid", "サインインid"},
		ColDisplayName: {"display_name", "displayname", "name", "full_name", "表示名", "名前", "氏名"},
		ColMail: {"mail", "email", "e_mail", "mail_address", "email_address", "contact_mail",
			"メール", "メールアドレス", "eメール", "連絡先", "連絡先メール"},
		ColRole:   {"role", "権限", "ロール", "役割"},
		ColGroups: {"groups", "group", "グループ", "所属グループ", "所属"},
	} {
		for _, n := range names {
			aliases[headerKey(n)] = col
		}
	}
}

// acceptedText describes the accepted header names in messages.
const acceptedText = "local (or local_part, login, ローカル部), domain (ドメイン), " +
	"id (name@domain, instead of local and domain; ID, ログインID), display_name (name, 表示名, 名前, 氏名), " +
	"mail (email, メール, メールアドレス), role (権限, ロール), groups (グループ)"

// headerKey folds a header cell for matching: trimmed, NFKC (so
// full-width letters are ASCII and half-width katakana full-width),
// lower-case, with spaces and hyphens as underscores.
func headerKey(h string) string {
	h = strings.TrimSpace(strings.TrimPrefix(h, bom))
	h = strings.ToLower(norm.NFKC.String(h))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(h)
}

var roles = map[string]kizuna.Role{
	"member": kizuna.RoleMember, "メンバー": kizuna.RoleMember, "一般": kizuna.RoleMember,
	"admin": kizuna.RoleAdmin, "管理者": kizuna.RoleAdmin,
	"owner": kizuna.RoleOwner, "オーナー": kizuna.RoleOwner, "所有者": kizuna.RoleOwner,
}

const (
	sniffSize = 64 << 10
	msgUTF8   = `Save it as "CSV UTF-8 (comma delimited)" and upload it again.`
	msgSJIS   = `Japanese Excel's plain "CSV (comma delimited)" is Shift_JIS: save the file as "CSV UTF-8 (comma delimited)" instead and upload it again.`
)

func fileError(code, format string, args ...any) *kizuna.Error {
	return kizuna.Errorf(kizuna.ErrInvalid, code, format, args...)
}

// Parse reads a member CSV and checks every row.
//
// It returns an error only for problems of the whole file: a
// *kizuna.Error with code empty_file, invalid_encoding (UTF-16, or bytes
// that look like Shift_JIS), not_csv, invalid_header or too_many_rows, or
// the reader's own error. Problems of single rows go to Result.Errors, all
// of them up to Options.MaxErrors.
//
// The header names the columns, in any order, matched case-insensitively
// (and width-insensitively) after trimming: local and domain, or one id
// column holding name@domain, are required; display_name, mail, role and
// groups are optional. English and Japanese aliases are accepted (for
// example login, ローカル部, ドメイン, ID, 表示名, 名前, メール,
// メールアドレス, 権限, ロール, グループ). Unknown columns are an
// invalid_header error.
//
// Values are trimmed. Blank rows are skipped. Roles are member (the
// default), admin or owner (also メンバー, 管理者, オーナー). Groups are
// separated by ";" or "|".
func Parse(r io.Reader, opts Options) (*Result, error) {
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = DefaultMaxErrors
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = DefaultProgressEvery
	}

	br := bufio.NewReaderSize(r, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("csvimport: reading the file: %w", err)
	}
	if err := sniff(head); err != nil {
		return nil, err
	}
	var src io.Reader = br
	if bytes.HasPrefix(head, []byte(bom)) {
		br.Discard(len(bom))
	}
	if bytes.IndexByte(head, '\n') < 0 && bytes.IndexByte(head, '\r') >= 0 {
		// Classic Mac line ends ("CSV (Macintosh)"): CR alone.
		src = crToLF{br}
	}
	lc := &lineCounter{r: src}

	cr := csv.NewReader(lc)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true

	header, err := cr.Read()
	if err == io.EOF {
		return nil, fileError(CodeEmptyFile, "The file is empty: it needs a header row and at least one member row.")
	}
	if err != nil {
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return nil, fmt.Errorf("csvimport: reading the file: %w", err)
		}
		return nil, fileError(CodeNotCSV, "The header row (line %d) is not valid CSV: %s.", pe.StartLine, quoteProblem(pe))
	}
	p := &parser{opts: opts, seen: map[idKey]int{}, domains: map[string]domainResult{}}
	if err := p.readHeader(header); err != nil {
		return nil, err
	}

	nextProgress := opts.ProgressEvery
	dataRows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var line, lastLine int
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("csvimport: reading the file: %w", err)
			}
			// The reader drops the rest of the broken line and goes on
			// with the next one, so later rows are still checked.
			line, lastLine = pe.StartLine, pe.Line
			dataRows++
			p.fail(line, "", CodeInvalidQuote, "This row is not valid CSV: %s.", quoteProblem(pe))
		} else {
			line, _ = cr.FieldPos(0)
			lastLine, _ = cr.FieldPos(len(rec) - 1)
			if !blank(rec) {
				dataRows++
				p.row(line, rec)
			}
		}
		if dataRows > opts.MaxRows {
			return nil, fileError(CodeTooManyRows, "The file has more than %d member rows: split it into smaller files.", opts.MaxRows)
		}
		if opts.Progress != nil && lastLine >= nextProgress {
			opts.Progress(lastLine)
			nextProgress = (lastLine/opts.ProgressEvery + 1) * opts.ProgressEvery
		}
	}
	if dataRows == 0 {
		return nil, fileError(CodeEmptyFile, "The file has a header row but no member rows.")
	}

	res := &Result{Rows: p.rows(), Errors: p.errs, Lines: lc.lines()}
	// encoding/csv counts one line past a final newline when a quoted
	// value runs to the end of the file; no error lies beyond the file.
	for i := range res.Errors {
		res.Errors[i].Line = min(res.Errors[i].Line, res.Lines)
	}
	if p.dropped > 0 {
		n := &res.Errors[len(res.Errors)-1]
		n.Message = fmt.Sprintf("%d more errors are not listed: fix the ones above and check the file again.", p.dropped)
	}
	if opts.Progress != nil {
		opts.Progress(res.Lines)
	}
	return res, nil
}

const bom = "\ufeff"

// sniff refuses files that are not UTF-8 text by their first bytes.
func sniff(head []byte) error {
	switch {
	case len(head) == 0:
		return fileError(CodeEmptyFile, "The file is empty: it needs a header row and at least one member row.")
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) ||
		bytes.HasPrefix(head, []byte{0, 0, 0xFE, 0xFF}):
		return fileError(CodeInvalidEncoding, "The file is UTF-16 (Excel's \"Unicode text\"), not UTF-8. %s", msgUTF8)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return fileError(CodeNotCSV, "The file is an Excel workbook (.xlsx), not CSV. In Excel choose Save As, \"CSV UTF-8 (comma delimited)\", and upload that file.")
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return fileError(CodeNotCSV, "The file is an Excel workbook (.xls), not CSV. In Excel choose Save As, \"CSV UTF-8 (comma delimited)\", and upload that file.")
	case bytes.IndexByte(head, 0) >= 0:
		return fileError(CodeInvalidEncoding, "The file contains NUL bytes: it is UTF-16 or not a text file at all. %s", msgUTF8)
	}
	body := bytes.TrimPrefix(head, []byte(bom))
	if !validUTF8Prefix(body) && looksShiftJIS(body) {
		return fileError(CodeInvalidEncoding, "The file is not UTF-8: it looks like Shift_JIS. %s", msgSJIS)
	}
	return nil
}

// validUTF8Prefix reports whether b is UTF-8 but for a rune cut off at its
// end.
func validUTF8Prefix(b []byte) bool {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	return utf8.Valid(b)
}

// looksShiftJIS reports whether every byte of b outside ASCII belongs to a
// Shift_JIS (CP932) character: half-width katakana or a valid lead and
// trail byte pair. A lead byte cut off at the end is allowed.
func looksShiftJIS(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c < 0x80 || c >= 0xA1 && c <= 0xDF:
		case c >= 0x81 && c <= 0x9F || c >= 0xE0 && c <= 0xFC:
			if i+1 == len(b) {
				return true
			}
			if t := b[i+1]; t < 0x40 || t == 0x7F || t > 0xFC {
				return false
			}
			i++
		default:
			return false
		}
	}
	return true
}

// lineCounter counts the physical lines that pass through it.
type lineCounter struct {
	r        io.Reader
	newlines int
	last     byte
	any      bool
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.newlines += bytes.Count(p[:n], []byte{'\n'})
		c.last, c.any = p[n-1], true
	}
	return n, err
}

func (c *lineCounter) lines() int {
	if c.any && c.last != '\n' {
		return c.newlines + 1
	}
	return c.newlines
}

// crToLF turns every CR into LF.
type crToLF struct{ r io.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

func quoteProblem(pe *csv.ParseError) string {
	switch pe.Err {
	case csv.ErrBareQuote:
		return fmt.Sprintf(`a quote (") inside an unquoted value at column %d; enclose the value in quotes and double the quotes inside it ("say ""hi""")`, pe.Column)
	case csv.ErrQuote:
		if pe.Line > pe.StartLine {
			return fmt.Sprintf(`a quoted value starting on line %d is not closed properly (checked up to line %d); quotes inside a quoted value must be doubled`, pe.StartLine, pe.Line)
		}
		return fmt.Sprintf(`a quoted value is not closed properly at column %d; quotes inside a quoted value must be doubled`, pe.Column)
	}
	return pe.Err.Error()
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

type idKey struct{ local, domain string }

type domainResult struct {
	name string // canonical, or "" with msg
	msg  string
}

// maxDomainCache bounds the memo of domain normalizations; files use a
// handful of domains, so it only matters for hostile input.
const maxDomainCache = 4096

// rowChunk is how many rows are collected before a new block starts, so
// that 100,000 rows are not copied over and over as a slice grows.
const rowChunk = 4096

type parser struct {
	opts Options
	// Column positions, -1 when absent, and the header's width.
	local, domain, id, name, mail, role, groups int
	// width counts the named columns, the header's last named column
	// included; rawWidth also counts the empty cells after it.
	width, rawWidth int

	seen    map[idKey]int // first line of each ID
	domains map[string]domainResult
	chunks  [][]Row
	cur     []Row
	errs    []RowError
	dropped int
}

func (p *parser) readHeader(header []string) error {
	for _, h := range header {
		if !utf8.ValidString(h) {
			if looksShiftJIS([]byte(h)) {
				return fileError(CodeInvalidEncoding, "The header row is not UTF-8: it looks like Shift_JIS. %s", msgSJIS)
			}
			return fileError(CodeInvalidEncoding, "The header row is not UTF-8 text. %s", msgUTF8)
		}
	}
	width := len(header)
	for width > 0 && strings.TrimSpace(strings.TrimPrefix(header[width-1], bom)) == "" {
		width-- // trailing empty cells, as spreadsheets write them
	}
	p.width, p.rawWidth = width, len(header)
	pos := map[string]int{}
	from := map[string]string{}
	var unknown []string
	separators := false
	for i, h := range header[:width] {
		key := headerKey(h)
		if key == "" {
			return fileError(CodeInvalidHeader, "Column %d of the header row has no name. The accepted columns are %s.", i+1, acceptedText)
		}
		col, ok := aliases[key]
		if !ok {
			unknown = append(unknown, strings.TrimSpace(h))
			separators = separators || strings.ContainsAny(h, "\t;")
			continue
		}
		if _, dup := pos[col]; dup {
			return fileError(CodeInvalidHeader, "The columns %q and %q of the header row are the same column (%s).", from[col], strings.TrimSpace(h), col)
		}
		pos[col] = i
		from[col] = strings.TrimSpace(h)
	}
	if len(unknown) > 0 {
		hint := ""
		switch {
		case separators:
			hint = " The file seems to separate values with tabs or semicolons; separate them with commas."
		case len(unknown) == width:
			hint = " The first row must be a header row naming the columns."
		}
		quoted := make([]string, len(unknown))
		for i, u := range unknown {
			quoted[i] = fmt.Sprintf("%q", truncate(u, 40))
		}
		e := fileError(CodeInvalidHeader, "Unknown column%s %s in the header row. The accepted columns are %s.%s",
			plural(len(unknown)), strings.Join(quoted, ", "), acceptedText, hint)
		e.Details = map[string]any{"unknown_columns": unknown, "accepted_columns": AcceptedColumns}
		return e
	}
	idx := func(col string) int {
		if i, ok := pos[col]; ok {
			return i
		}
		return -1
	}
	p.local, p.domain, p.id = idx(ColLocal), idx(ColDomain), idx(ColID)
	p.name, p.mail, p.role, p.groups = idx(ColDisplayName), idx(ColMail), idx(ColRole), idx(ColGroups)
	switch {
	case p.id >= 0 && (p.local >= 0 || p.domain >= 0):
		return fileError(CodeInvalidHeader, "The header row has both an id column (name@domain) and local or domain columns: keep one or the other.")
	case p.id < 0 && (p.local < 0 || p.domain < 0):
		missing := ColLocal
		if p.local >= 0 {
			missing = ColDomain
		} else if p.domain < 0 {
			missing = "local and domain"
		}
		return fileError(CodeInvalidHeader, "The header row has no %s column: local and domain columns, or one id column with name@domain, are required. The accepted columns are %s.", missing, acceptedText)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// fail records a row error, or counts it once MaxErrors are listed.
func (p *parser) fail(line int, column, code, format string, args ...any) {
	if len(p.errs) >= p.opts.MaxErrors {
		if p.dropped == 0 {
			p.errs = append(p.errs, RowError{Line: line, Code: CodeTooManyErrors})
		}
		p.dropped++
		return
	}
	p.errs = append(p.errs, RowError{Line: line, Column: column, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) add(r Row) {
	if len(p.cur) == cap(p.cur) {
		if p.cur != nil {
			p.chunks = append(p.chunks, p.cur)
		}
		p.cur = make([]Row, 0, rowChunk)
	}
	p.cur = append(p.cur, r)
}

func (p *parser) rows() []Row {
	if len(p.chunks) == 0 {
		return p.cur
	}
	out := make([]Row, 0, len(p.chunks)*rowChunk+len(p.cur))
	for _, c := range p.chunks {
		out = append(out, c...)
	}
	return append(out, p.cur...)
}

func field(rec []string, i int) string {
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// row checks one non-blank record that starts on line.
func (p *parser) row(line int, rec []string) {
	for _, f := range rec {
		if !utf8.ValidString(f) {
			p.fail(line, "", CodeInvalidEncoding, "This row is not valid UTF-8 text. %s", msgSJIS)
			return
		}
	}
	if len(rec) < p.width {
		p.fail(line, "", CodeWrongColumnCount, "This row has %d values but the header row has %d columns.", len(rec), p.width)
		return
	}
	if len(rec) > p.rawWidth || !blank(rec[p.width:]) {
		p.fail(line, "", CodeWrongColumnCount, "This row has %d values but the header row has %d columns; a value that contains a comma must be enclosed in quotes.", len(rec), p.width)
		return
	}
	errsBefore := len(p.errs) + p.dropped

	r := Row{Line: line, Role: kizuna.RoleMember}
	var local, domain string
	localCol, domainCol := ColLocal, ColDomain
	if p.id >= 0 {
		localCol, domainCol = ColID, ColID
		id := field(rec, p.id)
		at := strings.LastIndexByte(id, '@')
		switch {
		case id == "":
			p.fail(line, ColID, CodeMissingValue, "The ID (name@domain) is empty.")
		case at < 0:
			p.fail(line, ColID, CodeInvalidID, "%q is not an ID of the form name@domain.", truncate(id, 80))
		default:
			local, domain = id[:at], id[at+1:]
			if local == "" {
				p.fail(line, ColID, CodeMissingValue, "The ID %q has nothing before @.", truncate(id, 80))
			}
			if domain == "" {
				p.fail(line, ColID, CodeMissingValue, "The ID %q has no domain after @.", truncate(id, 80))
			}
		}
	} else {
		local, domain = field(rec, p.local), field(rec, p.domain)
		if local == "" {
			p.fail(line, ColLocal, CodeMissingValue, "The part of the ID before @ (local) is empty.")
		}
		if domain == "" {
			p.fail(line, ColDomain, CodeMissingValue, "The domain is empty.")
		}
	}
	if local != "" {
		if l, err := kizuna.NormalizeLocalPart(local); err != nil {
			p.fail(line, localCol, CodeInvalidLocalPart, "%s", kizuna.AsError(err).Message)
		} else {
			r.Local = l
		}
	}
	if domain != "" {
		if d, msg := p.normalizeDomain(domain); msg != "" {
			p.fail(line, domainCol, CodeInvalidDomain, "%s", msg)
		} else {
			r.Domain = d
		}
	}
	if r.Local != "" && r.Domain != "" && len(r.Local)+1+len(r.Domain) > kizuna.MaxIDLength {
		p.fail(line, localCol, CodeInvalidID, "The ID %s@%s is longer than %d characters.", r.Local, truncate(r.Domain, 40), kizuna.MaxIDLength)
		r.Local = ""
	}

	r.DisplayName = field(rec, p.name)
	if r.DisplayName == "" {
		r.DisplayName = r.Local
	}
	if n := utf8.RuneCountInString(r.DisplayName); n > kizuna.MaxDisplayNameLength {
		p.fail(line, ColDisplayName, CodeInvalidDisplayName, "The display name has %d characters; at most %d are allowed.", n, kizuna.MaxDisplayNameLength)
	} else if strings.ContainsFunc(r.DisplayName, isControl) {
		p.fail(line, ColDisplayName, CodeInvalidDisplayName, "The display name must not contain control characters such as line breaks or tabs.")
	}

	if mail := field(rec, p.mail); mail != "" {
		switch {
		case len(mail) > MaxMailLength:
			p.fail(line, ColMail, CodeInvalidMail, "The mail address is longer than %d characters.", MaxMailLength)
		case !plainAddress(mail):
			p.fail(line, ColMail, CodeInvalidMail, "%q is not a mail address such as name@example.com (write the address alone, without a name or <>).", truncate(mail, 80))
		}
		r.Mail = mail
	}

	if role := field(rec, p.role); role != "" {
		v, ok := roles[strings.ToLower(role)]
		if !ok {
			v, ok = roles[strings.ToLower(norm.NFKC.String(role))] // "ａｄｍｉｎ", "ﾒﾝﾊﾞｰ"
		}
		if ok {
			r.Role = v
		} else {
			p.fail(line, ColRole, CodeInvalidRole, "The role %q is not one of member, admin or owner.", truncate(role, 40))
		}
	}

	if groups := field(rec, p.groups); groups != "" {
		var many map[string]bool // past a few groups, so repeats stay cheap
		for g := range strings.FieldsFuncSeq(groups, func(c rune) bool { return c == ';' || c == '|' }) {
			g = strings.TrimSpace(g)
			if g == "" || many[g] || many == nil && contains(r.Groups, g) {
				continue
			}
			if len(r.Groups) == MaxGroupsPerRow {
				p.fail(line, ColGroups, CodeInvalidGroup, "A member can be in at most %d groups.", MaxGroupsPerRow)
				break
			}
			if n := utf8.RuneCountInString(g); n > MaxGroupNameLength {
				p.fail(line, ColGroups, CodeInvalidGroup, "The group name %q has %d characters; at most %d are allowed.", truncate(g, 40), n, MaxGroupNameLength)
				continue
			}
			if strings.ContainsFunc(g, isControl) {
				p.fail(line, ColGroups, CodeInvalidGroup, "The group name %q must not contain control characters.", truncate(g, 40))
				continue
			}
			r.Groups = append(r.Groups, g)
			if len(r.Groups) == 8 {
				many = map[string]bool{}
				for _, g := range r.Groups {
					many[g] = true
				}
			} else if many != nil {
				many[g] = true
			}
		}
	}

	if r.Local != "" && r.Domain != "" {
		key := idKey{r.Local, r.Domain}
		if first, dup := p.seen[key]; dup {
			p.fail(line, localCol, CodeDuplicateRow, "The ID %s@%s is already on line %d.", r.Local, r.Domain, first)
		} else {
			p.seen[key] = line
		}
	}
	if len(p.errs)+p.dropped == errsBefore {
		p.add(r)
	}
}

func (p *parser) normalizeDomain(raw string) (string, string) {
	if d, ok := p.domains[raw]; ok {
		return d.name, d.msg
	}
	var d domainResult
	name, err := kizuna.NormalizeDomain(raw)
	if err != nil {
		d.msg = kizuna.AsError(err).Message
	} else {
		d.name = name
	}
	if len(p.domains) < maxDomainCache {
		p.domains[raw] = d
	}
	return d.name, d.msg
}

// plainAddress reports whether s is a bare mail address: net/mail parses
// it to itself, with no display name, comment or angle brackets.
func plainAddress(s string) bool {
	a, err := netmail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// isControl matches C0 and C1 control characters, as service names do.
func isControl(c rune) bool {
	return c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
