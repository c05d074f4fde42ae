package mail_test

import (
	"context"
	"mime"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/internal/smtptest"
	"github.com/kizuna-chat/kizuna/mail"
	"github.com/kizuna-chat/kizuna/store"
)

func smtpTransport(s *smtptest.Server) *mail.SMTP {
	return &mail.SMTP{Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password, From: "kizuna@acme.example",
		TLS: "starttls", TLSConfig: s.ClientTLS, Timeout: 10 * time.Second}
}

func TestSMTPDeliversOverSTARTTLSWithAuth(t *testing.T) {
	srv := smtptest.Start(t)
	err := smtpTransport(srv).Send(context.Background(), mail.Message{ID: "m1", To: "sato@mail.example",
		Subject: "ログイン情報のご案内", Text: "ログインID: sato@acme.example\n初期パスワード: Kq7m-xT3c\n"})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Received()
	if len(got) != 1 || got[0].To[0] != "sato@mail.example" || got[0].From != "kizuna@acme.example" {
		t.Fatalf("received %+v", got)
	}
	msg, err := netmail.ReadMessage(strings.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "ログイン情報のご案内" {
		t.Errorf("subject %q", subject)
	}
	body := decodeBody(t, msg)
	if !strings.Contains(body, "初期パスワード: Kq7m-xT3c") {
		t.Errorf("body %q", body)
	}
}

func decodeBody(t *testing.T, msg *netmail.Message) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := msg.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	raw := b.String()
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		out, err := decodeQP(raw)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	return raw
}

func TestSMTPFailuresAreClassified(t *testing.T) {
	srv := smtptest.Start(t)
	srv.RejectRcpt = "nobody"
	err := smtpTransport(srv).Send(context.Background(), mail.Message{ID: "m2", To: "nobody@mail.example", Subject: "x", Text: "x"})
	if err == nil || !mail.IsPermanent(err) {
		t.Errorf("550 recipient: %v (permanent=%v), want permanent", err, mail.IsPermanent(err))
	}
	wrongAuth := smtpTransport(srv)
	wrongAuth.Password = "wrong"
	if err := wrongAuth.Send(context.Background(), mail.Message{ID: "m3", To: "a@mail.example", Subject: "x", Text: "x"}); err == nil {
		t.Error("wrong password sent mail")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nobody listens there now
	down := &mail.SMTP{Host: "127.0.0.1", Port: port, From: "k@acme.example", TLS: "starttls", Timeout: 2 * time.Second}
	if err := down.Send(context.Background(), mail.Message{ID: "m4", To: "a@mail.example", Subject: "x", Text: "x"}); err == nil || mail.IsPermanent(err) {
		t.Errorf("server down: %v, want a temporary error", err)
	}
}

func TestFileOutbox(t *testing.T) {
	dir := t.TempDir()
	if err := (&mail.FileOutbox{Dir: dir}).Send(context.Background(), mail.Message{ID: "01ABC", To: "sato@mail.example", Subject: "件名", Text: "本文"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "01ABC.eml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := netmail.ReadMessage(f)
	if err != nil || msg.Header.Get("To") != "<sato@mail.example>" {
		t.Errorf("outbox file: %v %v", msg, err)
	}
}

func TestParseSMTPURL(t *testing.T) {
	s, err := mail.ParseSMTPURL("smtp://user:p%40ss@mail.example:2525?tls=tls&from=kizuna@acme.example")
	if err != nil || s.Host != "mail.example" || s.Port != 2525 || s.Password != "p@ss" || s.TLS != "tls" || s.From != "kizuna@acme.example" {
		t.Errorf("%+v %v", s, err)
	}
	for _, bad := range []string{"http://x", "smtp://host?tls=ssl3&from=a@b.example", "smtp://host", "smtp://:25?from=a@b.example"} {
		if _, err := mail.ParseSMTPURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func newTenant(t *testing.T, st interface {
	store.Tenants
}) string {
	tn := &kizuna.Tenant{ID: kizuna.NewID(), Name: "Acme", Settings: kizuna.DefaultTenantSettings}
	d := &kizuna.Domain{ID: kizuna.NewID(), Name: "acme.example"}
	owner := &kizuna.Account{ID: kizuna.NewID(), Kind: kizuna.KindMember, Local: "boss", DisplayName: "Boss", Role: kizuna.RoleOwner, Status: kizuna.StatusActive}
	if err := st.CreateTenant(context.Background(), store.NewTenant{Tenant: tn, Domain: d, Owner: owner, Credential: kizuna.Credential{Hash: "x"}}); err != nil {
		t.Fatal(err)
	}
	return tn.ID
}
