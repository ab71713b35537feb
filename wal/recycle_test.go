package wal

import (
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/strataobs/strata/wal/waltest"
)

func recycleConfig(dir string) Config {
	cfg := testConfig(dir)
	cfg.SegmentSize = fileHeaderSize + 10*(headerSize+40) // 10 records of 40 bytes
	cfg.RecycleSegments = 2
	return cfg
}

func spareFiles(t testing.TB, dir string) []int {
	t.Helper()
	n, err := listFiles(dir, parseSpareName)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRecycleSegments truncates as an ingester does after each flush: new
// segments go into the flushed ones' files, which hold longer older content,
// and replay returns exactly the records of the segments kept.
func TestRecycleSegments(t *testing.T) {
	cfg := recycleConfig(t.TempDir())
	w, _, _ := openReplayed(t, cfg)
	var kept []record
	for round := range 12 {
		// Shorter rounds after longer ones, so that the recycled files'
		// older records lie past the new ones' end.
		size := 40 - (round%3)*10
		recs := appendN(t, w, "r"+string(rune('a'+round)), 25, size)
		kept = append(kept, recs...)
		oldest := recs[0].seg
		if err := w.Truncate(oldest); err != nil {
			t.Fatal(err)
		}
		kept = slices.DeleteFunc(kept, func(r record) bool { return r.seg < oldest })
		if n := len(spareFiles(t, cfg.Dir)); n > cfg.RecycleSegments {
			t.Fatalf("round %d: %d spare files, at most %d kept", round, n, cfg.RecycleSegments)
		}
		if got, disk := w.Size(), dirSize(t, cfg.Dir); got != disk {
			t.Fatalf("round %d: Size() = %d, files hold %d", round, got, disk)
		}
	}
	if w.Recycled() == 0 {
		t.Fatal("no segment was started in a spare file")
	}
	t.Logf("%d segments started in spare files", w.Recycled())
	w, got, stats := reopen(t, w)
	equalRecords(t, got, kept)
	noCorruption(t, stats)
	if got, disk := w.Size(), dirSize(t, cfg.Dir); got != disk {
		t.Fatalf("after reopen: Size() = %d, files hold %d", got, disk)
	}
}

// TestRecycledTailAfterCrash replays a directory copied while the WAL was
// writing a recycled segment: the file still holds the older segment's
// records past the new ones, with valid checksums under their own mask.
// They must not replay, and are not reported as damage.
func TestRecycledTailAfterCrash(t *testing.T) {
	cfg := recycleConfig(t.TempDir())
	w, _, _ := openReplayed(t, cfg)
	old := appendN(t, w, "old", 30, 40) // segments 1-3
	if err := w.Truncate(old[len(old)-1].seg); err != nil {
		t.Fatal(err)
	}
	kept := slices.DeleteFunc(slices.Clone(old), func(r record) bool { return r.seg < old[len(old)-1].seg })
	kept = append(kept, appendN(t, w, "new", 12, 40)...) // into segment 4, segment 1's file, then 5
	last := kept[len(kept)-1].seg
	if w.Recycled() < 2 {
		t.Fatalf("%d segments recycled, want the last two", w.Recycled())
	}
	if size := len(readSegment(t, cfg.Dir, last)); size <= fileHeaderSize+2*(headerSize+40) {
		t.Fatalf("segment %d is %d bytes: the recycled file's older records are gone before the crash", last, size)
	}

	crashed := recycleConfig(t.TempDir())
	waltest.CopyDir(t, cfg.Dir, crashed.Dir)
	w2, got, stats := openReplayed(t, crashed)
	equalRecords(t, got, kept)
	noCorruption(t, stats)
	if size, want := len(readSegment(t, crashed.Dir, last)), fileHeaderSize+2*(headerSize+40); size != want {
		t.Errorf("segment %d is %d bytes after replay, want it cut to its own %d", last, size, want)
	}
	kept = append(kept, appendN(t, w2, "after", 3, 40)...)
	_, got, stats = reopen(t, w2)
	equalRecords(t, got, kept)
	noCorruption(t, stats)
}

// TestSpareRenamedBeforeHeader replays a spare file renamed to the next
// segment when the crash came before its header was rewritten: it holds
// only an older segment's records, none of which may replay.
func TestSpareRenamedBeforeHeader(t *testing.T) {
	cfg := recycleConfig(t.TempDir())
	w, _, _ := openReplayed(t, cfg)
	recs := appendN(t, w, "r", 25, 40) // segments 1-3
	if err := w.Truncate(3); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(sparePath(cfg.Dir, 1), segmentPath(cfg.Dir, 4)); err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(slices.Clone(recs), func(r record) bool { return r.seg < 3 })
	w, got, stats := openReplayed(t, cfg)
	equalRecords(t, got, want)
	noCorruption(t, stats)
	want = append(want, appendN(t, w, "after", 3, 40)...)
	if want[len(want)-1].seg != 5 {
		t.Errorf("appends after the headerless segment 4 went to segment %d, want a new one, 5", want[len(want)-1].seg)
	}
	_, got, stats = reopen(t, w)
	equalRecords(t, got, want)
	noCorruption(t, stats)
}

// TestOtherSegmentsRecords holds the line between a recycled file's older
// records (the end of the segment) and damage: a record masked for a later
// segment, or for none, is corruption.
func TestOtherSegmentsRecords(t *testing.T) {
	masked := func(seg int, payloads ...string) []byte {
		var b []byte
		for _, p := range payloads {
			start := len(b)
			b = appendRecord(b, []byte(p))
			maskHeaders(b[start:start+headerSize], seg)
		}
		return b
	}
	for name, tc := range map[string]struct {
		tail    []byte
		corrupt bool
	}{
		"an earlier segment's":   {tail: masked(3, "older", "older too")},
		"segment 1's":            {tail: masked(1, "oldest")},
		"a later segment's":      {tail: masked(9, "later"), corrupt: true},
		"a legacy record":        {tail: encode([]byte("legacy")), corrupt: true},
		"the segment's own torn": {tail: masked(5, "torn")[:headerSize+2], corrupt: true},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			good := append(appendFileHeader(nil, 5), masked(5, "one", "two")...)
			writeSegment(t, cfg.Dir, 5, append(slices.Clone(good), tc.tail...))
			w, got, stats := openReplayed(t, cfg)
			equalRecords(t, got, []record{{5, "one"}, {5, "two"}})
			if len(readSegment(t, cfg.Dir, 5)) != len(good) {
				t.Errorf("segment 5 not cut after its own records")
			}
			if tc.corrupt != (len(stats.Corruptions) == 1) || len(stats.Corruptions) > 1 {
				t.Errorf("corruptions = %v, want one: %v", stats.Corruptions, tc.corrupt)
			}
			if w.Size() != int64(len(good)) {
				t.Errorf("Size() = %d, want %d", w.Size(), len(good))
			}
		})
	}
}

