package loadtest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// RunIdle opens conns WebSockets (the fixture's sessions, each used for
// several connections when there are fewer accounts than connections),
// lets them sit idle for settle, and reads how much the server's memory
// grew per connection. It needs the server's PID on this machine.
//
// Right after the connections open, the server's memory still holds the
// garbage of their handshakes (sign-in lookups, catch-up queries), which
// a server with nothing else to do collects only at the Go runtime's
// periodic GC, about two minutes later; a settle past that reads what the
// idle connections themselves keep.
func RunIdle(ctx context.Context, api *API, fx *Fixture, conns int, settle time.Duration, pid int, progress func(string, ...any)) (*Report, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("the idle profile measures the server's memory: give --pid")
	}
	before, err := ReadProcess(pid)
	if err != nil {
		return nil, err
	}
	opened := make([]*websocket.Conn, conns)
	var mu sync.Mutex
	done := 0
	err = parallel(ctx, conns, 64, func(i int) error {
		c, err := api.Dial(ctx, fx.Accounts[i%len(fx.Accounts)].Token, 0)
		if err != nil {
			return err
		}
		if _, _, err := c.Read(ctx); err != nil {
			return err
		}
		opened[i] = c
		mu.Lock()
		done++
		if done%1000 == 0 {
			progress("connections open: %d/%d", done, conns)
		}
		mu.Unlock()
		return nil
	})
	defer func() {
		for _, c := range opened {
			if c != nil {
				c.CloseNow()
			}
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("opening connections: %w", err)
	}
	// The connections' own reads keep pings answered while idle.
	for _, c := range opened {
		c.CloseRead(ctx)
	}
	progress("%d connections idle; settling for %v", conns, settle)
	for waited := time.Duration(0); waited < settle; waited += 5 * time.Second {
		time.Sleep(min(5*time.Second, settle-waited))
		if now, err := ReadProcess(pid); err == nil && waited+5*time.Second < settle {
			progress("after %v: %.1f KiB per connection", waited+5*time.Second, (now.RSSMiB-before.RSSMiB)*1024/float64(conns))
		}
	}
	runtime.GC()
	after, err := ReadProcess(pid)
	if err != nil {
		return nil, err
	}
	return &Report{Profile: "idle", Clients: conns, Seconds: settle.Seconds(), ServerBefore: &before, ServerAfter: &after,
		IdleBytesPerConnection: (after.RSSMiB - before.RSSMiB) * 1024 * 1024 / float64(conns)}, nil
}

// idleText reports the idle profile: memory, with no traffic to show.
func (r *Report) idleText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile idle: %d WebSockets held open, settled %.0fs\n", r.Clients, r.Seconds)
	if r.ServerAfter != nil && r.ServerBefore != nil {
		fmt.Fprintf(&b, "  server RSS          %.0f MiB before connecting, %.0f MiB after settling (peak %.0f MiB)\n",
			r.ServerBefore.RSSMiB, r.ServerAfter.RSSMiB, r.ServerAfter.PeakRSSMiB)
	}
	fmt.Fprintf(&b, "  server memory per idle connection: %.1f KiB\n", r.IdleBytesPerConnection/1024)
	b.WriteString(r.generatorText())
	return b.String()
}
