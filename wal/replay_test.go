package wal

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"testing"
)

// TestReplayTornTail cuts the last segment at every byte inside its last
// record, as a crash mid-write would, and checks that exactly the complete
// records come back and that appends after recovery replay too.
func TestReplayTornTail(t *testing.T) {
	src := t.TempDir()
	cfg := testConfig(src)
	w, _, _ := openReplayed(t, cfg)
	recs := appendN(t, w, "r", 60, 40) // 48 bytes each: 3 segments, the last partly full
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lastSeg := recs[len(recs)-1].seg
	whole := readSegment(t, src, lastSeg)
	lastStart := len(whole) - (headerSize + 40)

	for cut := lastStart; cut < len(whole); cut++ {
		t.Run(fmt.Sprint("cut at ", cut), func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			for seg := 1; seg < lastSeg; seg++ {
				writeSegment(t, cfg.Dir, seg, readSegment(t, src, seg))
			}
			writeSegment(t, cfg.Dir, lastSeg, whole[:cut])

			w, got, stats := openReplayed(t, cfg)
			want := recs[:len(recs)-1]
			equalRecords(t, got, want)
			checkTruncated(t, cfg.Dir, stats, lastSeg, int64(lastStart), int64(cut-lastStart))

			want = append(want, appendN(t, w, "after", 3, 40)...)
			_, got, stats = reopen(t, w)
			equalRecords(t, got, want)
			noCorruption(t, stats)
		})
	}
}

// checkTruncated asserts that Replay cut segment seg at offset, dropping
// dropped bytes (none: the cut fell on a record boundary).
func checkTruncated(t testing.TB, dir string, stats ReplayStats, seg int, offset, dropped int64) {
	t.Helper()
	if size := int64(len(readSegment(t, dir, seg))); size != offset {
		t.Errorf("segment %d is %d bytes after replay, want %d", seg, size, offset)
	}
	if dropped == 0 {
		noCorruption(t, stats)
		return
	}
	want := Corruption{Segment: seg, Offset: offset, Dropped: dropped, Truncated: true}
	if len(stats.Corruptions) != 1 {
		t.Fatalf("corruptions = %+v, want one like %+v", stats.Corruptions, want)
	}
	got := stats.Corruptions[0]
	if got.Err == nil {
		t.Errorf("corruption has no error")
	}
	got.Err = nil
	if got != want {
		t.Errorf("corruption = %+v, want %+v", got, want)
	}
}

// damage functions receive a segment holding good records and return it
// with a bad tail.
var tailDamage = map[string]func(seg []byte) []byte{
	"zero-filled tail": func(b []byte) []byte { return append(b, make([]byte, 4096)...) },
	"zero-filled tail shorter than a header": func(b []byte) []byte {
		return append(b, make([]byte, headerSize-1)...)
	},
	"partial header": func(b []byte) []byte { return append(b, encode([]byte("next"))[:5]...) },
	"header only":    func(b []byte) []byte { return append(b, encode([]byte("next"))[:headerSize]...) },
	"partial payload": func(b []byte) []byte {
		return append(b, encode(makePayload("next", 100))[:headerSize+10]...)
	},
	"bad checksum": func(b []byte) []byte {
		r := encode([]byte("next record"))
		r[headerSize+2] ^= 0x01
		return append(b, r...)
	},
	"length larger than the file": func(b []byte) []byte {
		r := encode([]byte("next record"))
		binary.LittleEndian.PutUint32(r[4:], 1<<30)
		return append(b, r...)
	},
	"maximum length": func(b []byte) []byte {
		r := encode([]byte("next record"))
		binary.LittleEndian.PutUint32(r[4:], ^uint32(0))
		return append(b, r...)
	},
	"length shortened": func(b []byte) []byte {
		r := encode([]byte("next record"))
		binary.LittleEndian.PutUint32(r[4:], 4)
		return append(b, r...)
	},
	"good records after a bad one": func(b []byte) []byte {
		r := encode([]byte("bad"))
		r[0] ^= 0xff
		return append(append(b, r...), encode([]byte("lost"), []byte("lost too"))...)
	},
	"garbage": func(b []byte) []byte { return append(b, []byte("\xde\xad\xbe\xef not a record at all")...) },
}

