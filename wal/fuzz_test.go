package wal

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

// FuzzReplay replays arbitrary bytes as a segment, either the last one or
// one followed by a valid segment. Replay must not fail or panic, must
// return exactly the records of a valid prefix, must cut a bad tail only
// in the last segment, and appends after recovery must replay after them.
func FuzzReplay(f *testing.F) {
	good := encode([]byte("one"), []byte(""), makePayload("three", 300))
	badCRC := slices.Clone(good)
	badCRC[len(badCRC)-1] ^= 1
	hugeLen := encode([]byte("x"))
	binary.LittleEndian.PutUint32(hugeLen[4:], ^uint32(0))
	masked := appendFileHeader(nil, 1)
	for _, p := range [][]byte{[]byte("one"), makePayload("two", 300)} {
		start := len(masked)
		masked = appendRecord(masked, p)
		maskHeaders(masked[start:start+headerSize], 1)
	}
	for _, seed := range [][]byte{
		nil,
		good,
		masked,
		masked[:len(masked)-1],
		appendFileHeader(nil, 0), // an earlier segment's header: a recycled file
		append(appendFileHeader(nil, 1), good...),
		good[:len(good)-1],
		good[:headerSize+1],
		append(slices.Clone(good), make([]byte, 100)...),
		badCRC,
		hugeLen,
		make([]byte, 3),
		[]byte("not a wal segment"),
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, middle bool) {
		cfg := Config{Dir: t.TempDir(), SegmentSize: 1 << 20, SyncMode: SyncNone}
		writeSegment(t, cfg.Dir, 1, data)
		next := []record{{2, "next-1"}, {2, "next-2"}}
		if middle {
			writeSegment(t, cfg.Dir, 2, encode(payloads(next)...))
		}

		w, got, stats := openReplayed(t, cfg)
		fromFirst := got
		if middle {
			fromFirst = checkSuffix(t, got, next)
		}
		checkValidPrefix(t, data, fromFirst)
		checkFirstSegment(t, cfg.Dir, data, fromFirst, stats, middle)

		got = append(got, appendN(t, w, "after", 2, 10)...)
		_, again, stats2 := reopen(t, w)
		equalRecords(t, again, got)
		if !middle {
			noCorruption(t, stats2)
		} else if len(stats2.Corruptions) != len(stats.Corruptions) {
			t.Fatalf("second replay reported %v, first %v", stats2.Corruptions, stats.Corruptions)
		}
	})
}

// checkSuffix asserts that recs ends with want and returns the rest.
func checkSuffix(t *testing.T, recs, want []record) []record {
	t.Helper()
	if len(recs) < len(want) || !slices.Equal(recs[len(recs)-len(want):], want) {
		t.Fatalf("records of the segment after the damaged one are missing: %v", recs)
	}
	return recs[:len(recs)-len(want)]
}

// fuzzFormat is how replay must read data as segment 1: with its file
// header and masked records, as a recycled file whose header is an earlier
// segment's (nothing of it replays), or as a legacy segment.
func fuzzFormat(data []byte) (masked, stale bool) {
	if len(data) < fileHeaderSize || [8]byte(data[:8]) != fileMagic {
		return false, false
	}
	n := binary.LittleEndian.Uint64(data[8:])
	return n == 1, n == 0
}

// encodeAs encodes payloads as segment 1 in data's format.
func encodeAs(data []byte, payloads [][]byte) []byte {
	if masked, _ := fuzzFormat(data); !masked {
		return encode(payloads...)
	}
	b := appendFileHeader(nil, 1)
	for _, p := range payloads {
		start := len(b)
		b = appendRecord(b, p)
		maskHeaders(b[start:start+headerSize], 1)
	}
	return b
}

// checkValidPrefix asserts that recs, all from segment 1, re-encode to a
// prefix of data: replay neither invented nor altered a record.
func checkValidPrefix(t *testing.T, data []byte, recs []record) {
	t.Helper()
	for _, r := range recs {
		if r.seg != 1 {
			t.Fatalf("record %v not from segment 1", r)
		}
	}
	if _, stale := fuzzFormat(data); stale && len(recs) > 0 {
		t.Fatalf("records replayed from a recycled file's older content")
	}
	if enc := encodeAs(data, payloads(recs)); !bytes.HasPrefix(data, enc) {
		t.Fatalf("replayed records are not a prefix of the segment")
	}
}

// checkFirstSegment asserts that segment 1 was cut after its last good
// record if it was the last segment, and left alone otherwise.
func checkFirstSegment(t *testing.T, dir string, data []byte, recs []record, stats ReplayStats, middle bool) {
	t.Helper()
	_, stale := fuzzFormat(data)
	good := len(encodeAs(data, payloads(recs)))
	if stale {
		good = 0
	}
	want := data[:good]
	if middle {
		want = data
	}
	if after := readSegment(t, dir, 1); !bytes.Equal(after, want) {
		t.Fatalf("segment 1 is %d bytes after replay, want %d", len(after), len(want))
	}
	if good == len(data) || stale {
		noCorruption(t, stats)
		return
	}
	if len(stats.Corruptions) != 1 {
		t.Fatalf("corruptions = %v, want one", stats.Corruptions)
	}
	c := stats.Corruptions[0]
	if c.Segment != 1 || c.Offset != int64(good) || c.Dropped != int64(len(data)-good) || c.Truncated == middle {
		t.Fatalf("corruption = %+v, good prefix %d of %d bytes, middle %v", c, good, len(data), middle)
	}
}
