package wal

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// crashDirEnv makes the test binary run crashChild instead of tests.
const crashDirEnv = "STRATA_WAL_CRASH_DIR"

// TestCrashRecovery runs a child process that appends from 8 goroutines
// with SyncAlways and prints each record's id and segment once Append
// returns, kills it with SIGKILL mid-way, and checks that replay holds every
// printed record in its segment. The child also truncates as an ingester
// does after flushes, printing the segment below which it drops records
// before each Truncate, so that kills land while segments go into spare
// files and new ones are written over them: no record of a truncated
// segment may come back, and none of the segments kept may be lost. Rounds
// reuse the directory, so each child first recovers from the previous kill.
func TestCrashRecovery(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(t, dir, os.Getenv(crashDirEnv+"_ROUND"))
		return
	}
	dir := t.TempDir()
	acked := map[string]int{} // id -> segment
	var trunc truncation
	recycled := 0
	for round := range 3 {
		acks, tr, r := runAndKill(t, dir, round, 300+200*round)
		for id, seg := range acks {
			acked[id] = seg
		}
		trunc.started = max(trunc.started, tr.started)
		trunc.done = max(trunc.done, tr.done)
		recycled += r
		checkCrashReplay(t, dir, acked, trunc)
	}
	if recycled == 0 {
		t.Error("no segment was started in a spare file: recycling went untested")
	}
}

// truncation is how far a child's Truncate calls went: segments below done
// are gone, those from started on are kept, and a kill may have cut the
// call between short.
type truncation struct{ started, done int }

// runAndKill starts a child, kills it after killAfter acknowledgements and
// returns all it acknowledged (id -> segment), including lines written
// before it died, how far it truncated, and how many segments it started
// in spare files.
func runAndKill(t *testing.T, dir string, round, killAfter int) (map[string]int, truncation, int) {
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
	acks := map[string]int{}
	var trunc truncation
	recycled := 0
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		var id string
		var seg int
		if _, err := fmt.Sscanf(scanner.Text(), "ack %s %d", &id, &seg); err == nil {
			acks[id] = seg
		} else if _, err := fmt.Sscanf(scanner.Text(), "truncate %d", &seg); err == nil {
			trunc.started = max(trunc.started, seg)
		} else if _, err := fmt.Sscanf(scanner.Text(), "truncated %d", &seg); err == nil {
			trunc.done = max(trunc.done, seg)
		} else if _, err := fmt.Sscanf(scanner.Text(), "recycled %d", &seg); err == nil {
			recycled = seg
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
	t.Logf("round %d: child killed after %d acknowledged records, truncating %+v, %d segments in spare files", round, len(acks), trunc, recycled)
	return acks, trunc, recycled
}

func checkCrashReplay(t *testing.T, dir string, acked map[string]int, trunc truncation) {
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
		if seg, ok := acked[id]; ok && seg != r.seg {
			t.Fatalf("record %s of segment %d replayed in segment %d", id, seg, r.seg)
		}
		if r.seg < trunc.done {
			t.Fatalf("record %s of truncated segment %d replayed", id, r.seg)
		}
	}
	for id, seg := range acked {
		if !seen[id] && seg >= trunc.started {
			t.Errorf("acknowledged record %s of segment %d is lost", id, seg)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// crashChild appends until killed, and every 50 records truncates below
// the segment before the one it last appended to. Small segments make the
// kill land on segment changes too. It stops by itself after a bounded
// number of records in case the parent is gone.
func crashChild(t *testing.T, dir, round string) {
	w, err := Open(Config{Dir: dir, SegmentSize: 64 << 10, SyncMode: SyncAlways, RecycleSegments: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Replay(func(int, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // orders the output, and counts
	var acks int
	var recycled int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20000 {
				id := fmt.Sprintf("r%s-g%d-%d", round, g, i)
				seg, err := w.Append(makePayload(id, 10+(i*37)%2000))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				_, err = fmt.Fprintf(os.Stdout, "ack %s %d\n", id, seg)
				if acks++; err == nil && acks%50 == 0 && seg > 1 {
					_, err = fmt.Fprintf(os.Stdout, "truncate %d\n", seg-1)
					if err == nil {
						err = w.Truncate(seg - 1)
					}
					if err == nil {
						_, err = fmt.Fprintf(os.Stdout, "truncated %d\n", seg-1)
					}
				}
				if r := w.Recycled(); err == nil && r > recycled {
					recycled = r
					_, err = fmt.Fprintf(os.Stdout, "recycled %d\n", r)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
}
