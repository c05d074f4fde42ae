package sqlite

import (
	"os"
	"syscall"
)

// datasync writes f's data and size to disk (fdatasync(2)), as SQLite's
// own syncs do here (see useFdatasync).
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	if cerr := rc.Control(func(fd uintptr) { err = syscall.Fdatasync(int(fd)) }); cerr != nil {
		return cerr
	}
	return err
}
