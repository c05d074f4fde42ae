package httpapi_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kizuna-chat/kizuna/internal/testdb"
)

// TestConcurrentDomainDeleteAndRename has two admins delete the same
// domain while others rename it, all at once: one deletion wins at most,
// every answer is a clear one, and the store stays consistent — the
// member is in exactly one live domain and signs in there.
func TestConcurrentDomainDeleteAndRename(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, eng.Open)
			var dept, main string
			for _, d := range domainsOf(t, w, "owner") {
				switch d.Name {
				case "dept.acme.example":
					dept = d.ID
				case "acme.example":
					main = d.ID
				}
			}
			var wg sync.WaitGroup
			type answer struct {
				op     string
				status int
				body   string
			}
			answers := make(chan answer, 12)
			for i := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					actor := []string{"owner", "admin"}[i%2]
					if i < 3 {
						code, body := w.do(actor, "DELETE", "/api/v1/domains/"+dept, fmt.Sprintf(`{"members":"move","move_to":%q,"confirm":"dept.acme.example"}`, main))
						answers <- answer{"delete", code, body}
						return
					}
					code, body := w.do(actor, "PATCH", "/api/v1/domains/"+dept, fmt.Sprintf(`{"name":"race%d.acme.example"}`, i))
					answers <- answer{"rename", code, body}
				}()
			}
			wg.Wait()
			close(answers)
			deleted := 0
			for a := range answers {
				switch {
				case a.op == "delete" && a.status == 204:
					deleted++
				case a.status >= 500:
					t.Errorf("%s answered %d: %s", a.op, a.status, a.body)
				case a.status >= 400 && !strings.Contains(a.body, `"code"`):
					t.Errorf("%s answered %d without a code: %s", a.op, a.status, a.body)
				}
			}
			if deleted > 1 {
				t.Fatalf("the domain was deleted %d times", deleted)
			}
			var me struct {
				Account struct {
					SignInID string `json:"sign_in_id"`
				}
			}
			w.decode(w.must("member", "GET", "/api/v1/me", "", 200), &me)
			id := me.Account.SignInID
			live := map[string]bool{}
			for _, d := range domainsOf(t, w, "owner") {
				live[d.Name] = true
			}
			_, domain, _ := strings.Cut(id, "@")
			if !live[domain] {
				t.Fatalf("sato is %s, but %s is not a live domain (%v)", id, domain, live)
			}
			if deleted == 1 && (id != "sato@acme.example" || live["dept.acme.example"]) {
				t.Errorf("after the deletion sato is %s and domains are %v", id, live)
			}
			w.signIn("after", id, "a fine new passphrase")
		})
	}
}
