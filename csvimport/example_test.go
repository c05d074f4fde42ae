package csvimport_test

import (
	"fmt"
	"strings"

	"github.com/kizuna-chat/kizuna/csvimport"
)

func ExampleParse() {
	file := "\ufeffID,表示名,メールアドレス,権限,グループ\n" +
		"Sato@ＡＣＭＥ.example,佐藤 花子,hanako@mail.example,管理者,営業; 東京\n" +
		"suzuki@acme.example,\"鈴木\n一郎\",,,\n" +
		"sato@acme.example,佐藤,not a mail,boss,\n"
	res, err := csvimport.Parse(strings.NewReader(file), csvimport.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Rows {
		fmt.Printf("line %d: %s@%s %q %s %s %q\n", r.Line, r.Local, r.Domain, r.DisplayName, r.Mail, r.Role, r.Groups)
	}
	for _, e := range res.Errors {
		fmt.Printf("line %d, %s: %s\n", e.Line, e.Column, e.Code)
	}
	fmt.Println(res.Lines, "lines")
	// Output:
	// line 2: sato@acme.example "佐藤 花子" hanako@mail.example admin ["営業" "東京"]
	// line 3, display_name: invalid_display_name
	// line 5, mail: invalid_mail
	// line 5, role: invalid_role
	// line 5, id: duplicate_row
	// 5 lines
}
