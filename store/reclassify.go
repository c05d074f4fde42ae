package store

// Reclassification stores hand-overs of a person's rooms between their
// internal and external accounts (issue 4).
type Reclassification interface {
}
