package httpapi

import (
	"net"
	"testing"
	"time"
)

// deadlineConn records the write deadlines set on it.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.set = append(c.set, t)
	return nil
}

// Every write has a deadline at most writeWait away, but it is moved only
// when a quarter of writeWait has passed.
func TestSocketWriterDeadline(t *testing.T) {
	t.Parallel()
	conn := &deadlineConn{}
	w := &socketWriter{conn: conn}
	before := time.Now()
	w.armDeadline()
	if len(conn.set) != 1 {
		t.Fatalf("first write: %d deadlines set, want 1", len(conn.set))
	}
	if d := conn.set[0].Sub(before); d < writeWait || d > writeWait+time.Second {
		t.Errorf("first deadline %v away, want writeWait (%v)", d, writeWait)
	}
	w.armDeadline()
	if len(conn.set) != 1 {
		t.Errorf("second write right after: %d deadlines set, want the first kept", len(conn.set))
	}
	// As if a third of writeWait had passed since.
	w.deadline = time.Now().Add(writeWait * 2 / 3)
	w.armDeadline()
	if len(conn.set) != 2 {
		t.Fatalf("with %v left: %d deadlines set, want a new one", writeWait*2/3, len(conn.set))
	}
	if d := time.Until(conn.set[1]); d < writeWait*9/10 {
		t.Errorf("moved deadline %v away, want writeWait (%v)", d, writeWait)
	}
}
