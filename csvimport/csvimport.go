// Package csvimport reads a CSV file of members to add and checks every row
// on its own: ID parts, names, mail, role. It reports every problem with
// its line number so an admin can fix the whole file at once. Checks that
// need the database (is the domain the tenant's, is the ID free) belong to
// the service layer, which also writes all rows in one transaction.
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

	"github.com/kizuna-chat/kizuna"
)

// Row is one valid member row, normalized.
type Row struct {
	Line        int
	Local       string
	Domain      string
	DisplayName string
	Mail        string
	Role        kizuna.Role
	Groups      []string
}

// RowError is one problem of one row, with a stable code.
type RowError struct {
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Result is what a file holds: its valid rows and every row error. Lines
// counts the physical lines read, the header included.
type Result struct {
	Rows   []Row
	Errors []RowError
	Lines  int
}

// Options bound and observe a parse.
type Options struct {
	// MaxRows refuses larger files; 0 means 100,000.
	MaxRows int
	// MaxErrors stops listing errors after this many; 0 means 1,000.
	MaxErrors int
	// Progress, if set, is called with the number of lines read every
	// ProgressEvery lines (default 1,000) and once at the end.
	Progress      func(lines int)
	ProgressEvery int
}

// Column names. Headers are matched case-insensitively after trimming, and
// these aliases (including the Japanese ones admins' spreadsheets use) are
// accepted.
const (
	colLocal   = "local"
	colDomain  = "domain"
	colID      = "id"
	colName    = "display_name"
	colMail    = "mail"
	colRole    = "role"
	colGroups  = "groups"
	maxMailLen = 254
)

var aliases = map[string]string{
	"local": colLocal, "local_part": colLocal, "localpart": colLocal, "login": colLocal, "user": colLocal, "ローカル部": colLocal, "ユーザー名": colLocal,
	"domain": colDomain, "ドメイン": colDomain,
	"id": colID, "member_id": colID, "sign_in_id": colID, "ログインid": colID, "アカウント": colID,
	"display_name": colName, "displayname": colName, "name": colName, "表示名": colName, "名前": colName, "氏名": colName,
	"mail": colMail, "email": colMail, "e-mail": colMail, "contact_mail": colMail, "メール": colMail, "メールアドレス": colMail,
	"role": colRole, "権限": colRole, "ロール": colRole, "役割": colRole,
	"groups": colGroups, "group": colGroups, "グループ": colGroups, "所属グループ": colGroups,
}

// AcceptedColumns lists the canonical column names, for messages.
var AcceptedColumns = []string{colLocal, colDomain, colID, colName, colMail, colRole, colGroups}

func fileError(code, format string, args ...any) error {
	return kizuna.Errorf(kizuna.ErrInvalid, code, format, args...)
}

// Parse reads a member CSV. It returns an error only for problems of the
// whole file (encoding, header, size); problems of single rows go to
// Result.Errors, all of them up to MaxErrors.
func Parse(r io.Reader, opt Options) (*Result, error) {
	if opt.MaxRows <= 0 {
		opt.MaxRows = 100000
	}
	if opt.MaxErrors <= 0 {
		opt.MaxErrors = 1000
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = 1000
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	switch {
	case len(head) == 0:
		return nil, fileError("empty_file", "The file is empty; it needs a header row and at least one member.")
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return nil, fileError("invalid_encoding", "The file is UTF-16; save it as \"CSV UTF-8\" and try again.")
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
	}

	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fileError("empty_file", "The file is empty; it needs a header row and at least one member.")
	}
	if err != nil {
		return nil, fileError("not_csv", "The header row could not be read as CSV: %s.", csvProblem(err))
	}
	cols, err := readHeader(header)
	if err != nil {
		return nil, err
	}

	p := &parser{opt: opt, cols: cols, seen: map[string]int{}, res: &Result{Lines: 1}}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err != csv.ErrFieldCount {
				p.res.Lines = max(p.res.Lines, pe.Line)
				p.fail(pe.StartLine, "", "not_csv", "This row is not valid CSV: %s.", csvProblem(err))
				// encoding/csv cannot resynchronize after a broken quote.
				if pe.Err == csv.ErrQuote || pe.Err == csv.ErrBareQuote {
					break
				}
				continue
			}
			return nil, fileError("not_csv", "The file could not be read as CSV: %s.", csvProblem(err))
		}
		line, _ := cr.FieldPos(0)
		p.res.Lines = max(p.res.Lines, line)
		p.row(line, rec)
		if len(p.res.Rows)+p.badRows > opt.MaxRows {
			return nil, fileError("too_many_rows", "The file has more than %d members; split it into smaller files.", opt.MaxRows)
		}
		if opt.Progress != nil && p.res.Lines%opt.ProgressEvery == 0 {
			opt.Progress(p.res.Lines)
		}
	}
	if opt.Progress != nil {
		opt.Progress(p.res.Lines)
	}
	if len(p.res.Rows) == 0 && len(p.res.Errors) == 0 {
		return nil, fileError("empty_file", "The file has a header but no members.")
	}
	return p.res, nil
}

