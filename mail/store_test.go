package mail_test

import (
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/sqlstore"
	"github.com/kizuna-chat/kizuna/store"
	"github.com/kizuna-chat/kizuna/storetest"
)

// clocked lets the store suite set the store's clock.
type clocked struct{ *sqlstore.DB }

func (c clocked) SetNow(now func() time.Time) { c.DB.Now = now }

var _ storetest.Clock = clocked{}

// TestMailQueue runs the mail queue's store suite on both engines (the
// PostgreSQL run needs KIZUNA_TEST_DATABASE_URL).
func TestMailQueue(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			storetest.RunMail(t, func(t *testing.T) store.Store { return clocked{eng.Open(t)} })
		})
	}
}
