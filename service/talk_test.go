package service

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/hub"
	"github.com/kizuna-chat/kizuna/store"
)

// The writer's gathering: what is queued joins the batch, a full batch
// ends the wait at once, and a quiet queue ends it after the window.
func TestTalkGather(t *testing.T) {
	t.Parallel()
	ts := &TalkService{queue: make(chan *pendingOp, 2*maxBatch)}
	window := time.NewTimer(time.Hour)
	window.Stop()
	first := &pendingOp{}

	began := time.Now()
	batch := ts.gather([]*pendingOp{first}, window)
	if len(batch) != 1 || batch[0] != first {
		t.Fatalf("nothing queued: batch of %d, want the first op alone", len(batch))
	}
	if waited := time.Since(began); waited < gatherFor {
		t.Errorf("nothing queued: returned after %v, want the whole window (%v)", waited, gatherFor)
	}

	for range 3 {
		ts.queue <- &pendingOp{}
	}
	if batch := ts.gather([]*pendingOp{first}, window); len(batch) != 4 {
		t.Errorf("3 queued: batch of %d, want 4", len(batch))
	}

	for range maxBatch + 10 {
		ts.queue <- &pendingOp{}
	}
	if batch := ts.gather([]*pendingOp{first}, window); len(batch) != maxBatch {
		t.Errorf("more queued than a batch holds: batch of %d, want %d", len(batch), maxBatch)
	}
	if left := len(ts.queue); left != 11 {
		t.Errorf("%d left queued, want 11 for the next batch", left)
	}
}

// The writer waits for more only under steady traffic from many accounts,
// and only while its batch is small.
func TestTalkGatherPolicy(t *testing.T) {
	t.Parallel()
	batchOf := func(first, n int) []*pendingOp {
		b := make([]*pendingOp, n)
		for i := range b {
			b[i] = &pendingOp{op: store.TalkOp{ActorID: fmt.Sprintf("acct-%d", first+i)}}
		}
		return b
	}
	now := time.Unix(1_700_000_000, 0)
	run := func(g *gatherPolicy, accounts int) {
		for i := range sketchPeriod {
			now = now.Add(time.Millisecond)
			g.committed(batchOf(i*2%accounts, 2), now)
		}
	}

	var g gatherPolicy
	if g.wait(1, now) {
		t.Error("a fresh writer waits; want it to commit at once")
	}
	run(&g, 1000)
	if !g.wait(1, now.Add(time.Millisecond)) {
		t.Error("steady traffic from 1,000 accounts: no wait, want one")
	}
	if g.wait(gatherBelow, now.Add(time.Millisecond)) {
		t.Errorf("a batch of %d waits; want it committed at once", gatherBelow)
	}
	if g.wait(1, now.Add(steadyWithin)) {
		t.Error("a write after a quiet spell waits; want it committed at once")
	}
	run(&g, 8)
	if g.wait(1, now.Add(time.Millisecond)) {
		t.Error("8 busy accounts (a hot room): the writer waits; want it to commit at once")
	}
	run(&g, 1000)
	if !g.wait(1, now.Add(time.Millisecond)) {
		t.Error("many accounts again: no wait, want one")
	}
}

// applyRecorder is a store whose talk transactions only record their
// ops; the rest of store.Store is absent.
type applyRecorder struct {
	store.Store
	applied chan string
}

func (a applyRecorder) ApplyTalk(_ context.Context, ops []store.TalkOp) ([]store.TalkResult, error) {
	for _, op := range ops {
		a.applied <- op.ActorID
	}
	return make([]store.TalkResult, len(ops)), nil
}

// The writer commits the next batch while the one before is still being
// answered, and the answers come in commit order.
func TestTalkWriterCommitsWhilePublishing(t *testing.T) {
	t.Parallel()
	st := applyRecorder{applied: make(chan string, 16)}
	ts := newTalkService(&deps{store: st, log: slog.New(slog.DiscardHandler)}, &hub.Local{})
	defer ts.Close()
	answered := make(chan string, 16)
	release := make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release) // a failure must not leave Close waiting
		}
	}()
	first := func(store.TalkResult, error) {
		answered <- "first"
		<-release // the publisher is stuck answering the first batch
	}
	if err := ts.submitAsync(store.TalkOp{ActorID: "first"}, first); err != nil {
		t.Fatal(err)
	}
	within := func(c chan string, want string) {
		t.Helper()
		select {
		case got := <-c:
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %q within 5 s", want)
		}
	}
	within(st.applied, "first")
	within(answered, "first")

	if err := ts.submitAsync(store.TalkOp{ActorID: "second"}, func(store.TalkResult, error) { answered <- "second" }); err != nil {
		t.Fatal(err)
	}
	within(st.applied, "second") // committed while the first is unanswered
	select {
	case got := <-answered:
		t.Fatalf("%q answered before the first batch's answers ended", got)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	released = true
	within(answered, "second")
}
