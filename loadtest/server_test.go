package loadtest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/service"
)

// StartTestServer runs a real server for the load generator's tests (an
// empty SQLite store, HTTP and WebSockets, a fast password hash) and
// returns an API on it and its setup token. Exported for the external
// tests of this package only: it lives in a _test.go file.
func StartTestServer(t testing.TB) (*API, string) {
	t.Helper()
	st := testdb.SQLite(t)
	svc := service.New(st, password.NewHasher(password.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 0), service.Config{}, slog.New(slog.DiscardHandler))
	t.Cleanup(svc.Close)
	srv := httptest.NewServer(httpapi.New(svc, slog.New(slog.DiscardHandler), "http://kizuna.test", st))
	t.Cleanup(srv.Close)
	token, err := svc.Tenants.SetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return NewAPI(srv.URL), token
}
