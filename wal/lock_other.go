//go:build !unix || solaris || aix

package wal

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir only creates dir/LOCK: without flock there is no exclusion.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("wal: lock %s: %w", dir, err)
	}
	return f, nil
}
