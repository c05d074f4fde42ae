package sheet

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
)

// HTML writes a self-contained printable page with one sheet per entry
// (each on its own printed page). It has no script and no external
// resource; its only inline content besides markup is a <style> element.
func HTML(w io.Writer, entries []Entry, lang string) error {
	return WriteHTML(w, entries, Options{Lang: lang})
}

// WriteHTML is HTML with Options (only Lang matters for HTML).
func WriteHTML(w io.Writer, entries []Entry, opt Options) error {
	lang, err := checkLang(opt.Lang)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return ErrNoEntries
	}
	msg := catalogue(lang)
	d := htmlPage{Lang: lang, msg: msg}
	for _, e := range entries {
		d.Sheets = append(d.Sheets, htmlSheet{
			Entry:   e,
			Groups:  passwordGroups(e.InitialPassword),
			Notes:   passwordNotes(e.InitialPassword),
			Expires: formatExpiry(e.PasswordExpiresAt, msg),
		})
	}
	// Render to a buffer first so a template error never leaves half a page.
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		return fmt.Errorf("sheet: render html: %w", err)
	}
	_, err = buf.WriteTo(w)
	return err
}

type htmlPage struct {
	Lang   string
	Sheets []htmlSheet
	msg    map[string]string
}

// T returns the catalogue text for key; an unknown key fails rendering.
func (p htmlPage) T(key string) (string, error) {
	s, ok := p.msg[key]
	if !ok {
		return "", fmt.Errorf("sheet: no message %q for %q", key, p.Lang)
	}
	return s, nil
}

type htmlSheet struct {
	Entry
	Groups  []string
	Notes   []string
	Expires string
}

var pageTemplate = template.Must(template.New("sheet").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{{.T "title"}}</title>
<style>
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #eef0f3; color: #1a1d21;
  font-family: "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Yu Gothic UI", "Yu Gothic", Meiryo, "IPAexGothic", "Noto Sans CJK JP", "Noto Sans JP", system-ui, sans-serif;
  font-size: 11pt; line-height: 1.6; }
.hint { max-width: 180mm; margin: 12px auto; padding: 8px 12px; background: #fff8d6; border: 1px solid #e8d77a; border-radius: 4px; font-size: 10pt; }
.sheet { max-width: 180mm; margin: 12px auto; padding: 14mm 14mm 10mm; background: #fff; border: 1px solid #d5d9df;
  break-after: page; page-break-after: always; break-inside: avoid; page-break-inside: avoid; }
.sheet:last-of-type { break-after: auto; page-break-after: auto; }
h1 { font-size: 20pt; margin: 0 0 2mm; line-height: 1.3; }
.tenant { font-size: 13pt; color: #3a4250; margin: 0 0 6mm; padding-bottom: 3mm; border-bottom: 2px solid #1a1d21; }
.label { display: block; font-size: 9.5pt; color: #555d6b; font-weight: bold; letter-spacing: .02em; }
.name { font-size: 16pt; margin: 0 0 5mm; overflow-wrap: anywhere; }
.box { border: 1.5px solid #1a1d21; border-radius: 3mm; padding: 3mm 5mm; margin: 0 0 4mm; }
.mono { font-family: "DejaVu Sans Mono", "Cascadia Mono", Consolas, Menlo, "Liberation Mono", ui-monospace, monospace; overflow-wrap: anywhere; }
.id { font-size: 18pt; font-weight: bold; }
.pw { font-size: 28pt; font-weight: bold; letter-spacing: .08em; line-height: 1.3; }
.pw .g { display: inline-block; margin-right: .6em; }
.pw .g:last-child { margin-right: 0; }
.notes { margin: 1mm 0 0; padding: 0; list-style: none; font-size: 9.5pt; color: #3a4250; }
.expires { margin: 2mm 0 0; font-size: 10.5pt; }
.reissue { border-style: dashed; background: #f6f7f9; }
.reissue p { margin: 1mm 0; font-size: 12pt; font-weight: bold; }
.url { font-size: 13pt; }
.url a { color: inherit; text-decoration: none; }
h2 { font-size: 13pt; margin: 6mm 0 2mm; }
ol.steps { margin: 0 0 5mm; padding-left: 7mm; font-size: 11.5pt; }
ol.steps li { margin: 0 0 1.5mm; padding-left: 1mm; }
.foot { border-top: 1px solid #c3c8d0; padding-top: 3mm; font-size: 9.5pt; color: #3a4250; }
.foot p { margin: 0 0 1mm; }
@media print {
  body { background: #fff; }
  .hint { display: none; }
  .sheet { max-width: none; margin: 0; padding: 0; border: 0; }
}
</style>
</head>
<body>
<p class="hint">{{.T "print_hint"}}</p>
{{- range .Sheets}}
<section class="sheet">
<h1>{{$.T "title"}}</h1>
<p class="tenant"><span class="label">{{$.T "tenant"}}</span>{{.TenantName}}</p>
<p class="name"><span class="label">{{$.T "name"}}</span>{{.DisplayName}}</p>
<div class="box"><span class="label">{{$.T "id"}}</span><span class="mono id">{{.SignInID}}</span></div>
{{- if .InitialPassword}}
<div class="box"><span class="label">{{$.T "password"}}</span><div class="mono pw">{{range .Groups}}<span class="g">{{.}}</span>{{end}}</div>
<ul class="notes">{{range .Notes}}<li>{{$.T .}}</li>{{end}}</ul>
{{- if .Expires}}
<p class="expires"><strong>{{$.T "expires"}}:</strong> {{.Expires}}</p>
{{- end}}
</div>
{{- else}}
<div class="box reissue"><span class="label">{{$.T "password"}}</span><p>{{$.T "pw_reissue"}}</p></div>
{{- end}}
<div class="box"><span class="label">{{$.T "url"}}</span><span class="mono url"><a href="{{.SignInURL}}">{{.SignInURL}}</a></span></div>
<h2>{{$.T "steps"}}</h2>
<ol class="steps">
<li>{{$.T "step1"}}</li>
<li>{{if .InitialPassword}}{{$.T "step2"}}{{else}}{{$.T "step2_reissue"}}{{end}}</li>
<li>{{$.T "step3"}}</li>
</ol>
<div class="foot"><p>{{$.T "keep_private"}}</p><p>{{$.T "footer"}}</p></div>
</section>
{{- end}}
</body>
</html>
`))
