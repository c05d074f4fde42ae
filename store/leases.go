package store

import (
	"context"
	"time"
)

// Leases let background jobs run once across several nodes.
type Leases interface {
	// TakeLease gives the named lease to holder until now+ttl when it is
	// free, expired or already holder's (a renewal), and reports whether
	// holder has it now.
	TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
}
