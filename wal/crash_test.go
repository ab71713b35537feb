package wal

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// crashDirEnv makes the test binary run crashChild instead of tests.
const crashDirEnv = "STRATA_WAL_CRASH_DIR"

// TestCrashRecovery runs a child process that appends from 8 goroutines
// with SyncAlways and prints each record's id once Append returns, kills it
// with SIGKILL mid-way, and checks that replay holds every printed record.
// Rounds reuse the directory, so each child first recovers from the
// previous kill.
func TestCrashRecovery(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(t, dir, os.Getenv(crashDirEnv+"_ROUND"))
		return
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	for round := range 3 {
		for _, id := range runAndKill(t, dir, round, 300+200*round) {
			acked[id] = true
		}
		checkCrashReplay(t, dir, acked)
	}
}

// runAndKill starts a child, kills it after killAfter acknowledgements and
// returns all it acknowledged, including lines written before it died.
func runAndKill(t *testing.T, dir string, round, killAfter int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprintf("%s_ROUND=%d", crashDirEnv, round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []string
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		if id, ok := strings.CutPrefix(scanner.Text(), "ack "); ok {
			acks = append(acks, id)
		}
		if len(acks) == killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("kill: %v", err)
			}
		}
	}
	err = cmd.Wait()
	if len(acks) < killAfter || err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child acknowledged %d records and exited with %v; stderr:\n%s", len(acks), err, stderr.String())
	}
	t.Logf("round %d: child killed after %d acknowledged records", round, len(acks))
	return acks
}

func checkCrashReplay(t *testing.T, dir string, acked map[string]bool) {
	t.Helper()
	w, recs, stats := openReplayed(t, Config{Dir: dir, SyncMode: SyncNone})
	t.Logf("replay: %d records, corruptions %v", stats.Records, stats.Corruptions)
	seen := map[string]bool{}
	for _, r := range recs {
		id, _, _ := strings.Cut(r.payload, ":")
		if r.payload != string(makePayload(id, len(r.payload))) {
			t.Fatalf("record %.40q is damaged", r.payload)
		}
		if seen[id] {
			t.Fatalf("record %s replayed twice", id)
		}
		seen[id] = true
	}
	for id := range acked {
		if !seen[id] {
			t.Errorf("acknowledged record %s is lost", id)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// crashChild appends until killed. Small segments make the kill land on
// segment changes too. It stops by itself after a bounded number of
// records in case the parent is gone.
func crashChild(t *testing.T, dir, round string) {
	w, err := Open(Config{Dir: dir, SegmentSize: 64 << 10, SyncMode: SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Replay(func(int, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20000 {
				id := fmt.Sprintf("r%s-g%d-%d", round, g, i)
				if _, err := w.Append(makePayload(id, 10+(i*37)%2000)); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				_, err := io.WriteString(os.Stdout, "ack "+id+"\n")
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
}
