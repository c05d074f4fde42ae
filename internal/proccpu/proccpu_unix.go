//go:build unix

package proccpu

import (
	"syscall"
	"time"
)

// Time returns the process's user and system CPU time; false when the
// system cannot tell.
func Time() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
