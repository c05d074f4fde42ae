//go:build !linux

package sqlite

import "os"

// datasync writes f's data to disk (fsync where fdatasync is missing).
func datasync(f *os.File) error { return f.Sync() }
