package mail

import (
	"context"
	"log/slog"
	"time"

	"github.com/kizuna-chat/kizuna/store"
)

// Backoff is how long a failed mail waits before each retry; retries after
// the last step wait as long as the last step.
var Backoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour}

// MaxAttempts is how many deliveries a mail gets before it is failed for
// good (about 21 hours with Backoff); admins can still retry it by hand,
// which grants one more attempt.
const MaxAttempts = 8

// Worker delivers queued mail. Run one per node: claims keep two workers
// from sending the same mail. Delivery is at least once: a node that stops
// between a successful send and recording it sends that mail again after
// the claim's lease ends.
type Worker struct {
	Queue     store.MailQueue
	Transport Transport
	Log       *slog.Logger
	// Poll is how often the queue is checked without a Notify; 0 means 5s.
	Poll time.Duration
	// SendTimeout bounds one delivery; 0 means 30s.
	SendTimeout time.Duration
	// BatchSize is how many mails one claim takes; 0 means 10. The claim's
	// lease covers the whole batch at SendTimeout each, so a slow server
	// cannot make a claim expire while its mail is still being sent.
	BatchSize int
	// Backoff overrides the package's retry schedule.
	Backoff []time.Duration
	// MaxAttempts overrides the package's MaxAttempts.
	MaxAttempts int
	// Now is the clock for retry times; nil means time.Now. The queue's
	// own clock decides which mail is due.
	Now func() time.Time

	wake chan struct{}
}

// NewWorker returns a worker for a queue and a transport; set its fields
// before Run to change the defaults.
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
		for ctx.Err() == nil {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.Log.Warn("mail queue", "err", err)
			}
			if n < w.batchSize() || err != nil {
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

func (w *Worker) batchSize() int {
	if w.BatchSize > 0 {
		return w.BatchSize
	}
	return 10
}

func (w *Worker) sendTimeout() time.Duration {
	if w.SendTimeout > 0 {
		return w.SendTimeout
	}
	return 30 * time.Second
}

// RetryAt returns when a mail whose attempt number attempt (counting from
// 1) just failed with err is tried again, or the zero time when it is
// failed for good: a permanent error or the last allowed attempt.
func (w *Worker) RetryAt(attempt int, err error) time.Time {
	maxAttempts := w.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = MaxAttempts
	}
	backoff := w.Backoff
	if len(backoff) == 0 {
		backoff = Backoff
	}
	if IsPermanent(err) || attempt >= maxAttempts {
		return time.Time{}
	}
	step := min(max(attempt-1, 0), len(backoff)-1)
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	return now().Add(backoff[step])
}

// RunOnce claims and delivers one batch of due mail and returns how many
// it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	timeout, size := w.sendTimeout(), w.batchSize()
	batch, err := w.Queue.ClaimDueMail(ctx, size, time.Duration(size+1)*timeout)
	if err != nil {
		return 0, err
	}
	// Recording an outcome must not be lost to a shutdown that arrives
	// just after a send, or the mail would be sent again.
	record := context.WithoutCancel(ctx)
	for i, m := range batch {
		if ctx.Err() != nil {
			// Unsent claims are taken again when their lease ends.
			return i, ctx.Err()
		}
		sendCtx, cancel := context.WithTimeout(ctx, timeout)
		err := w.Transport.Send(sendCtx, Message{ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text})
		cancel()
		if err == nil {
			if err := w.Queue.MarkMailSent(record, m.ID); err != nil {
				return len(batch), err
			}
			w.Log.Info("mail sent", "mail", m.ID, "kind", m.Kind, "attempt", m.Attempts)
			continue
		}
		retryAt := w.RetryAt(m.Attempts, err)
		w.Log.Warn("mail not delivered", "mail", m.ID, "kind", m.Kind, "attempt", m.Attempts, "retry_at", retryAt, "err", err)
		if err := w.Queue.MarkMailFailed(record, m.ID, err.Error(), retryAt); err != nil {
			return len(batch), err
		}
	}
	return len(batch), nil
}
