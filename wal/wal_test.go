package wal

import (
	"errors"
	"flag"
	"fmt"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg     Config
		wantErr bool
	}{
		"zero values mean defaults": {cfg: Config{Dir: "d"}},
		"explicit values":           {cfg: Config{Dir: "d", SegmentSize: 1, SyncMode: SyncNone, MaxRecordSize: 1}},
		"no dir":                    {cfg: Config{}, wantErr: true},
		"negative segment size":     {cfg: Config{Dir: "d", SegmentSize: -1}, wantErr: true},
		"negative max record size":  {cfg: Config{Dir: "d", MaxRecordSize: -1}, wantErr: true},
		"max record size over 1GiB": {cfg: Config{Dir: "d", MaxRecordSize: maxRecordSizeLimit + 1}, wantErr: true},
		"unknown sync mode":         {cfg: Config{Dir: "d", SyncMode: "sometimes"}, wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, want error: %v", err, tc.wantErr)
			}
		})
	}
}

func TestConfigFlagDefaults(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlagsWithPrefix("ingester.wal.", fs)
	if err := fs.Parse([]string{"-ingester.wal.dir=/tmp/x"}); err != nil {
		t.Fatal(err)
	}
	want := Config{Dir: "/tmp/x", SegmentSize: DefaultSegmentSize, SyncMode: SyncAlways, MaxRecordSize: DefaultMaxRecordSize, RecycleSegments: DefaultRecycleSegments}
	if cfg != want {
		t.Fatalf("flag defaults = %+v, want %+v", cfg, want)
	}
	if cfg.withDefaults() != (Config{Dir: "/tmp/x", RecycleSegments: DefaultRecycleSegments}).withDefaults() {
		t.Fatal("flag defaults differ from zero-value defaults")
	}
}

func TestAppendReplayRoundTrip(t *testing.T) {
	for name, tc := range map[string]struct {
		segmentSize int64
		size        int // payload bytes
		batch       int // records per Append
		n           int // Append calls
		wantSegs    int
	}{
		"one segment":                     {segmentSize: 1 << 20, size: 100, batch: 1, n: 50, wantSegs: 1},
		"many segments":                   {segmentSize: fileHeaderSize + 1000, size: 92, batch: 1, n: 100, wantSegs: 10},
		"batches fill segments exactly":   {segmentSize: fileHeaderSize + 1000, size: 92, batch: 5, n: 20, wantSegs: 10},
		"batches never straddle segments": {segmentSize: fileHeaderSize + 1000, size: 92, batch: 4, n: 30, wantSegs: 15},
		"records larger than a segment":   {segmentSize: 100, size: 1000, batch: 1, n: 5, wantSegs: 5},
		"batch larger than a segment":     {segmentSize: 100, size: 50, batch: 4, n: 5, wantSegs: 5},
		"empty payloads":                  {segmentSize: fileHeaderSize + 80, size: 0, batch: 2, n: 10, wantSegs: 2},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			cfg.SegmentSize = tc.segmentSize
			w, _, _ := openReplayed(t, cfg)
			var want []record
			for i := range tc.n {
				var batch [][]byte
				for j := range tc.batch {
					batch = append(batch, makePayload(fmt.Sprintf("%d.%d", i, j), tc.size)[:tc.size])
				}
				seg := mustAppend(t, w, batch...)
				for _, p := range batch {
					want = append(want, record{seg, string(p)})
				}
			}
			if first, last := w.Segments(); first != 1 || last != tc.wantSegs {
				t.Errorf("Segments() = %d, %d, want 1, %d", first, last, tc.wantSegs)
			}
			if got, disk := w.Size(), dirSize(t, cfg.Dir); got != disk {
				t.Errorf("Size() = %d, files hold %d", got, disk)
			}
			w, got, stats := reopen(t, w)
			equalRecords(t, got, want)
			noCorruption(t, stats)
			if stats.Segments != tc.wantSegs || stats.Records != len(want) {
				t.Errorf("stats = %+v, want %d segments, %d records", stats, tc.wantSegs, len(want))
			}
			if got, disk := w.Size(), dirSize(t, cfg.Dir); got != disk {
				t.Errorf("Size() after replay = %d, files hold %d", got, disk)
			}
		})
	}
}

func TestReopenAppendsToLastSegment(t *testing.T) {
	cfg := testConfig(t.TempDir())
	w, _, _ := openReplayed(t, cfg)
	var want []record
	for round := range 3 {
		want = append(want, appendN(t, w, fmt.Sprint("round", round), 10, 30)...)
		var got []record
		var stats ReplayStats
		w, got, stats = reopen(t, w)
		equalRecords(t, got, want)
		noCorruption(t, stats)
	}
	// 30 records of 38 bytes fit in 2 segments of 1 KiB only if reopening
	// kept filling the last segment instead of starting a new one.
	if _, last := w.Segments(); last != 2 {
		t.Fatalf("last segment = %d, want 2", last)
	}
}

