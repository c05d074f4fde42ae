package csvimport

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"

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

// errs renders errors as "line:column:code" for comparison.
func errs(res *Result) []string {
	out := []string{}
	for _, e := range res.Errors {
		out = append(out, fmt.Sprintf("%d:%s:%s", e.Line, e.Column, e.Code))
	}
	return out
}

func TestParseRows(t *testing.T) {
	res := parse(t, "\ufeffLocal,Domain,Display_Name,Mail,Role,Groups\n"+
		"Taro,ACME.example,山田 太郎,taro@mail.example,admin,営業; 東京 ;営業|\n"+
		"\n"+
		"  hanako  ,ａｃｍｅ．ｅｘａｍｐｌｅ,,,,\n"+
		",,,,,\n"+
		"ｊｉｒｏ,例え.テスト,　鈴木　次郎　,,Owner,a|b;;a\n")
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %+v", res.Errors)
	}
	want := []Row{
		{Line: 2, Local: "taro", Domain: "acme.example", DisplayName: "山田 太郎", Mail: "taro@mail.example", Role: kizuna.RoleAdmin, Groups: []string{"営業", "東京"}},
		{Line: 4, Local: "hanako", Domain: "acme.example", DisplayName: "hanako", Role: kizuna.RoleMember},
		{Line: 6, Local: "jiro", Domain: "xn--r8jz45g.xn--zckzah", DisplayName: "鈴木　次郎", Role: kizuna.RoleOwner, Groups: []string{"a", "b"}},
	}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", res.Rows, want)
	}
	if res.Lines != 6 {
		t.Errorf("Lines = %d, want 6", res.Lines)
	}
}

func TestHeaderAliasesAndOrder(t *testing.T) {
	for _, tc := range []struct{ header, row string }{
		{"local,domain,display_name,mail,role,groups", "sato,acme.example,佐藤,s@mail.example,admin,g"},
		{"groups,role,mail,display_name,domain,local", "g,admin,s@mail.example,佐藤,acme.example,sato"},
		{" LOCAL_PART , Domain ,Name,E-Mail,ROLE,Group", "sato,acme.example,佐藤,s@mail.example,admin,g"},
		{"Login,Domain Name,Display Name,Email Address,Role,Groups", "sato,acme.example,佐藤,s@mail.example,admin,g"},
		{"ローカル部,ドメイン,表示名,メールアドレス,権限,グループ", "sato,acme.example,佐藤,s@mail.example,admin,g"},
		{"ドメイン,ローカル部,名前,メール,ロール,ｸﾞﾙｰﾌﾟ", "acme.example,sato,佐藤,s@mail.example,管理者,g"},
		{"ID,氏名,メール,権限,所属グループ", "sato@acme.example,佐藤,s@mail.example,admin,g"},
		{"メールアドレス,ＩＤ,表示名,グループ,ロール", "s@mail.example,Sato@ACME.example,佐藤,g,ａｄｍｉｎ"},
		{"ログインID,名前,メール,権限,グループ,,", "sato@acme.example,佐藤,s@mail.example,admin,g,,"},
	} {
		res := parse(t, tc.header+"\n"+tc.row+"\n")
		want := []Row{{Line: 2, Local: "sato", Domain: "acme.example", DisplayName: "佐藤", Mail: "s@mail.example", Role: kizuna.RoleAdmin, Groups: []string{"g"}}}
		if len(res.Errors) != 0 || !reflect.DeepEqual(res.Rows, want) {
			t.Errorf("%s: rows %+v errors %+v", tc.header, res.Rows, res.Errors)
		}
	}
}

func TestIDColumn(t *testing.T) {
	res := parse(t, "id,display_name\n"+
		"sato@acme.example,佐藤\n"+ // 2 ok
		"no-at-sign,x\n"+ // 3
		",x\n"+ // 4
		"@acme.example,x\n"+ // 5
		"a b@acme.example,x\n"+ // 6
		"ok@-bad-.example,x\n"+ // 7
		"a@b@acme.example,x\n"+ // 8 "a@b" is not a local part
		"SATO@ａｃｍｅ.example,x\n") // 9 duplicate of line 2
	want := []string{"3:id:invalid_id", "4:id:missing_value", "5:id:missing_value", "6:id:invalid_local_part",
		"7:id:invalid_domain", "8:id:invalid_local_part", "9:id:duplicate_row"}
	if got := errs(res); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %v\nwant %v", got, want)
	}
	if len(res.Rows) != 1 || res.Rows[0].Local != "sato" || res.Rows[0].Domain != "acme.example" {
		t.Errorf("rows: %+v", res.Rows)
	}
}

