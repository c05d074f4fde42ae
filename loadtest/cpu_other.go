//go:build !unix

package loadtest

// selfCPUSeconds has no getrusage to read here; ReadSelf keeps what /proc
// gave, if anything.
func selfCPUSeconds() (float64, bool) { return 0, false }
