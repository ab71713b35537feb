package bench

import (
	"os"
	"testing"
)

func TestAnonHugePages(t *testing.T) {
	rollup := "00400000-7ffc9d1f6000 ---p 00000000 00:00 0                          [rollup]\n" +
		"Rss:              916452 kB\nAnonymous:        905000 kB\nAnonHugePages:    825344 kB\nShmemPmdMapped:        0 kB\n"
	if got, err := anonHugePages(rollup); err != nil || got != 825344<<10 {
		t.Errorf("anonHugePages = %d, %v; want %d", got, err, 825344<<10)
	}
	for _, bad := range []string{"Rss: 1 kB\n", "AnonHugePages: x kB\n", "AnonHugePages: 12\n"} {
		if got, err := anonHugePages(bad); err == nil {
			t.Errorf("anonHugePages(%q) = %d, want an error", bad, got)
		}
	}
	// The running kernel's file has the line (every Linux since 4.14).
	if _, err := AnonHugePages(os.Getpid()); err != nil {
		t.Errorf("own process: %v", err)
	}
}