// TestRowErrorCodes checks each row error code on its own, with its line.
func TestRowErrorCodes(t *testing.T) {
	const h = "local,domain,display_name,mail,role,groups\n"
	long := func(n int) string { return strings.Repeat("長", n) }
	for _, tc := range []struct {
		name, data string
		want       []string // line:column:code
	}{
		{"invalid_local_part", h + "ok,acme.example,,,,\nа,acme.example,,,,\n", []string{"3:local:invalid_local_part"}},
		{"local part with dot at end", h + "\n\ntaro.,acme.example,,,,\n", []string{"4:local:invalid_local_part"}},
		{"local part too long", h + strings.Repeat("a", 65) + ",acme.example,,,,\n", []string{"2:local:invalid_local_part"}},
		{"invalid_domain", h + "a,localhost,,,,\nb,1.2.3.4,,,,\nc,a..example,,,,\n", []string{"2:domain:invalid_domain", "3:domain:invalid_domain", "4:domain:invalid_domain"}},
		{"invalid_id too long", h + strings.Repeat("a", 64) + "," + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".example,,,,\n", []string{"2:local:invalid_id"}},
		{"invalid_display_name long", h + "a,acme.example," + long(101) + ",,,\nb,acme.example," + long(100) + ",,,\n", []string{"2:display_name:invalid_display_name"}},
		{"invalid_display_name control", h + "a,acme.example,\"two\nlines\",,,\nb,acme.example,tab\there,,,\n", []string{"2:display_name:invalid_display_name", "4:display_name:invalid_display_name"}},
		{"invalid_mail", h + "a,acme.example,,not-a-mail,,\nb,acme.example,,Taro <t@mail.example>,,\nc,acme.example,,<t@mail.example>,,\nd,acme.example,,t@mail.example (work),,\ne,acme.example,," + strings.Repeat("m", 250) + "@x.example,,\n",
			[]string{"2:mail:invalid_mail", "3:mail:invalid_mail", "4:mail:invalid_mail", "5:mail:invalid_mail", "6:mail:invalid_mail"}},
		{"invalid_role", h + "a,acme.example,,,king,\nb,acme.example,,,Admin,\n", []string{"2:role:invalid_role"}},
		{"invalid_group", h + "a,acme.example,,,,ok;" + long(101) + "\nb,acme.example,,,," + strings.Repeat("g;", 50) + "\n", []string{"2:groups:invalid_group"}},
		{"duplicate_row", h + "Taro,acme.example,,,,\nx,acme.example,,,,\nＴＡＲＯ,ACME.EXAMPLE,,,,\ntaro,acme.example,,bad,,\n", []string{"4:local:duplicate_row", "5:mail:invalid_mail", "5:local:duplicate_row"}},
		{"wrong_column_count short", h + "a,acme.example\n", []string{"2::wrong_column_count"}},
		{"wrong_column_count long", h + "a,acme.example,Yamada, Taro,,,\n", []string{"2::wrong_column_count"}},
		{"values under an unnamed column", strings.TrimSpace(h) + ",,\na,acme.example,,,,,,\nb,acme.example,,,,, ,\nc,acme.example,,,,,,x\nd,acme.example,,,,,,,\n", []string{"4::wrong_column_count", "5::wrong_column_count"}},
		{"invalid_encoding", h + "a,acme.example,\xff\xfe,,,\nb,acme.example,,,,\n", []string{"2::invalid_encoding"}},
		{"missing_value", h + ",acme.example,名前,,,\nb,,,,,\n, ,x,,,\n", []string{"2:local:missing_value", "3:domain:missing_value", "4:local:missing_value", "4:domain:missing_value"}},
		{"invalid_quote bare", h + "a\"b,acme.example,,,,\nok,acme.example,,,,\n", []string{"2::invalid_quote"}},
		{"invalid_quote unterminated", h + "ok,acme.example,,,,\n\"a,acme.example,,,,\nb,acme.example,,,,\n", []string{"3::invalid_quote"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := parse(t, tc.data)
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if got := errs(res); !reflect.DeepEqual(got, want) {
				t.Errorf("errors:\n got %v\nwant %v\n%+v", got, want, res.Errors)
			}
			for _, e := range res.Errors {
				if e.Message == "" || e.Line < 1 || e.Line > res.Lines {
					t.Errorf("bad error %+v (lines %d)", e, res.Lines)
				}
			}
		})
	}
}

