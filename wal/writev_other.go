//go:build !unix

package wal

import "os"

// writeVectors writes bufs to f in order and returns how many bytes it wrote.
func writeVectors(f *os.File, bufs [][]byte) (int64, error) {
	var total int64
	for _, b := range bufs {
		n, err := f.Write(b)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
