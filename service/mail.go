package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// Notifier wakes the mail worker after mail is queued.
type Notifier interface{ Notify() }

// MailService shows admins the mail their tenant sent and lets them retry
// failures.
type MailService struct{ *deps }

// List returns the tenant's mail, newest first (admins only).
func (s *MailService) List(ctx context.Context, status, before string, limit int) ([]*store.OutgoingMail, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	if status != "" && status != store.MailPending && status != store.MailSent && status != store.MailFailed {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_query", "status must be pending, sent or failed.")
	}
	if limit <= 0 || limit > MaxPageSize {
		limit = DefaultPageSize
	}
	return s.store.ListMail(ctx, a.Account.TenantID, status, before, limit)
}

// Retry sends a failed mail again (admins only). Errors: not_found.
func (s *MailService) Retry(ctx context.Context, id string) error {
	a, err := admin(ctx)
	if err != nil {
		return err
	}
	if err := s.store.RetryMail(ctx, a.Account.TenantID, id); err != nil {
		return err
	}
	s.notifyMail()
	return nil
}

func (d *deps) notifyMail() {
	if d.cfg.Mailer != nil {
		d.cfg.Mailer.Notify()
	}
}

// queueInvitation queues the invitation mail for a member with a fresh
// initial password: the same content as the sheet (R7). It never waits
// for a mail server.
func (d *deps) queueInvitation(ctx context.Context, a *kizuna.Account, pw string, e SheetEntry) error {
	if a.ContactMail == "" {
		return kizuna.Errorf(kizuna.ErrInvalid, "no_contact_mail", "The member has no contact mail address; print the sheet instead.")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s さん\n\n%s のアカウントが発行されました。\nYour %s account is ready.\n\n", a.DisplayName, e.TenantName, e.TenantName)
	fmt.Fprintf(&b, "ログインID / ID:            %s\n", a.Address())
	fmt.Fprintf(&b, "初期パスワード / Password:  %s\n", pw)
	if !e.PasswordExpiresAt.IsZero() {
		fmt.Fprintf(&b, "有効期限 / Valid until:     %s\n", e.PasswordExpiresAt.UTC().Format("2006-01-02 15:04 MST"))
	}
	fmt.Fprintf(&b, "ログインページ / Sign in:   %s\n\n", e.SignInURL)
	b.WriteString("1. ログインページを開き、上記のIDと初期パスワードでログインします。\n   Open the sign-in page and sign in with this ID and initial password.\n")
	b.WriteString("2. 新しいパスワードを設定します。初期パスワードは使えなくなります。\n   Choose a new password; the initial one then stops working.\n\n")
	b.WriteString("このメールに心当たりがない場合は破棄してください。 If you did not expect this mail, delete it.\n")
	m := &store.OutgoingMail{ID: kizuna.NewID(), TenantID: a.TenantID, AccountID: a.ID, Kind: "invitation", To: a.ContactMail,
		Subject: fmt.Sprintf("[%s] ログイン情報のご案内 / Your sign-in details", e.TenantName), Text: b.String()}
	if err := d.store.EnqueueMail(ctx, m); err != nil {
		return err
	}
	d.notifyMail()
	return nil
}