// TestLegacySegments replays segments written before segments had a file
// header: their records replay, appends start a new segment (a legacy file
// cannot take masked records), and truncating them deletes them rather than
// keeping them as spares, whose older records would replay as new ones.
func TestLegacySegments(t *testing.T) {
	cfg := recycleConfig(t.TempDir())
	want := []record{{1, "one"}, {1, "two"}, {2, "three"}}
	writeSegment(t, cfg.Dir, 1, encode([]byte("one"), []byte("two")))
	writeSegment(t, cfg.Dir, 2, encode([]byte("three")))
	w, got, stats := openReplayed(t, cfg)
	equalRecords(t, got, want)
	noCorruption(t, stats)
	after := appendN(t, w, "after", 3, 40)
	if after[0].seg != 3 {
		t.Fatalf("first append after legacy segments went to segment %d, want 3", after[0].seg)
	}
	if err := w.Truncate(3); err != nil {
		t.Fatal(err)
	}
	if spares := spareFiles(t, cfg.Dir); len(spares) != 0 {
		t.Fatalf("legacy segments kept as spares %v", spares)
	}
	_, got, stats = reopen(t, w)
	equalRecords(t, got, after)
	noCorruption(t, stats)
}

// TestRecycleOff checks that RecycleSegments 0 deletes flushed segments.
func TestRecycleOff(t *testing.T) {
	cfg := recycleConfig(t.TempDir())
	cfg.RecycleSegments = 0
	w, _, _ := openReplayed(t, cfg)
	recs := appendN(t, w, "r", 40, 40)
	if err := w.Truncate(recs[len(recs)-1].seg); err != nil {
		t.Fatal(err)
	}
	appendN(t, w, "s", 20, 40)
	if spares := spareFiles(t, cfg.Dir); len(spares) != 0 || w.Recycled() != 0 {
		t.Fatalf("spares %v, %d recycled with RecycleSegments 0", spares, w.Recycled())
	}
}

// TestOpenDropsExtraSpares keeps at most RecycleSegments spare files found
// at Open (the setting may have been lowered).
func TestOpenDropsExtraSpares(t *testing.T) {
	cfg := recycleConfig(t.TempDir())
	for _, n := range []int{1, 2, 3} {
		if err := os.WriteFile(sparePath(cfg.Dir, n), appendFileHeader(nil, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, _, _ := openReplayed(t, cfg)
	if spares := spareFiles(t, cfg.Dir); len(spares) != cfg.RecycleSegments {
		t.Fatalf("spares after Open %v, want %d", spares, cfg.RecycleSegments)
	}
	appendN(t, w, "r", 1, 40)
	if w.Recycled() != 1 {
		t.Fatalf("first segment not started in a spare file")
	}
}

// Masks must tell segments apart and never accept a zeroed header.
func TestSegMask(t *testing.T) {
	zero := checksum(make([]byte, 4), nil)
	seen := map[uint32]int{}
	for seg := 1; seg < 1<<16; seg++ {
		m := segMask(seg)
		if m == 0 || m == zero {
			t.Fatalf("segMask(%d) = %#x", seg, m)
		}
		if prev, ok := seen[m]; ok {
			t.Fatalf("segments %d and %d share mask %#x", prev, seg, m)
		}
		seen[m] = seg
	}
	if binary.LittleEndian.Uint32(fileMagic[4:]) <= maxRecordSizeLimit {
		t.Fatal("the file magic reads as a plausible record length")
	}
	if !errors.Is(errStale, errStale) || errors.Is(errStale, errCorrupt) {
		t.Fatal("stale records must not count as corruption")
	}
}