func TestSegmentsAndSizeBeforeReplay(t *testing.T) {
	cfg := testConfig(t.TempDir())
	w, _, _ := openReplayed(t, cfg)
	appendN(t, w, "r", 100, 40)
	first, last := w.Segments()
	size := w.Size()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if f, l := w.Segments(); f != first || l != last || w.Size() != size {
		t.Fatalf("after Open: Segments() = %d, %d and Size() = %d, want %d, %d and %d", f, l, w.Size(), first, last, size)
	}
	if _, err := w.Replay(nil); err != nil {
		t.Fatalf("Replay(nil): %v", err)
	}
	if f, l := w.Segments(); f != first || l != last || w.Size() != size {
		t.Fatalf("after Replay: Segments() = %d, %d and Size() = %d, want %d, %d and %d", f, l, w.Size(), first, last, size)
	}
}

func TestAppendErrors(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxRecordSize = 100
	w, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]byte("x")); !errors.Is(err, ErrNotReplayed) {
		t.Fatalf("Append before Replay: %v, want ErrNotReplayed", err)
	}
	if err := w.Truncate(1); !errors.Is(err, ErrNotReplayed) {
		t.Fatalf("Truncate before Replay: %v, want ErrNotReplayed", err)
	}
	replayAll(t, w)
	if _, err := w.Replay(func(int, []byte) error { return nil }); err == nil {
		t.Fatal("second Replay succeeded")
	}
	if seg, err := w.Append(); seg != 0 || err != nil {
		t.Fatalf("Append() on an empty WAL = %d, %v, want 0, nil", seg, err)
	}
	if _, err := w.Append([]byte("ok"), make([]byte, 101)); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("Append of 101 bytes: %v, want ErrRecordTooLarge", err)
	}
	want := []record{{mustAppend(t, w, make([]byte, 100)), string(make([]byte, 100))}}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := w.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	_, got, _ := openReplayed(t, cfg)
	equalRecords(t, got, want)
}

func TestReplayCallbackError(t *testing.T) {
	cfg := testConfig(t.TempDir())
	w, _, _ := openReplayed(t, cfg)
	want := appendN(t, w, "r", 5, 10)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	errStop := errors.New("stop")
	if _, err := w.Replay(func(int, []byte) error { return errStop }); !errors.Is(err, errStop) {
		t.Fatalf("Replay = %v, want the callback's error", err)
	}
	if _, err := w.Append([]byte("x")); !errors.Is(err, ErrNotReplayed) {
		t.Fatalf("Append after failed Replay: %v, want ErrNotReplayed", err)
	}
	got, _ := replayAll(t, w)
	equalRecords(t, got, want)
}

func TestOpenLocksDir(t *testing.T) {
	cfg := testConfig(t.TempDir())
	w, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if w2, err := Open(cfg); err == nil {
		w2.Close()
		t.Fatal("second Open of the same dir succeeded")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = Open(cfg)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	w.Close()
}

func TestTruncate(t *testing.T) {
	// 10 segments of 10 records each.
	for name, tc := range map[string]struct {
		before    []int // successive Truncate calls
		wantFirst int
	}{
		"nothing below the first":  {before: []int{1}, wantFirst: 1},
		"zero":                     {before: []int{0}, wantFirst: 1},
		"some":                     {before: []int{4}, wantFirst: 4},
		"twice":                    {before: []int{4, 7}, wantFirst: 7},
		"lower after higher":       {before: []int{7, 4}, wantFirst: 7},
		"all but the current":      {before: []int{10}, wantFirst: 10},
		"past the current is kept": {before: []int{99}, wantFirst: 10},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			cfg.SegmentSize = fileHeaderSize + 10*(headerSize+20)
			w, _, _ := openReplayed(t, cfg)
			all := appendN(t, w, "r", 100, 20)
			for _, b := range tc.before {
				if err := w.Truncate(b); err != nil {
					t.Fatalf("Truncate(%d): %v", b, err)
				}
			}
			if first, last := w.Segments(); first != tc.wantFirst || last != 10 {
				t.Errorf("Segments() = %d, %d, want %d, 10", first, last, tc.wantFirst)
			}
			if got, disk := w.Size(), dirSize(t, cfg.Dir); got != disk {
				t.Errorf("Size() = %d, files hold %d", got, disk)
			}
			want := all[(tc.wantFirst-1)*10:]
			want = append(want, appendN(t, w, "after", 3, 20)...)
			_, got, stats := reopen(t, w)
			equalRecords(t, got, want)
			noCorruption(t, stats)
		})
	}
}
