//go:build !unix

package proccpu

import "time"

// Time returns false: there is no getrusage here.
func Time() (time.Duration, bool) { return 0, false }
