package service

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/kizuna-chat/kizuna"
)

// SheetTicketTTL is how long the initial passwords of a fresh issue can be
// printed. Afterwards no sheet shows them: the admin reissues (R7).
const SheetTicketTTL = time.Hour

// IssuedPassword is one initial password waiting on a sheet.
type IssuedPassword struct {
	AccountID string    `json:"a"`
	Password  string    `json:"p"`
	ExpiresAt time.Time `json:"e"`
}

// The ticket is the key. The store keeps only the ID derived from it and
// the passwords encrypted with a key derived from it, so a database dump
// holds no usable initial password.
func ticketID(ticket string) string {
	sum := sha256.Sum256([]byte("kizuna sheet id\x00" + ticket))
	return hex.EncodeToString(sum[:16])
}

func ticketAEAD(ticket string) cipher.AEAD {
	key := sha256.Sum256([]byte("kizuna sheet key\x00" + ticket))
	block, _ := aes.NewCipher(key[:])
	aead, _ := cipher.NewGCM(block)
	return aead
}

// newSheetTicket stores issued passwords for printing and returns the
// ticket that unlocks them.
func (d *deps) newSheetTicket(ctx context.Context, tenantID string, issued []IssuedPassword) (string, error) {
	ticket := "kzt_" + randomToken()
	plain, err := json.Marshal(issued)
	if err != nil {
		return "", err
	}
	aead := ticketAEAD(ticket)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, plain, []byte(tenantID))
	if err := d.store.PutSheetTicket(ctx, ticketID(ticket), tenantID, sealed, d.now().Add(SheetTicketTTL)); err != nil {
		return "", err
	}
	return ticket, nil
}

var errTicketGone = kizuna.Errorf(kizuna.ErrNotFound, "sheet_expired",
	"The initial passwords of this sheet can no longer be shown; reissue them to print a new sheet.")

// openSheetTicket returns the passwords a ticket unlocks.
func (d *deps) openSheetTicket(ctx context.Context, tenantID, ticket string) ([]IssuedPassword, error) {
	sealed, err := d.store.SheetTicket(ctx, tenantID, ticketID(ticket))
	if errors.Is(err, kizuna.ErrNotFound) {
		return nil, errTicketGone
	}
	if err != nil {
		return nil, err
	}
	aead := ticketAEAD(ticket)
	if len(sealed) < aead.NonceSize() {
		return nil, errTicketGone
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(tenantID))
	if err != nil {
		return nil, errTicketGone
	}
	var issued []IssuedPassword
	if err := json.Unmarshal(plain, &issued); err != nil {
		return nil, errTicketGone
	}
	return issued, nil
}
