package mail_test

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kizuna-chat/kizuna/internal/smtptest"
	"github.com/kizuna-chat/kizuna/mail"
)

// plainServer is a real SMTP server without STARTTLS or AUTH.
type plainServer struct {
	port int
	mu   sync.Mutex
	got  []string
}

func startPlain(t *testing.T) *plainServer {
	t.Helper()
	p := &plainServer{}
	srv := smtp.NewServer(p)
	srv.Domain = "127.0.0.1"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	p.port = ln.Addr().(*net.TCPAddr).Port
	return p
}

func (p *plainServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &plainSession{p}, nil }

func (p *plainServer) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

type plainSession struct{ p *plainServer }

func (s *plainSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *plainSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *plainSession) Reset()                               {}
func (s *plainSession) Logout() error                        { return nil }
func (s *plainSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.p.mu.Lock()
	s.p.got = append(s.p.got, string(b))
	s.p.mu.Unlock()
	return err
}

// TestSMTPTLSPolicy: "starttls" never sends in the clear to a server
// without STARTTLS; "opportunistic" and "none" do.
func TestSMTPTLSPolicy(t *testing.T) {
	srv := startPlain(t)
	msg := mail.Message{ID: "m1", To: "sato@mail.example", Subject: "s", Text: "初期パスワード: Kq7m-xT3c"}
	strict := &mail.SMTP{Host: "127.0.0.1", Port: srv.port, From: "kizuna@acme.example", TLS: "starttls", Timeout: 5 * time.Second}
	if err := strict.Send(context.Background(), msg); err == nil {
		t.Fatal("starttls policy sent mail to a server without STARTTLS")
	}
	if got := srv.received(); len(got) != 0 {
		t.Fatalf("the server received %d messages in the clear", len(got))
	}
	for _, policy := range []string{"opportunistic", "none"} {
		tr := &mail.SMTP{Host: "127.0.0.1", Port: srv.port, From: "kizuna@acme.example", TLS: policy, Timeout: 5 * time.Second}
		if err := tr.Send(context.Background(), msg); err != nil {
			t.Errorf("%s: %v", policy, err)
		}
	}
	if got := srv.received(); len(got) != 2 {
		t.Errorf("the server received %d messages, want 2", len(got))
	}
}

// TestSMTPAlternativeHTML: an HTML body goes as an alternative to the text.
func TestSMTPAlternativeHTML(t *testing.T) {
	srv := smtptest.Start(t)
	err := smtpTransport(srv).Send(context.Background(), mail.Message{ID: "m5", To: "sato@mail.example", Subject: "件名",
		Text: "本文テキスト", HTML: "<p>本文HTML</p>"})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Received()
	if len(got) != 1 {
		t.Fatalf("received %d", len(got))
	}
	msg, err := netmail.ReadMessage(strings.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q %v", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			break
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p)
		parts[ct] = string(b)
	}
	if !strings.Contains(parts["text/plain"], "本文テキスト") || !strings.Contains(parts["text/html"], "<p>本文HTML</p>") {
		t.Errorf("parts %q", parts)
	}
}

// TestFileOutboxEML: the outbox file is a complete RFC 5322 message with
// the UTF-8 subject and body, private to the server's user, and no
// temporary file is left behind.
func TestFileOutboxEML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	out := &mail.FileOutbox{Dir: dir, From: "kizuna@acme.example"}
	m := mail.Message{ID: "01JABC", To: "sato@mail.example", Subject: "[Acme] ログイン情報のご案内", Text: "初期パスワード: Kq7m-xT3c\n"}
	if err := out.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := out.Send(context.Background(), m); err != nil { // a retry overwrites
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "01JABC.eml" {
		t.Fatalf("outbox holds %v", entries)
	}
	path := filepath.Join(dir, "01JABC.eml")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("file mode %v %v", fi.Mode(), err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := netmail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	from, _ := msg.Header.AddressList("From")
	to, _ := msg.Header.AddressList("To")
	if subject != m.Subject || len(from) != 1 || from[0].Address != "kizuna@acme.example" || len(to) != 1 || to[0].Address != m.To ||
		msg.Header.Get("Message-ID") == "" || msg.Header.Get("Date") == "" {
		t.Errorf("headers %v", msg.Header)
	}
	if body := decodeBody(t, msg); !strings.Contains(body, "初期パスワード: Kq7m-xT3c") {
		t.Errorf("body %q", body)
	}
}