// TestLineNumbers checks physical line numbers around quoted values that
// span lines, blank lines and CRLF line ends, and that a bad row does not
// hide the rows after it.
func TestLineNumbers(t *testing.T) {
	data := "local,domain,display_name,mail,role\r\n" + // 1
		"ok1,acme.example,,,\r\n" + // 2
		"a b,acme.example,,,\r\n" + // 3 invalid_local_part
		"ok2,-bad.example,,,\r\n" + // 4 invalid_domain
		"ok3,acme.example,\"名前\r\n二行目\r\n三行目\",not-a-mail,\r\n" + // 5-7 invalid_display_name, invalid_mail
		"\r\n" + // 8
		"ok4,acme.example,,,king\r\n" + // 9 invalid_role
		"OK1,acme.example,,,\r\n" + // 10 duplicate_row
		"ok5\r\n" + // 11 wrong_column_count
		",acme.example,,,\r\n" + // 12 missing_value
		"\"multi\nline\",acme.example,,,\r\n" + // 13-14 invalid_local_part on line 13
		"ok6,acme.example,\"a \"\"quoted\"\" name\",,\r\n" + // 15 fine
		"ok7,acme.example,\xff,,\r\n" + // 16 invalid_encoding
		"bad\"quote,acme.example,,,\r\n" + // 17 invalid_quote
		"ok8,acme.example,,,admin" // 18, no final newline
	res := parse(t, data)
	want := []string{"3:local:invalid_local_part", "4:domain:invalid_domain", "5:display_name:invalid_display_name", "5:mail:invalid_mail",
		"9:role:invalid_role", "10:local:duplicate_row", "11::wrong_column_count", "12:local:missing_value",
		"13:local:invalid_local_part", "16::invalid_encoding", "17::invalid_quote"}
	if got := errs(res); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %v\nwant %v", got, want)
	}
	if !strings.Contains(res.Errors[5].Message, "line 2") {
		t.Errorf("duplicate message does not name the first line: %s", res.Errors[5].Message)
	}
	var lines []int
	for _, r := range res.Rows {
		lines = append(lines, r.Line)
	}
	if !reflect.DeepEqual(lines, []int{2, 15, 18}) || res.Rows[1].DisplayName != `a "quoted" name` || res.Lines != 18 {
		t.Errorf("rows %+v, lines %d", res.Rows, res.Lines)
	}
}

func TestLineEnds(t *testing.T) {
	for name, data := range map[string]string{
		"LF":                 "local,domain\na,acme.example\nb,acme.example\n",
		"CRLF":               "local,domain\r\na,acme.example\r\nb,acme.example\r\n",
		"CR (classic Mac)":   "local,domain\ra,acme.example\rb,acme.example\r",
		"no final line end":  "local,domain\na,acme.example\nb,acme.example",
		"BOM and CRLF":       "\ufefflocal,domain\r\na,acme.example\r\nb,acme.example\r\n",
		"trailing blank row": "local,domain\na,acme.example\nb,acme.example\n,\n",
	} {
		res, err := Parse(strings.NewReader(data), Options{})
		if err != nil || len(res.Errors) != 0 || len(res.Rows) != 2 || res.Rows[1].Line != 3 || res.Rows[1].Local != "b" {
			t.Errorf("%s: %v %+v", name, err, res)
			continue
		}
		if wantLines := 3 + strings.Count(data, ",\n"); res.Lines != wantLines {
			t.Errorf("%s: Lines = %d, want %d", name, res.Lines, wantLines)
		}
	}
}

func TestBOM(t *testing.T) {
	plain := parse(t, "id,表示名\nsato@acme.example,佐藤\n")
	withBOM := parse(t, "\ufeffid,表示名\nsato@acme.example,佐藤\n")
	if !reflect.DeepEqual(plain, withBOM) || len(plain.Rows) != 1 || plain.Rows[0].DisplayName != "佐藤" {
		t.Errorf("plain %+v, with BOM %+v", plain, withBOM)
	}
}

