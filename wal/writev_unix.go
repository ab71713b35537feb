//go:build unix

package wal

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// maxIOV is the most buffers one writev takes (IOV_MAX on Linux and the BSDs).
const maxIOV = 1024

// writeVectors writes bufs to f in order with as few writev calls as it can,
// and returns how many bytes it wrote. It consumes bufs: partly written
// buffers are resliced in place.
func writeVectors(f *os.File, bufs [][]byte) (int64, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var total int64
	for len(bufs) > 0 {
		chunk := bufs[:min(len(bufs), maxIOV)]
		var n int
		var werr error
		if err := rc.Write(func(fd uintptr) bool {
			n, werr = unix.Writev(int(fd), chunk)
			return true
		}); err != nil {
			return total, err
		}
		if werr == unix.EINTR {
			continue
		}
		if werr != nil {
			return total, &os.PathError{Op: "writev", Path: f.Name(), Err: werr}
		}
		if n == 0 {
			return total, io.ErrShortWrite
		}
		total += int64(n)
		bufs = consumed(bufs, n)
	}
	return total, nil
}

// consumed drops the first n bytes of bufs.
func consumed(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}
