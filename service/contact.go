package service

// ContactService manages external contacts, the approval queue and the
// external-talk policy (R9).
type ContactService struct{ *deps }
