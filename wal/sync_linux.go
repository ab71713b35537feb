package wal

import (
	"os"
	"syscall"
)

// datasync uses fdatasync: appends change the file size, which fdatasync
// covers, but not the timestamps a full fsync would also write.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