func TestFileErrors(t *testing.T) {
	sjis, err := japanese.ShiftJIS.NewEncoder().String("ローカル部,ドメイン,表示名\nsato,acme.example,佐藤 太郎\n")
	if err != nil {
		t.Fatal(err)
	}
	sjisRows, _ := japanese.ShiftJIS.NewEncoder().String("local,domain,display_name\nsato,acme.example,佐藤 太郎\nsuzuki,acme.example,鈴木\n")
	utf16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String("local,domain\na,acme.example\n")
	utf16BE, _ := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().String("local,domain\na,acme.example\n")
	utf16NoBOM, _ := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder().String("local,domain\na,acme.example\n")
	for _, tc := range []struct{ name, data, code, msg string }{
		{"empty", "", "empty_file", ""},
		{"BOM only", "\ufeff", "empty_file", ""},
		{"blank lines only", "\n\n\r\n", "empty_file", ""},
		{"header only", "local,domain\n", "empty_file", "no member rows"},
		{"header and blank rows", "local,domain\n,\n\n , \n", "empty_file", ""},
		{"unknown column", "local,domain,shoe_size,靴\nx,acme.example,42,\n", "invalid_header", `"shoe_size", "靴"`},
		{"no header", "taro,acme.example\n", "invalid_header", "must be a header row"},
		{"tabs", "local\tdomain\nx\tacme.example\n", "invalid_header", "tabs or semicolons"},
		{"missing domain", "local,display_name\nx,y\n", "invalid_header", "no domain column"},
		{"missing local", "domain,display_name\nx,y\n", "invalid_header", "no local column"},
		{"only optional", "display_name,mail\nx,y\n", "invalid_header", "no local and domain column"},
		{"id and local", "id,local\na@b.example,a\n", "invalid_header", "both"},
		{"duplicate column", "local,domain,mail,Eメール\nx,acme.example,a@b.example,a@b.example\n", "invalid_header", `"mail" and "Eメール"`},
		{"unnamed column", "local,,domain\nx,,acme.example\n", "invalid_header", "Column 2"},
		{"header bad quote", "local,\"domain\n", "not_csv", ""},
		{"utf-16 LE", utf16, "invalid_encoding", "UTF-16"},
		{"utf-16 BE", utf16BE, "invalid_encoding", "UTF-16"},
		{"utf-16 without BOM", utf16NoBOM, "invalid_encoding", "NUL"},
		{"shift_jis header", sjis, "invalid_encoding", "Shift_JIS"},
		{"shift_jis rows", sjisRows, "invalid_encoding", "Shift_JIS"},
		{"xlsx", "PK\x03\x04\x14\x00\x06\x00", "not_csv", ".xlsx"},
	} {
		_, err := Parse(strings.NewReader(tc.data), Options{})
		var e *kizuna.Error
		if !errors.As(err, &e) || e.Code != tc.code || !errors.Is(err, kizuna.ErrInvalid) || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: got %v, want %s containing %q", tc.name, err, tc.code, tc.msg)
		}
	}

	_, err = Parse(strings.NewReader("local,domain,shoe_size\nx,acme.example,42\n"), Options{})
	e := kizuna.AsError(err)
	for _, accepted := range []string{"local", "domain", "id", "display_name", "mail", "role", "groups", "ローカル部", "メールアドレス"} {
		if !strings.Contains(e.Message, accepted) {
			t.Errorf("the header error does not list %q: %s", accepted, e.Message)
		}
	}
	if d, ok := e.Details.(map[string]any); !ok || !reflect.DeepEqual(d["unknown_columns"], []string{"shoe_size"}) {
		t.Errorf("details: %#v", e.Details)
	}

	_, err = Parse(strings.NewReader("local,domain\na,b.example\n\nc,b.example\nd,b.example\n"), Options{MaxRows: 2})
	if kizuna.ErrorCode(err) != "too_many_rows" {
		t.Errorf("max rows: %v", err)
	}
	if _, err = Parse(strings.NewReader("local,domain\na,b.example\n\nc,b.example\n,\n"), Options{MaxRows: 2}); err != nil {
		t.Errorf("two rows and blank ones: %v", err)
	}
	boom := errors.New("connection reset")
	if _, err = Parse(&failingReader{data: "local,domain\na,b.example\n", err: boom}, Options{}); !errors.Is(err, boom) {
		t.Errorf("read error: %v", err)
	}
}

type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestEncodingPastTheSample: a file whose first 64 KiB are ASCII is read
// as UTF-8; a later row in Shift_JIS is that row's error only.
func TestEncodingPastTheSample(t *testing.T) {
	var b strings.Builder
	b.WriteString("local,domain,display_name\n")
	n := 0
	for b.Len() < 70<<10 {
		n++
		fmt.Fprintf(&b, "user%d,acme.example,User %d\n", n, n)
	}
	sjisName, _ := japanese.ShiftJIS.NewEncoder().String("佐藤")
	b.WriteString("sato,acme.example," + sjisName + "\n")
	b.WriteString("last,acme.example,\n")
	res := parse(t, b.String())
	if got := errs(res); !reflect.DeepEqual(got, []string{fmt.Sprintf("%d::invalid_encoding", n+2)}) || len(res.Rows) != n+1 {
		t.Errorf("errors %v, %d rows", got, len(res.Rows))
	}
	if !strings.Contains(res.Errors[0].Message, "Shift_JIS") {
		t.Errorf("message: %s", res.Errors[0].Message)
	}
}

func TestMaxErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("local,domain\n")
	for i := 0; i < 30; i++ {
		b.WriteString("bad local,acme.example\n")
	}
	b.WriteString("good,acme.example\n")
	res, err := Parse(strings.NewReader(b.String()), Options{MaxErrors: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 11 || res.Errors[9].Line != 11 || len(res.Rows) != 1 || res.Lines != 32 {
		t.Fatalf("%d errors, %d rows, %d lines: %+v", len(res.Errors), len(res.Rows), res.Lines, res.Errors)
	}
	last := res.Errors[10]
	if last.Code != "too_many_errors" || last.Line != 12 || !strings.Contains(last.Message, "20 more") {
		t.Errorf("last: %+v", last)
	}
	// The default is 1000.
	b.Reset()
	b.WriteString("local,domain\n")
	for i := 0; i < 1500; i++ {
		b.WriteString("-,acme.example\n")
	}
	res = parse(t, b.String())
	if len(res.Errors) != 1001 || res.Errors[1000].Code != "too_many_errors" || !strings.Contains(res.Errors[1000].Message, "500 more") {
		t.Errorf("%d errors, last %+v", len(res.Errors), res.Errors[len(res.Errors)-1])
	}
}

func TestRolesAndGroups(t *testing.T) {
	res := parse(t, "local,domain,role,groups\n"+
		"a,acme.example,Member,\n"+
		"b,acme.example,ADMIN,営業|営業;  ;東京 \n"+
		"c,acme.example,オーナー,\"x, y\"\n"+
		"d,acme.example,管理者,|;|\n"+
		"e,acme.example,ﾒﾝﾊﾞｰ,ｸﾞﾙｰﾌﾟ\n")
	type rg struct {
		Role   kizuna.Role
		Groups []string
	}
	var got []rg
	for _, r := range res.Rows {
		got = append(got, rg{r.Role, r.Groups})
	}
	want := []rg{{"member", nil}, {"admin", []string{"営業", "東京"}}, {"owner", []string{"x, y"}}, {"admin", nil}, {"member", []string{"ｸﾞﾙｰﾌﾟ"}}}
	if len(res.Errors) != 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, errors %+v", got, res.Errors)
	}
}

