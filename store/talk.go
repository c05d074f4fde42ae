package store

// Talk stores rooms, messages, read state and the room event log.
type Talk interface {
}
