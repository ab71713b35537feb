// Package waltest holds test helpers for code that keeps a WAL.
package waltest

import (
	"os"
	"path/filepath"
	"testing"
)

// CopyDir snapshots the WAL directory from into to (created if missing) as a crash
// would leave it: every file as written so far, closed or not, except the lock file
// the running WAL holds (wal's "LOCK"). It does not import wal, so wal's own tests
// can use it.
func CopyDir(t testing.TB, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "LOCK" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