func TestProgress(t *testing.T) {
	var calls []int
	res, err := Parse(bytes.NewReader(bigCSV(5000, 0)), Options{ProgressEvery: 1000, Progress: func(n int) { calls = append(calls, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(calls, []int{1000, 2000, 3000, 4000, 5000, 5001}) || res.Lines != 5001 {
		t.Errorf("progress %v, lines %d", calls, res.Lines)
	}
}

func bigCSV(n, badLine int) []byte {
	var b bytes.Buffer
	b.WriteString("local,domain,display_name,mail,role,groups\n")
	for i := 2; i <= n+1; i++ {
		if i == badLine {
			b.WriteString("bad user,acme.example,,,,\n")
			continue
		}
		fmt.Fprintf(&b, "user%06d,acme.example,利用者 %d,user%d@mail.example,member,営業;東京\n", i, i, i)
	}
	return b.Bytes()
}

func TestParse100kWithOneBadRow(t *testing.T) {
	var progress []int
	res, err := Parse(bytes.NewReader(bigCSV(100000, 50001)), Options{Progress: func(n int) { progress = append(progress, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := errs(res); !reflect.DeepEqual(got, []string{"50001:local:invalid_local_part"}) || len(res.Rows) != 99999 || res.Lines != 100001 {
		t.Errorf("errors %v, %d rows, %d lines", got, len(res.Rows), res.Lines)
	}
	if r := res.Rows[49999]; r.Line != 50002 || r.Local != "user050002" || r.DisplayName != "利用者 50002" {
		t.Errorf("row after the bad one: %+v", r)
	}
	if len(progress) != 101 || progress[0] != 1000 || progress[len(progress)-1] != 100001 {
		t.Errorf("progress reported %d times: first %d, last %d", len(progress), progress[0], progress[len(progress)-1])
	}
	// One more row is too many.
	if _, err := Parse(bytes.NewReader(bigCSV(100001, 0)), Options{}); kizuna.ErrorCode(err) != "too_many_rows" {
		t.Errorf("100,001 rows: %v", err)
	}
}

func BenchmarkParse100k(b *testing.B) {
	data := bigCSV(100000, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Parse(bytes.NewReader(data), Options{})
		if err != nil || len(res.Rows) != 100000 {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"local,domain\ntaro,acme.example\n",
		"\ufeffid,display_name,role\nsato@acme.example,佐藤,admin\n",
		"local,domain,groups\n\"a\nb\",x.example,g1;g2|g1\n",
		"local,domain\n\"unterminated,x\n",
		"local,domain\nA,ＡＣＭＥ.example\nA,acme.example\n",
		"mail,local,domain\nnot-mail,x,y.example\n",
		"ローカル部,ドメイン,表示名,メールアドレス,権限,グループ\nsuzuki,例え.テスト,鈴木,s@mail.example,管理者,営業\n",
		"local,domain,display_name\r\na,b.example,\"x\r\ny\"\r\nb\"c,d.example,\r\n",
		"local,domain\ra,b.example\r",
		"id\n@\na@\n@b.example\na@b@c.example\n",
		"local,domain,,\na,b.example,,\nc,d.example,e,\n",
		"local,domain\n\x82\xa0,b.example\n",
		"\xff\xfel\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var progress []int
		res, err := Parse(bytes.NewReader(data), Options{MaxRows: 1000, MaxErrors: 50, ProgressEvery: 3,
			Progress: func(n int) { progress = append(progress, n) }})
		if err != nil {
			var e *kizuna.Error
			if !errors.As(err, &e) || e.Kind != kizuna.ErrInvalid || e.Message == "" {
				t.Fatalf("not an invalid-file error: %#v", err)
			}
			return
		}
		if res.Lines < 1 || len(progress) == 0 || progress[len(progress)-1] != res.Lines {
			t.Fatalf("lines %d, progress %v", res.Lines, progress)
		}
		for i := 1; i < len(progress); i++ {
			if progress[i] < progress[i-1] {
				t.Fatalf("progress goes back: %v", progress)
			}
		}
		seen := map[string]bool{}
		prev := 1
		for _, r := range res.Rows {
			if l, err := kizuna.NormalizeLocalPart(r.Local); err != nil || l != r.Local {
				t.Fatalf("row local %q not normalized", r.Local)
			}
			if d, err := kizuna.NormalizeDomain(r.Domain); err != nil || d != r.Domain {
				t.Fatalf("row domain %q not normalized", r.Domain)
			}
			if _, _, err := kizuna.ParseID(r.Local + "@" + r.Domain); err != nil {
				t.Fatalf("row ID %s@%s: %v", r.Local, r.Domain, err)
			}
			if seen[r.Local+"@"+r.Domain] {
				t.Fatalf("ID %s@%s twice", r.Local, r.Domain)
			}
			seen[r.Local+"@"+r.Domain] = true
			if r.Line <= prev || r.Line > res.Lines {
				t.Fatalf("row line %d after %d, lines %d", r.Line, prev, res.Lines)
			}
			prev = r.Line
			if !r.Role.Valid() || r.DisplayName == "" || !utf8.ValidString(r.DisplayName) || utf8.RuneCountInString(r.DisplayName) > kizuna.MaxDisplayNameLength ||
				strings.TrimSpace(r.DisplayName) != r.DisplayName || strings.ContainsFunc(r.DisplayName, isControl) {
				t.Fatalf("bad row %+v", r)
			}
			if r.Mail != "" && !plainAddress(r.Mail) {
				t.Fatalf("bad mail %q", r.Mail)
			}
			for _, g := range r.Groups {
				if g == "" || strings.TrimSpace(g) != g || strings.ContainsAny(g, ";|") {
					t.Fatalf("bad groups %q", r.Groups)
				}
			}
		}
		if len(res.Errors) > 51 {
			t.Fatalf("%d errors listed", len(res.Errors))
		}
		prev = 1
		for i, e := range res.Errors {
			if e.Line < prev || e.Line > res.Lines || e.Code == "" || e.Message == "" {
				t.Fatalf("error %+v after line %d, lines %d", e, prev, res.Lines)
			}
			if (e.Code == CodeTooManyErrors) != (i == 50) {
				t.Fatalf("error %d is %s", i, e.Code)
			}
			prev = e.Line
		}
	})
}
