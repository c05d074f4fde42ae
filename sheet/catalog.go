package sheet

// Supported languages.
const (
	LangJA = "ja"
	LangEN = "en"
)

// messages is the one message catalogue for the invitation sheet. Every
// text printed on a sheet (HTML and PDF) comes from here; both languages
// must define every key (TestCatalogueComplete checks it).
//
// Texts in the "en" catalogue that the PDF prints (see pdfKeys) must stay
// within Latin-1: they are what the PDF falls back to when no CJK font is
// installed.
var messages = map[string]map[string]string{
	LangJA: {
		"title":         "ログイン情報のご案内",
		"tenant":        "組織",
		"name":          "氏名",
		"id":            "ログインID",
		"password":      "初期パスワード",
		"url":           "ログインページ",
		"expires":       "初期パスワードの有効期限",
		"date_layout":   "2006年1月2日 15:04 (MST)",
		"pw_case":       "英字の大文字と小文字は区別されます。",
		"pw_hyphen":     "ハイフン(-)も入力してください。",
		"pw_gaps":       "文字の間のすき間は読みやすくするためのものです。スペースは入力しないでください。",
		"pw_reissue":    "この用紙には初期パスワードが記載されていません。管理者にパスワードの再発行を依頼してください。",
		"steps":         "はじめてのログイン手順",
		"step1":         "パソコンまたはスマートフォンのブラウザで、上記のログインページを開きます。",
		"step2":         "このログインIDと初期パスワードでログインします。",
		"step3":         "新しいパスワードを設定します。設定すると、初期パスワードは使えなくなります。",
		"step2_reissue": "このログインIDと、管理者から再発行された初期パスワードでログインします。",
		"keep_private":  "この用紙は他の人に見せないでください。新しいパスワードを設定したら、用紙は破棄してください。",
		"footer":        "このアカウントは組織の管理者が発行しました。ご不明な点は管理者にお問い合わせください。",
		"name_fallback": "(氏名はWeb版の案内用紙に表示されます)",
		"text_fallback": "(Web版の案内用紙に表示されます)",
		"print_hint":    "ブラウザの印刷機能(Ctrl+P / ⌘+P)で印刷してください。1名につき1ページに印刷されます。",
	},
	LangEN: {
		"title":         "Your sign-in information",
		"tenant":        "Organization",
		"name":          "Name",
		"id":            "Sign-in ID",
		"password":      "Initial password",
		"url":           "Sign-in page",
		"expires":       "Initial password valid until",
		"date_layout":   "2 January 2006, 15:04 MST",
		"pw_case":       "Letters are case-sensitive.",
		"pw_hyphen":     "Type the hyphens (-) as well.",
		"pw_gaps":       "The gaps between characters are only for readability. Do not type spaces.",
		"pw_reissue":    "The initial password is not printed on this sheet. Ask your administrator to reissue a password.",
		"steps":         "Signing in for the first time",
		"step1":         "Open the sign-in page above in a web browser on your computer or phone.",
		"step2":         "Sign in with this sign-in ID and the initial password.",
		"step3":         "Choose a new password. Once you have set it, the initial password stops working.",
		"step2_reissue": "Sign in with this sign-in ID and the initial password your administrator reissues for you.",
		"keep_private":  "Do not show this sheet to anyone else. Destroy it once you have set a new password.",
		"footer":        "This account was created by your organization's administrator. Contact them if you have any questions.",
		"name_fallback": "(name shown on the web sheet)",
		"text_fallback": "(shown on the web sheet)",
		"print_hint":    "Print this page with your browser (Ctrl+P / Cmd+P). Each member gets a page of their own.",
	},
}

// pdfKeys are the catalogue keys the PDF prints (besides date_layout).
var pdfKeys = []string{
	"title", "tenant", "name", "id", "password", "url", "expires",
	"pw_case", "pw_hyphen", "pw_gaps", "pw_reissue", "steps",
	"step1", "step2", "step3", "step2_reissue", "keep_private", "footer",
	"name_fallback", "text_fallback",
}

// catalogue returns the messages of lang, which must be supported.
func catalogue(lang string) map[string]string { return messages[lang] }
