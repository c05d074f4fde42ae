package store

// Contacts stores external contacts, contact codes and the approval queue
// (R9).
type Contacts interface {
}
