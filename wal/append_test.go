package wal

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestAppendConcurrent checks that group commit loses, duplicates and
// reorders nothing: every record comes back once, each goroutine's records
// in the order it appended them, in the segment Append reported.
func TestAppendConcurrent(t *testing.T) {
	for name, tc := range map[string]struct {
		mode        SyncMode
		segmentSize int64
		batch       int
	}{
		"sync always":                   {mode: SyncAlways, segmentSize: 64 << 10, batch: 1},
		"sync none":                     {mode: SyncNone, segmentSize: 64 << 10, batch: 1},
		"sync always, batches":          {mode: SyncAlways, segmentSize: 64 << 10, batch: 3},
		"sync none, tiny segments":      {mode: SyncNone, segmentSize: 1000, batch: 1},
		"sync none, batches, tiny segs": {mode: SyncNone, segmentSize: 1000, batch: 3},
		// One call's records take more buffers than one writev does (maxIOV).
		"sync none, huge batches": {mode: SyncNone, segmentSize: 1 << 20, batch: 700},
	} {
		t.Run(name, func(t *testing.T) {
			const goroutines, perGoroutine = 8, 1000
			cfg := Config{Dir: t.TempDir(), SegmentSize: tc.segmentSize, SyncMode: tc.mode}
			w, _, _ := openReplayed(t, cfg)
			acked := make([][]record, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() { acked[g] = appendConcurrently(t, w, g, perGoroutine, tc.batch) })
			}
			wg.Wait()
			_, got, stats := reopen(t, w)
			noCorruption(t, stats)
			checkInterleaving(t, got, acked)
		})
	}
}

func appendConcurrently(t *testing.T, w *WAL, g, n, batch int) []record {
	var recs []record
	for i := 0; i < n; i += batch {
		var ps [][]byte
		for j := i; j < min(i+batch, n); j++ {
			ps = append(ps, makePayload(fmt.Sprintf("g%d-%d", g, j), 20+j%50))
		}
		seg, err := w.Append(ps...)
		if err != nil {
			t.Errorf("Append: %v", err)
			return recs
		}
		for _, p := range ps {
			recs = append(recs, record{seg, string(p)})
		}
	}
	return recs
}

// checkInterleaving asserts that got is an interleaving of the sequences in
// want: each exactly once and in order.
func checkInterleaving(t *testing.T, got []record, want [][]record) {
	t.Helper()
	owner := map[string]int{}
	total := 0
	for g, recs := range want {
		for _, r := range recs {
			owner[r.payload] = g
		}
		total += len(recs)
	}
	next := make([]int, len(want))
	for i, r := range got {
		g, ok := owner[r.payload]
		if !ok {
			t.Fatalf("record %d %.30q was never appended", i, r.payload)
		}
		if w := want[g][min(next[g], len(want[g])-1)]; next[g] >= len(want[g]) || w != r {
			t.Fatalf("record %d is %+v, want goroutine %d's next %+v (duplicate or out of order)", i, r, g, w)
		}
		next[g]++
	}
	if len(got) != total {
		t.Fatalf("replayed %d records, appended %d", len(got), total)
	}
}

// TestCloseDuringAppends checks that Close lets queued appends finish: each
// Append either succeeds and is replayed, or fails with ErrClosed and is not.
func TestCloseDuringAppends(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), SyncMode: SyncAlways}
	w, _, _ := openReplayed(t, cfg)
	const goroutines = 8
	acked := make([][]record, goroutines)
	var total atomic.Int64
	enough := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := 0; ; i++ {
				if total.Add(1) == 200 {
					close(enough)
				}
				p := makePayload(fmt.Sprintf("g%d-%d", g, i), 100)
				seg, err := w.Append(p)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				acked[g] = append(acked[g], record{seg, string(p)})
			}
		})
	}
	<-enough
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	_, got, stats := openReplayed(t, cfg)
	noCorruption(t, stats)
	checkInterleaving(t, got, acked)
}

// TestWriteErrorIsSticky breaks the open segment under an idle WAL: the
// failing Append and all later ones must fail, and a restart must recover
// every record acknowledged before.
func TestWriteErrorIsSticky(t *testing.T) {
	cfg := testConfig(t.TempDir())
	w, _, _ := openReplayed(t, cfg)
	want := appendN(t, w, "r", 5, 10)
	if err := w.file.Close(); err != nil { // white box: no leader is running
		t.Fatal(err)
	}
	_, err := w.Append([]byte("lost"))
	if err == nil {
		t.Fatal("Append to a closed file succeeded")
	}
	if _, err2 := w.Append([]byte("lost too")); !errors.Is(err2, err) {
		t.Fatalf("second Append: %v, want the first error %v", err2, err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a write error returned nil")
	}
	_, got, stats := openReplayed(t, cfg)
	equalRecords(t, got, want)
	noCorruption(t, stats)
}

// TestAppendJoined: a joined record replays as its parts one after another, in order
// with plain records, across segment changes; its size limit counts all parts.
func TestAppendJoined(t *testing.T) {
	cfg := testConfig(t.TempDir()) // 1 KiB segments
	cfg.MaxRecordSize = 600
	w, _, _ := openReplayed(t, cfg)
	var want []string
	for k := range 40 {
		head, body := []byte(fmt.Sprintf("h%02d|", k)), makePayload(fmt.Sprintf("b%d", k), k*7)
		if _, err := w.AppendJoined(head, body, nil, []byte("|tail")); err != nil {
			t.Fatal(err)
		}
		want = append(want, string(head)+string(body)+"|tail")
		plain := makePayload(fmt.Sprintf("p%d", k), 30)
		if _, err := w.Append(plain); err != nil {
			t.Fatal(err)
		}
		want = append(want, string(plain))
	}
	if _, err := w.AppendJoined(); err != nil {
		t.Fatal(err)
	}
	want = append(want, "")
	if _, err := w.AppendJoined(make([]byte, 400), make([]byte, 201)); !errors.Is(err, ErrRecordTooLarge) {
		t.Errorf("joined record of 601 bytes over a 600-byte limit: %v", err)
	}
	_, got, stats := reopen(t, w)
	noCorruption(t, stats)
	if len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	segs := map[int]bool{}
	for k, r := range got {
		segs[r.seg] = true
		if r.payload != want[k] {
			t.Errorf("record %d = %q, want %q", k, r.payload, want[k])
		}
	}
	if len(segs) < 3 {
		t.Errorf("records in %d segments; the test means to cross segment changes", len(segs))
	}
}
