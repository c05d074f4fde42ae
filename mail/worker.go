package mail

import (
	"context"
	"log/slog"
	"time"

	"github.com/kizuna-chat/kizuna/store"
)

// Backoff is how long a failed mail waits before each retry; after the
// last one it is failed for good (admins can retry it by hand).
var Backoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour}

// Worker delivers queued mail. Run one per node: claims keep two workers
// from sending the same mail.
type Worker struct {
	Queue     store.MailQueue
	Transport Transport
	Log       *slog.Logger
	// Poll is how often the queue is checked without a Notify; 0 means 5s.
	Poll time.Duration
	// SendTimeout bounds one delivery; 0 means 60s.
	SendTimeout time.Duration
	// Backoff overrides the package's retry schedule (tests).
	Backoff []time.Duration

	wake chan struct{}
}

// NewWorker returns a worker for a queue and a transport.
func NewWorker(q store.MailQueue, t Transport, log *slog.Logger) *Worker {
	return &Worker{Queue: q, Transport: t, Log: log, wake: make(chan struct{}, 1)}
}

// Notify wakes the worker after an enqueue; it never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers mail until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	poll := w.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.Log.Warn("mail queue", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// RunOnce claims and delivers one batch of due mail and returns how many
// it tried.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	timeout := w.SendTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	batch, err := w.Queue.ClaimDueMail(ctx, 20, 2*timeout)
	if err != nil {
		return 0, err
	}
	backoff := w.Backoff
	if backoff == nil {
		backoff = Backoff
	}
	for _, m := range batch {
		sendCtx, cancel := context.WithTimeout(ctx, timeout)
		err := w.Transport.Send(sendCtx, Message{ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text})
		cancel()
		if err == nil {
			if err := w.Queue.MarkMailSent(ctx, m.ID); err != nil {
				return len(batch), err
			}
			continue
		}
		var retryAt time.Time
		if !IsPermanent(err) && m.Attempts <= len(backoff) {
			retryAt = time.Now().Add(backoff[m.Attempts-1])
		}
		w.Log.Warn("mail not delivered", "mail", m.ID, "attempt", m.Attempts, "retry_at", retryAt, "err", err)
		if err := w.Queue.MarkMailFailed(ctx, m.ID, err.Error(), retryAt); err != nil {
			return len(batch), err
		}
	}
	return len(batch), nil
}
