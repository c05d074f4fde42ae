// Package mail sends Kizuna's mail. A Transport delivers one message: SMTP
// for real use (STARTTLS and authentication through wneessen/go-mail), or
// a file outbox in the data directory as the embedded default. Messages
// wait in a durable queue in the store (store.MailQueue) and a Worker
// delivers them with retries, so an admin's request never waits for a mail
// server, and a failed send stays visible to admins.
package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one mail to one recipient. Text is the plain-text body and
// always sent; HTML, when set, is added as an alternative part.
type Message struct {
	ID      string
	To      string
	Subject string
	Text    string
	HTML    string
}

var (
	_ Transport = (*SMTP)(nil)
	_ Transport = (*FileOutbox)(nil)
)

// Transport delivers messages.
type Transport interface {
	// Send delivers m. An error wrapped with Permanent means retrying
	// cannot help (the server refused the recipient, say).
	Send(ctx context.Context, m Message) error
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// SMTP delivers through an SMTP server.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	// TLS is "starttls" (required; the default), "opportunistic", "tls"
	// (implicit TLS, usually port 465) or "none".
	TLS string
	// TLSConfig overrides the TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
	Timeout   time.Duration
}

// ParseSMTPURL reads smtp://user:password@host:port?tls=starttls&from=addr,
// with an optional ca=/path/to/ca.pem for a server whose certificate is
// signed by a private CA.
func ParseSMTPURL(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		return nil, fmt.Errorf("mail: want smtp://user:password@host:port?from=address, got %q", raw)
	}
	s := &SMTP{Host: u.Hostname(), TLS: u.Query().Get("tls"), From: u.Query().Get("from"), Port: 587}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("mail: bad port %q", p)
		}
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if s.TLS == "" {
		s.TLS = "starttls"
	}
	switch s.TLS {
	case "starttls", "opportunistic", "tls", "none":
	default:
		return nil, fmt.Errorf("mail: tls must be starttls, opportunistic, tls or none, not %q", s.TLS)
	}
	if s.From == "" {
		return nil, errors.New("mail: the SMTP URL needs from=address")
	}
	if ca := u.Query().Get("ca"); ca != "" {
		pemBytes, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("mail: reading ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("mail: %s holds no PEM certificate", ca)
		}
		s.TLSConfig = &tls.Config{RootCAs: pool, ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	return s, nil
}

func (s *SMTP) message(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return nil, Permanent(fmt.Errorf("sender %q: %w", s.From, err))
	}
	if err := msg.To(m.To); err != nil {
		return nil, Permanent(fmt.Errorf("recipient %q: %w", m.To, err))
	}
	msg.Subject(m.Subject)
	msg.SetMessageID()
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// Send implements Transport.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	opts := []gomail.Option{gomail.WithPort(s.Port)}
	if s.Timeout > 0 {
		opts = append(opts, gomail.WithTimeout(s.Timeout))
	}
	switch s.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.TLSConfig))
	}
	if s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	c, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return Permanent(err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		// A 5xx answer to the recipient or the data is final; connection
		// failures and 4xx answers are worth another try.
		if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
			return Permanent(err)
		}
		return err
	}
	return nil
}

// FileOutbox writes each message as an .eml file (RFC 5322) into a
// directory: the embedded default, so invitation mail is never lost on a
// machine without a mail server (an operator can hand the files to any mail
// client). A file appears complete or not at all (written, synced, then
// renamed), is readable by the server's user only since it may hold an
// initial password, and is named after the message ID, so a retried
// delivery overwrites rather than duplicates.
type FileOutbox struct {
	Dir  string
	From string
}

// Send implements Transport.
func (f *FileOutbox) Send(ctx context.Context, m Message) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	from := f.From
	if from == "" {
		from = "kizuna@localhost"
	}
	msg, err := (&SMTP{From: from}).message(m)
	if err != nil {
		return err
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, m.ID)
	tmp, err := os.CreateTemp(f.Dir, ".sending-*")
	if err != nil {
		return err
	}
	if m.ID == "" {
		name = strings.TrimPrefix(filepath.Base(tmp.Name()), ".sending-")
	}
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	// Sync before the rename: the queue marks the mail sent once Send
	// returns, so the file must survive a power cut from then on.
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(f.Dir, name+".eml"))
}