func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "unreadable data"
}

// readHeader maps column positions to canonical names.
func readHeader(header []string) (map[string]int, error) {
	cols := map[string]int{}
	var unknown []string
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, fileError("invalid_encoding", "The file is not UTF-8 (Japanese Excel often saves Shift_JIS); save it as \"CSV UTF-8\" and try again.")
		}
		key := strings.ToLower(strings.TrimSpace(h))
		if key == "" {
			continue
		}
		name, ok := aliases[key]
		if !ok {
			unknown = append(unknown, h)
			continue
		}
		if _, dup := cols[name]; dup {
			return nil, fileError("invalid_header", "The column %q appears twice in the header.", name)
		}
		cols[name] = i
	}
	if len(unknown) > 0 {
		return nil, fileError("invalid_header", "Unknown columns %s; the accepted columns are %s.", strings.Join(quoteAll(unknown), ", "), strings.Join(AcceptedColumns, ", "))
	}
	_, hasID := cols[colID]
	_, hasLocal := cols[colLocal]
	_, hasDomain := cols[colDomain]
	switch {
	case hasID && (hasLocal || hasDomain):
		return nil, fileError("invalid_header", "Use either an id column (name@domain) or local and domain columns, not both.")
	case !hasID && !(hasLocal && hasDomain):
		return nil, fileError("invalid_header", "The header needs local and domain columns (or one id column with name@domain); the accepted columns are %s.", strings.Join(AcceptedColumns, ", "))
	}
	return cols, nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

type parser struct {
	opt     Options
	cols    map[string]int
	seen    map[string]int // local@domain → first line
	res     *Result
	badRows int
}

