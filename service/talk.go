package service

// TalkService runs rooms and messages.
type TalkService struct{ *deps }
