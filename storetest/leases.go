package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/store"
)

func testLeases(t *testing.T, st store.Store) {
	ctx := context.Background()
	tick := setClock(st)
	take := func(holder string) bool {
		t.Helper()
		ok, err := st.TakeLease(ctx, "purge", holder, time.Hour)
		must(t, err)
		return ok
	}
	if !take("n1") || take("n2") {
		t.Fatal("the first taker must hold the lease alone")
	}
	if !take("n1") {
		t.Error("the holder cannot renew")
	}
	if tick == nil {
		return
	}
	tick(61 * time.Minute)
	if !take("n2") || take("n1") {
		t.Error("an expired lease must pass to the next taker, and only to it")
	}
	// Many nodes at once: one wins.
	tick(2 * time.Hour)
	var wg sync.WaitGroup
	wins := make(chan string, 8)
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := st.TakeLease(ctx, "purge", n, time.Hour); err == nil && ok {
				wins <- n
			}
		}()
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Errorf("%d nodes took the lease at once, want 1", n)
	}
}