func (p *parser) fail(line int, column, code, format string, args ...any) {
	if len(p.res.Errors) == p.opt.MaxErrors {
		p.res.Errors = append(p.res.Errors, RowError{Line: line, Code: "too_many_errors",
			Message: fmt.Sprintf("More than %d errors; fix these and check the file again.", p.opt.MaxErrors)})
	}
	if len(p.res.Errors) > p.opt.MaxErrors {
		return
	}
	p.res.Errors = append(p.res.Errors, RowError{Line: line, Column: column, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) field(rec []string, col string) (string, bool) {
	i, ok := p.cols[col]
	if !ok || i >= len(rec) {
		return "", ok
	}
	return strings.TrimSpace(rec[i]), true
}

// row checks one record; line is its first physical line.
func (p *parser) row(line int, rec []string) {
	blank := true
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			blank = false
			break
		}
	}
	if blank {
		return
	}
	errsBefore := len(p.res.Errors)
	defer func() {
		if len(p.res.Errors) > errsBefore {
			p.badRows++
		}
	}()
	for _, f := range rec {
		if !utf8.ValidString(f) {
			p.fail(line, "", "invalid_encoding", "This row is not UTF-8 (Japanese Excel often saves Shift_JIS); save the file as \"CSV UTF-8\".")
			return
		}
	}
	maxCol := 0
	for _, i := range p.cols {
		maxCol = max(maxCol, i)
	}
	if len(rec) <= maxCol {
		p.fail(line, "", "wrong_column_count", "This row has %d columns; the header has at least %d.", len(rec), maxCol+1)
		return
	}

	var r Row
	r.Line = line
	var local, domain string
	if id, ok := p.field(rec, colID); ok {
		if id == "" {
			p.fail(line, colID, "missing_value", "The ID (name@domain) is empty.")
			return
		}
		at := strings.LastIndexByte(id, '@')
		if at < 0 {
			p.fail(line, colID, "invalid_local_part", "%q is not an ID of the form name@domain.", id)
			return
		}
		local, domain = id[:at], id[at+1:]
	} else {
		local, _ = p.field(rec, colLocal)
		domain, _ = p.field(rec, colDomain)
	}
	ok := true
	if local == "" {
		p.fail(line, colLocal, "missing_value", "The part of the ID before @ is empty.")
		ok = false
	} else if l, err := kizuna.NormalizeLocalPart(local); err != nil {
		p.fail(line, colLocal, "invalid_local_part", "%s", kizuna.AsError(err).Message)
		ok = false
	} else {
		r.Local = l
	}
	if domain == "" {
		p.fail(line, colDomain, "missing_value", "The domain is empty.")
		ok = false
	} else if d, err := kizuna.NormalizeDomain(domain); err != nil {
		p.fail(line, colDomain, "invalid_domain", "%s", kizuna.AsError(err).Message)
		ok = false
	} else {
		r.Domain = d
	}

	name, _ := p.field(rec, colName)
	if name == "" {
		name = r.Local
	}
	if utf8.RuneCountInString(name) > kizuna.MaxDisplayNameLength {
		p.fail(line, colName, "invalid_display_name", "The display name has more than %d characters.", kizuna.MaxDisplayNameLength)
		ok = false
	} else if strings.ContainsFunc(name, func(c rune) bool { return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) }) {
		p.fail(line, colName, "invalid_display_name", "The display name contains control characters.")
		ok = false
	}
	r.DisplayName = name

	if mail, _ := p.field(rec, colMail); mail != "" {
		parsed, err := netmail.ParseAddress(mail)
		if err != nil || parsed.Address != mail || len(mail) > maxMailLen {
			p.fail(line, colMail, "invalid_mail", "%q is not a mail address such as name@example.com.", mail)
			ok = false
		}
		r.Mail = mail
	}

	r.Role = kizuna.RoleMember
	if role, _ := p.field(rec, colRole); role != "" {
		switch strings.ToLower(role) {
		case "member", "メンバー", "一般":
			r.Role = kizuna.RoleMember
		case "admin", "管理者":
			r.Role = kizuna.RoleAdmin
		case "owner", "オーナー":
			r.Role = kizuna.RoleOwner
		default:
			p.fail(line, colRole, "invalid_role", "The role %q is not one of member, admin, owner.", role)
			ok = false
		}
	}

	if groups, _ := p.field(rec, colGroups); groups != "" {
		seen := map[string]bool{}
		for _, g := range strings.FieldsFunc(groups, func(c rune) bool { return c == ';' || c == '|' }) {
			if g = strings.TrimSpace(g); g != "" && !seen[g] {
				seen[g] = true
				r.Groups = append(r.Groups, g)
			}
		}
	}

	if !ok {
		return
	}
	key := r.Local + "@" + r.Domain
	if first, dup := p.seen[key]; dup {
		p.fail(line, colLocal, "duplicate_row", "The ID %s already appears on line %d.", key, first)
		return
	}
	p.seen[key] = line
	p.res.Rows = append(p.res.Rows, r)
}
