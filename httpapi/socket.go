package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The buffers a WebSocket keeps for its whole life. net/http hands over
// 4 KiB for reading and 4 KiB for writing on hijack, which is most of what
// an idle connection costs; these are enough for a client's frames (a
// bigger frame is read straight into the message) and for a control frame
// (125 bytes of payload and its header) in one write.
const (
	socketReadBuffer  = 512
	socketWriteBuffer = 128
)

// smallBuffers is the ResponseWriter handed to the WebSocket upgrade: its
// Hijack gives the connection small buffers, and a writer that can gather
// several messages into one write (see socketWriter).
type smallBuffers struct {
	http.ResponseWriter
	sock *socketWriter // set by Hijack
}

// Hijack implements http.Hijacker.
func (w *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// Bytes the client sent right after its handshake sit in net/http's
	// buffer: carry them over, buffered, so the upgrade (which re-wraps the
	// reader around the connection and whatever is still buffered) sees
	// them.
	r := bufio.NewReaderSize(conn, socketReadBuffer)
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n)
		r = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn), max(socketReadBuffer, n))
		r.Peek(n) // fills from the early bytes only
	}
	w.sock = &socketWriter{conn: conn}
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(w.sock, socketWriteBuffer)), nil
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (w *smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// socketWriter is what the WebSocket library writes to. Between gather
// and send it collects everything written (several messages, and any
// control frame another goroutine writes meanwhile) in a pooled buffer
// and sends it with one write: under load a connection then costs one
// system call per batch of events, and no buffer while idle. Outside a
// batch it writes through. Every write to the socket has a deadline, so
// a client that stops reading cannot hold a writer forever.
type socketWriter struct {
	conn net.Conn

	mu       sync.Mutex
	batch    *[]byte   // non-nil between gather and send
	deadline time.Time // the write deadline last set
}

// armDeadline makes sure the next write ends within writeWait: it moves
// the deadline only when less than three quarters of writeWait is left.
// Setting it before every write was 3.6% of the server's CPU profile at 5,000
// messages/s (45,000 socket writes a second). Called with mu held.
func (w *socketWriter) armDeadline() {
	now := time.Now()
	if w.deadline.Sub(now) >= writeWait*3/4 {
		return
	}
	w.deadline = now.Add(writeWait)
	w.conn.SetWriteDeadline(w.deadline)
}

var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// maxPooledBatch keeps an occasional huge catch-up from pinning memory.
const maxPooledBatch = 256 << 10

func (w *socketWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.batch != nil {
		*w.batch = append(*w.batch, p...)
		return len(p), nil
	}
	w.armDeadline()
	return w.conn.Write(p)
}

// gather starts collecting writes.
func (w *socketWriter) gather() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.batch == nil {
		b := batchBuffers.Get().(*[]byte)
		*b = (*b)[:0]
		w.batch = b
	}
}

// send writes what was gathered, in one write, and stops gathering.
func (w *socketWriter) send() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.batch
	if b == nil {
		return nil
	}
	w.batch = nil
	var err error
	if len(*b) > 0 {
		w.armDeadline()
		_, err = w.conn.Write(*b)
	}
	if cap(*b) <= maxPooledBatch {
		batchBuffers.Put(b)
	}
	return err
}

// gathered is how much waits to be sent.
func (w *socketWriter) gathered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.batch == nil {
		return 0
	}
	return len(*w.batch)
}
