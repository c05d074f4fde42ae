package loadtest

import (
	"bytes"
	"encoding/json"
	"io"
)

// frameKind is what a server frame is, as far as the load test cares.
type frameKind uint8

const (
	frameOther      frameKind = iota // hello, room.reset, accounts, pong…
	frameMessage                     // a message.created event
	frameOtherEvent                  // any other event
	frameAck
	frameError
	frameUnreadable
)

// serverFrame is the part of a server frame the load test reads. Its
// byte slices point into the frame read, valid until the next read.
type serverFrame struct {
	kind      frameKind
	pos       int64  // events: the position a resuming client gives back
	senderID  []byte // frameMessage
	clientMsg []byte // frameMessage
	code      string // frameError
}

// Scanning the exact shape the server writes: service.EventFrame and
// service.MessageView in field order, as encoding/json writes them.
var (
	eventStart   = []byte(`{"type":"event","pos":`)
	kindKey      = []byte(`,"kind":"`)
	createdKind  = []byte(`message.created`)
	senderKey    = []byte(`"sender_id":"`)
	clientMsgKey = []byte(`","client_msg_id":"`)
	ackStart     = []byte(`{"type":"ack"`)
)

// parseFrame reads one server frame. Every simulated client receives
// tens of events a second and all of them share the server's machine, so
// the frames the server sends most — message events and acks — are
// scanned where they lie rather than decoded: no allocation, no
// reflection. Anything not in exactly that shape (an error, a hello, a
// server that writes its fields in another order) goes through
// encoding/json, so a change on the server costs speed, never counts.
func parseFrame(b []byte) serverFrame {
	if f, ok := scanFrame(b); ok {
		return f
	}
	return decodeFrame(b)
}

// scanFrame is parseFrame's fast path; false when b is not in the shape
// it knows.
func scanFrame(b []byte) (serverFrame, bool) {
	if rest, ok := bytes.CutPrefix(b, ackStart); ok {
		// An ack carries the message stored; the sender needs only to
		// know that it was accepted.
		if len(rest) > 0 && (rest[0] == ',' || rest[0] == '}') {
			return serverFrame{kind: frameAck}, true
		}
		return serverFrame{}, false
	}
	rest, ok := bytes.CutPrefix(b, eventStart)
	if !ok {
		return serverFrame{}, false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	pos, ok := parseDecimal(rest[:i])
	if !ok {
		return serverFrame{}, false
	}
	rest, ok = bytes.CutPrefix(rest[i:], kindKey)
	if !ok {
		return serverFrame{}, false
	}
	kind, rest, ok := scanString(rest)
	if !ok {
		return serverFrame{}, false
	}
	if !bytes.Equal(kind, createdKind) {
		return serverFrame{kind: frameOtherEvent, pos: pos}, true
	}
	// A key with its quotes and colon cannot occur inside a JSON string
	// (a quote there is escaped), so the first match is the key itself;
	// message is the only object in the frame that has one.
	i = bytes.Index(rest, senderKey)
	if i < 0 {
		return serverFrame{}, false
	}
	sender, rest, ok := scanString(rest[i+len(senderKey):])
	if !ok {
		return serverFrame{}, false
	}
	// client_msg_id follows sender_id in MessageView (rest starts at the
	// sender's closing quote).
	rest, ok = bytes.CutPrefix(rest, clientMsgKey)
	if !ok {
		return serverFrame{}, false
	}
	cid, _, ok := scanString(rest)
	if !ok {
		return serverFrame{}, false
	}
	return serverFrame{kind: frameMessage, pos: pos, senderID: sender, clientMsg: cid}, true
}

// scanString reads a JSON string's content up to its closing quote and
// returns it and the rest from that quote on. Escapes are refused (false):
// the values scanned — IDs, event kinds, the generator's own client
// message IDs — have none, and anything else is encoding/json's to read.
func scanString(b []byte) (value, rest []byte, ok bool) {
	for i, c := range b {
		switch {
		case c == '"':
			return b[:i], b[i:], true
		case c == '\\' || c < 0x20:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// decodeFrame is parseFrame's slow path.
func decodeFrame(b []byte) serverFrame {
	var f struct {
		Type    string `json:"type"`
		Pos     int64  `json:"pos"`
		Kind    string `json:"kind"`
		Message *struct {
			SenderID    string `json:"sender_id"`
			ClientMsgID string `json:"client_msg_id"`
		} `json:"message"`
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &f) != nil {
		return serverFrame{kind: frameUnreadable}
	}
	switch f.Type {
	case "ack":
		return serverFrame{kind: frameAck}
	case "error":
		code := "unknown"
		if f.Error != nil && f.Error.Code != "" {
			code = f.Error.Code
		}
		return serverFrame{kind: frameError, code: code}
	case "event":
		if f.Kind != "message.created" || f.Message == nil {
			return serverFrame{kind: frameOtherEvent, pos: f.Pos}
		}
		return serverFrame{kind: frameMessage, pos: f.Pos, senderID: []byte(f.Message.SenderID), clientMsg: []byte(f.Message.ClientMsgID)}
	}
	return serverFrame{kind: frameOther}
}

// readMessage reads a whole WebSocket message into buf, grown as needed
// and kept by the caller for the next one: the library's Read allocates
// a new slice for every message, which at tens of thousands of messages
// a second is much of the generator's garbage.
func readMessage(r io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
