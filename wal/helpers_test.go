package wal

import (
	"fmt"
	"os"
	"slices"
	"testing"
)

// record is one replayed record, as compared by tests.
type record struct {
	seg     int
	payload string
}

func testConfig(dir string) Config {
	return Config{Dir: dir, SegmentSize: 1 << 10, SyncMode: SyncNone}
}

// openReplayed opens cfg.Dir, replays it and closes the WAL at the end of
// the test.
func openReplayed(t testing.TB, cfg Config) (*WAL, []record, ReplayStats) {
	t.Helper()
	w, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	recs, stats := replayAll(t, w)
	return w, recs, stats
}

func replayAll(t testing.TB, w *WAL) ([]record, ReplayStats) {
	t.Helper()
	var recs []record
	stats, err := w.Replay(func(seg int, p []byte) error {
		recs = append(recs, record{seg, string(p)})
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return recs, stats
}

// reopen closes w and replays its directory in a new WAL.
func reopen(t testing.TB, w *WAL) (*WAL, []record, ReplayStats) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return openReplayed(t, w.cfg)
}

// makePayload is deterministic and self-describing, so that a record that
// passed the checksum but holds the wrong bytes still fails the test.
func makePayload(id string, size int) []byte {
	p := []byte(id + ":")
	for len(p) < size {
		p = append(p, byte('a'+len(p)%26))
	}
	return p[:max(size, len(id)+1)]
}

func mustAppend(t testing.TB, w *WAL, payloads ...[]byte) int {
	t.Helper()
	seg, err := w.Append(payloads...)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seg
}

// appendN appends n records of size bytes, one per call, and returns them
// as Replay should report them.
func appendN(t testing.TB, w *WAL, prefix string, n, size int) []record {
	t.Helper()
	var recs []record
	for i := range n {
		p := makePayload(fmt.Sprintf("%s-%d", prefix, i), size)
		recs = append(recs, record{mustAppend(t, w, p), string(p)})
	}
	return recs
}

func equalRecords(t testing.TB, got, want []record) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	t.Errorf("replayed %d records, want %d", len(got), len(want))
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("first difference at record %d: got segment %d %.40q, want segment %d %.40q",
				i, got[i].seg, got[i].payload, want[i].seg, want[i].payload)
		}
	}
	t.FailNow()
}

func noCorruption(t testing.TB, stats ReplayStats) {
	t.Helper()
	for _, c := range stats.Corruptions {
		t.Errorf("unexpected corruption: %+v", c)
	}
}

func readSegment(t testing.TB, dir string, seg int) []byte {
	t.Helper()
	b, err := os.ReadFile(segmentPath(dir, seg))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeSegment(t testing.TB, dir string, seg int, b []byte) {
	t.Helper()
	if err := os.WriteFile(segmentPath(dir, seg), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// appendRecord appends the on-disk encoding of payload to dst.
func appendRecord(dst, payload []byte) []byte {
	return append(appendHeader(dst, payload), payload...)
}

// encode returns the on-disk bytes of payloads.
func encode(payloads ...[]byte) []byte {
	var b []byte
	for _, p := range payloads {
		b = appendRecord(b, p)
	}
	return b
}

// dirSize sums the segment files, to check WAL.Size against the disk.
func dirSize(t testing.TB, dir string) int64 {
	t.Helper()
	segs, err := listFiles(dir, parseSegmentName)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, seg := range segs {
		n += int64(len(readSegment(t, dir, seg)))
	}
	return n
}

func payloads(recs []record) [][]byte {
	var ps [][]byte
	for _, r := range recs {
		ps = append(ps, []byte(r.payload))
	}
	return ps
}
