package csvimport

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna"
)

func parse(t *testing.T, data string) *Result {
	t.Helper()
	res, err := Parse(strings.NewReader(data), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return res
}

func TestParseRows(t *testing.T) {
	res := parse(t, "\ufeffLocal,Domain,Display_Name,Mail,Role,Groups\n"+
		"Taro,ACME.example,山田 太郎,taro@mail.example,admin,営業; 東京 ;営業\n"+
		"\n"+
		"hanako,ａｃｍｅ.example,,,,\n")
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %+v", res.Errors)
	}
	want := []Row{
		{Line: 2, Local: "taro", Domain: "acme.example", DisplayName: "山田 太郎", Mail: "taro@mail.example", Role: kizuna.RoleAdmin, Groups: []string{"営業", "東京"}},
		{Line: 4, Local: "hanako", Domain: "acme.example", DisplayName: "hanako", Role: kizuna.RoleMember},
	}
	if fmt.Sprint(res.Rows) != fmt.Sprint(want) {
		t.Errorf("rows:\n got %+v\nwant %+v", res.Rows, want)
	}
}

func TestParseAliasesAndIDColumn(t *testing.T) {
	res := parse(t, "メールアドレス,表示名,ID\nx@mail.example,佐藤,sato@acme.example\n")
	if len(res.Rows) != 1 || res.Rows[0].Local != "sato" || res.Rows[0].Domain != "acme.example" || res.Rows[0].DisplayName != "佐藤" {
		t.Errorf("rows %+v errors %+v", res.Rows, res.Errors)
	}
}

func TestParseRowErrors(t *testing.T) {
	data := "local,domain,display_name,mail,role\n" + // 1
		"ok1,acme.example,,,\n" + // 2
		"a b,acme.example,,,\n" + // 3 invalid_local_part
		"ok2,-bad.example,,,\n" + // 4 invalid_domain
		"ok3,acme.example,,not-a-mail,\n" + // 5 invalid_mail
		"ok4,acme.example,,,king\n" + // 6 invalid_role
		"OK1,acme.example,,,\n" + // 7 duplicate_row
		"ok5\n" + // 8 wrong_column_count
		",acme.example,,,\n" + // 9 missing_value
		"\"multi\nline\",acme.example,,,\n" + // 10-11 invalid_local_part on line 10
		"ok6,acme.example," + strings.Repeat("長", 101) + ",,\n" + // 12 invalid_display_name
		"ok7,acme.example,\xff,,\n" // 13 invalid_encoding
	res := parse(t, data)
	want := []struct {
		line int
		code string
	}{{3, "invalid_local_part"}, {4, "invalid_domain"}, {5, "invalid_mail"}, {6, "invalid_role"}, {7, "duplicate_row"},
		{8, "wrong_column_count"}, {9, "missing_value"}, {10, "invalid_local_part"}, {12, "invalid_display_name"}, {13, "invalid_encoding"}}
	if len(res.Errors) != len(want) {
		t.Fatalf("got %d errors, want %d: %+v", len(res.Errors), len(want), res.Errors)
	}
	for i, w := range want {
		if res.Errors[i].Line != w.line || res.Errors[i].Code != w.code {
			t.Errorf("error %d: got line %d %s (%s), want line %d %s", i, res.Errors[i].Line, res.Errors[i].Code, res.Errors[i].Message, w.line, w.code)
		}
	}
	if !strings.Contains(res.Errors[4].Message, "line 2") {
		t.Errorf("duplicate message does not name the first line: %s", res.Errors[4].Message)
	}
	if len(res.Rows) != 1 || res.Rows[0].Local != "ok1" {
		t.Errorf("rows: %+v", res.Rows)
	}
}

func TestParseFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, data, code string }{
		{"empty", "", "empty_file"},
		{"header only", "local,domain\n", "empty_file"},
		{"unknown column", "local,domain,shoe_size\nx,acme.example,42\n", "invalid_header"},
		{"missing domain", "local,display_name\nx,y\n", "invalid_header"},
		{"id and local", "id,local,domain\na@b.example,a,b.example\n", "invalid_header"},
		{"duplicate column", "local,domain,mail,email\nx,acme.example,a@b.example,a@b.example\n", "invalid_header"},
		{"utf-16", "\xff\xfel\x00o\x00", "invalid_encoding"},
		{"shift_jis header", "\x95\x5c\x8e\xa6\x96\xbc,local,domain\n", "invalid_encoding"},
	} {
		_, err := Parse(strings.NewReader(tc.data), Options{})
		if kizuna.ErrorCode(err) != tc.code {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
		}
	}
	_, err := Parse(strings.NewReader("local,domain\na,b.example\nc,b.example\nd,b.example\n"), Options{MaxRows: 2})
	if kizuna.ErrorCode(err) != "too_many_rows" {
		t.Errorf("max rows: %v", err)
	}
}

func bigCSV(n, badLine int) []byte {
	var b bytes.Buffer
	b.WriteString("local,domain,display_name,mail,role\n")
	for i := 2; i <= n+1; i++ {
		if i == badLine {
			b.WriteString("bad user,acme.example,,,\n")
			continue
		}
		fmt.Fprintf(&b, "user%06d,acme.example,利用者 %d,user%d@mail.example,member\n", i, i, i)
	}
	return b.Bytes()
}

func TestParse100kWithOneBadRow(t *testing.T) {
	var progress []int
	res, err := Parse(bytes.NewReader(bigCSV(100000, 50001)), Options{Progress: func(n int) { progress = append(progress, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Line != 50001 || len(res.Rows) != 99999 || res.Lines != 100001 {
		t.Errorf("errors %+v, %d rows, %d lines", res.Errors, len(res.Rows), res.Lines)
	}
	if len(progress) < 100 || progress[len(progress)-1] != 100001 {
		t.Errorf("progress reported %d times, last %v", len(progress), progress[len(progress)-1:])
	}
}

func BenchmarkParse100k(b *testing.B) {
	data := bigCSV(100000, 0)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"local,domain\ntaro,acme.example\n",
		"\ufeffid,display_name,role\nsato@acme.example,佐藤,admin\n",
		"local,domain,groups\n\"a\nb\",x.example,g1;g2\n",
		"local,domain\n\"unterminated,x\n",
		"local,domain\nA,ＡＣＭＥ.example\nA,acme.example\n",
		"mail,local,domain\nnot-mail,x,y.example\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data), Options{MaxRows: 1000})
		if err != nil {
			if kizuna.ErrorCode(err) == "internal" {
				t.Fatalf("internal error: %v", err)
			}
			return
		}
		for _, r := range res.Rows {
			if l, err := kizuna.NormalizeLocalPart(r.Local); err != nil || l != r.Local {
				t.Fatalf("row local %q not normalized", r.Local)
			}
			if d, err := kizuna.NormalizeDomain(r.Domain); err != nil || d != r.Domain {
				t.Fatalf("row domain %q not normalized", r.Domain)
			}
		}
		for _, e := range res.Errors {
			if e.Line < 1 || e.Line > res.Lines+1 {
				t.Fatalf("error line %d outside 1..%d", e.Line, res.Lines)
			}
		}
	})
}