func TestReplayCorruptTail(t *testing.T) {
	for name, damage := range tailDamage {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			recs := []record{{1, "one"}, {1, "two"}, {1, "three"}}
			good := encode(payloads(recs)...)
			damaged := damage(slices.Clone(good))
			writeSegment(t, cfg.Dir, 1, damaged)

			w, got, stats := openReplayed(t, cfg)
			equalRecords(t, got, recs)
			checkTruncated(t, cfg.Dir, stats, 1, int64(len(good)), int64(len(damaged)-len(good)))
			if w.Size() != int64(len(good)) {
				t.Errorf("Size() = %d, want %d", w.Size(), len(good))
			}

			recs = append(recs, appendN(t, w, "after", 2, 10)...)
			_, got, stats = reopen(t, w)
			equalRecords(t, got, recs)
			noCorruption(t, stats)
		})
	}
}

// TestReplayCorruptMiddle damages a record in a segment that is not the
// last: the rest of that segment is skipped, left on disk, and replay goes
// on with the next segment.
func TestReplayCorruptMiddle(t *testing.T) {
	for name, damage := range map[string]func(rec []byte){
		"payload bit flip":  func(r []byte) { r[headerSize+3] ^= 0x10 },
		"checksum bit flip": func(r []byte) { r[1] ^= 0x80 },
		"length grown":      func(r []byte) { r[4]++ },
		"length shrunk":     func(r []byte) { r[4]-- },
		"header zeroed":     func(r []byte) { clear(r[:headerSize]) },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			w, _, _ := openReplayed(t, cfg)
			recs := appendN(t, w, "r", 80, 40) // 21 records of 48 bytes per segment, 4 segments
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			const recSize = headerSize + 40
			const at = fileHeaderSize + 5*recSize // the sixth record of segment 2
			seg2 := readSegment(t, cfg.Dir, 2)
			damage(seg2[at : at+recSize])
			writeSegment(t, cfg.Dir, 2, seg2)

			want := slices.DeleteFunc(slices.Clone(recs), func(r record) bool {
				return r.seg == 2 && !slices.Contains(recs[21:26], r)
			})
			w, got, stats := openReplayed(t, cfg)
			equalRecords(t, got, want)
			wantCorruption := Corruption{Segment: 2, Offset: at, Dropped: int64(len(seg2) - at)}
			checkMiddleCorruption(t, stats, wantCorruption)
			if size := len(readSegment(t, cfg.Dir, 2)); size != len(seg2) {
				t.Errorf("segment 2 is %d bytes after replay, want it untouched at %d", size, len(seg2))
			}

			want = append(want, appendN(t, w, "after", 2, 40)...)
			_, got, stats = reopen(t, w)
			equalRecords(t, got, want)
			checkMiddleCorruption(t, stats, wantCorruption)
		})
	}
}

func checkMiddleCorruption(t testing.TB, stats ReplayStats, want Corruption) {
	t.Helper()
	if len(stats.Corruptions) != 1 {
		t.Fatalf("corruptions = %+v, want one like %+v", stats.Corruptions, want)
	}
	got := stats.Corruptions[0]
	if got.Err == nil {
		t.Errorf("corruption has no error")
	}
	got.Err = nil
	if got != want {
		t.Errorf("corruption = %+v, want %+v", got, want)
	}
}

func TestReplayMissingSegment(t *testing.T) {
	cfg := testConfig(t.TempDir())
	w, _, _ := openReplayed(t, cfg)
	recs := appendN(t, w, "r", 100, 40) // 5 segments
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, seg := range []int{2, 3} {
		if err := os.Remove(segmentPath(cfg.Dir, seg)); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.DeleteFunc(recs, func(r record) bool { return r.seg == 2 || r.seg == 3 })
	_, got, stats := openReplayed(t, cfg)
	equalRecords(t, got, want)
	checkMiddleCorruption(t, stats, Corruption{Segment: 2})
}

func TestReplayIgnoresOtherFiles(t *testing.T) {
	cfg := testConfig(t.TempDir())
	for _, name := range []string{"1.wal", "00000001.wal.tmp", "x.wal", "00000000.wal", "checkpoint"} {
		if err := os.WriteFile(cfg.Dir+"/"+name, []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(segmentPath(cfg.Dir, 2), 0o755); err != nil {
		t.Fatal(err)
	}
	_, got, stats := openReplayed(t, cfg)
	equalRecords(t, got, nil)
	noCorruption(t, stats)
}
