package wal

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

var (
	// ErrNotReplayed is returned by Append and Truncate before Replay has
	// completed: the tail of the last segment may still need repair.
	ErrNotReplayed = errors.New("wal: not replayed yet")
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("wal: closed")
	// ErrRecordTooLarge is returned by Append for a record over
	// Config.MaxRecordSize; nothing of that call is written.
	ErrRecordTooLarge = errors.New("wal: record too large")
)

type state int

const (
	stateOpened state = iota
	stateReplaying
	stateReady
	stateClosed
)

// WAL is a write-ahead log: a directory of numbered segment files. Its
// methods are safe for concurrent use; see the package documentation for
// the order in which they may be called.
type WAL struct {
	cfg  Config
	lock *os.File

	size    atomic.Int64 // bytes in segment files on disk
	flushes atomic.Int64 // group commits, for benchmarks

	truncMu sync.Mutex // serializes Truncate

	mu       sync.Mutex
	cond     sync.Cond // broadcast when a flush ends
	state    state
	err      error // first write or sync error; sticky
	first    int   // oldest segment on disk, 0 if none
	last     int   // newest segment on disk, 0 if none
	gc       groupCommit
	flushing bool // a leader is writing; see append.go
	waiters  int  // appenders waiting for a leader

	// The open segment. Only the leader touches it, or Replay and Close
	// when no leader can exist.
	file     *os.File
	fileSeg  int
	fileOff  int64 // bytes written to it
	fileSize int64 // its size: past fileOff, a spare's older content

	spares   []int        // numbers of the spare files, under mu
	recycled atomic.Int64 // segments started in a spare file
}

// Open opens or creates the WAL in cfg.Dir. Call Replay before Append.
func Open(cfg Config) (*WAL, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: create dir: %w", err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	w := &WAL{cfg: cfg, lock: lock}
	w.cond.L = &w.mu
	w.gc.init()
	if err := w.scan(); err != nil {
		lock.Close()
		return nil, err
	}
	return w, nil
}

// scan fills in Segments and Size, so that they are right between Open
// and Replay (the ingester numbers its first epoch from Segments).
func (w *WAL) scan() error {
	segs, err := listFiles(w.cfg.Dir, parseSegmentName)
	if err != nil {
		return err
	}
	var size int64
	for _, seg := range segs {
		fi, err := os.Stat(segmentPath(w.cfg.Dir, seg))
		if err != nil {
			return fmt.Errorf("wal: %w", err)
		}
		size += fi.Size()
	}
	if len(segs) > 0 {
		w.first, w.last = segs[0], segs[len(segs)-1]
	}
	w.size.Store(size)
	spares, err := listFiles(w.cfg.Dir, parseSpareName)
	if err != nil {
		return err
	}
	for _, n := range spares {
		if len(w.spares) < w.cfg.RecycleSegments {
			w.spares = append(w.spares, n)
		} else if err := os.Remove(sparePath(w.cfg.Dir, n)); err != nil {
			return fmt.Errorf("wal: %w", err)
		}
	}
	return nil
}

// Segments returns the oldest and newest segment numbers on disk, both 0
// when there are none. The newest is the one Append writes to next, unless
// it fills up.
func (w *WAL) Segments() (first, last int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first, w.last
}

// Size returns the bytes in segment files. Records still queued for
// writing are not counted.
func (w *WAL) Size() int64 {
	return w.size.Load()
}

// Truncate deletes the segments numbered below beforeSeg, except the one
// being appended to. Callers pass the oldest segment (as returned by
// Append) that still holds records not yet flushed to storage.
func (w *WAL) Truncate(beforeSeg int) error {
	w.truncMu.Lock()
	defer w.truncMu.Unlock()
	first, limit, err := w.truncateRange(beforeSeg)
	if err != nil || first >= limit {
		return err
	}
	for seg := first; seg < limit; seg++ {
		if err := w.removeSegment(seg); err != nil {
			return err
		}
	}
	if err := syncDir(w.cfg.Dir); err != nil {
		return fmt.Errorf("wal: truncate: %w", err)
	}
	return nil
}

// truncateRange returns the segments [first, limit) that may be deleted.
func (w *WAL) truncateRange(beforeSeg int) (first, limit int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case stateOpened, stateReplaying:
		return 0, 0, ErrNotReplayed
	case stateClosed:
		return 0, 0, ErrClosed
	}
	// w.last is never past the segment the leader writes to, so it is safe
	// to keep even while the leader is moving to a new segment.
	return w.first, min(beforeSeg, w.last), nil
}

// removeSegment deletes one segment, or keeps its file as a spare; a
// missing one (a gap) is skipped.
func (w *WAL) removeSegment(seg int) error {
	path := segmentPath(w.cfg.Dir, seg)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		w.advanceFirst(seg+1, false)
		return nil
	}
	if err != nil {
		return fmt.Errorf("wal: truncate: %w", err)
	}
	spare := w.spareRoom() && w.recyclable(path, fi.Size(), seg)
	if spare {
		err = os.Rename(path, sparePath(w.cfg.Dir, seg))
	} else {
		err = os.Remove(path)
	}
	if err != nil {
		return fmt.Errorf("wal: truncate: %w", err)
	}
	w.size.Add(-fi.Size())
	w.advanceFirst(seg+1, spare)
	return nil
}

// recyclable reports whether segment seg's file may be overwritten by a
// later segment: only a file with its header, whose records carry its mask;
// a legacy segment's would replay as the later segment's.
func (w *WAL) recyclable(path string, size int64, seg int) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	masked, _, err := readFileHeader(f, size, seg)
	return err == nil && masked
}

func (w *WAL) spareRoom() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.spares) < w.cfg.RecycleSegments
}

// advanceFirst records that segments below seg are gone, the one before it
// kept as a spare if spare is set.
func (w *WAL) advanceFirst(seg int, spare bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.first = seg
	if spare {
		w.spares = append(w.spares, seg-1)
	}
}

// takeSpare hands out the oldest spare file's number, if there is one.
func (w *WAL) takeSpare() (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.spares) == 0 {
		return 0, false
	}
	n := w.spares[0]
	w.spares = w.spares[1:]
	return n, true
}

// Recycled returns how many segments were started in a spare file instead
// of a new one.
func (w *WAL) Recycled() int64 { return w.recycled.Load() }

// Close waits for appends in flight, syncs and closes the open segment.
// Appends that already entered the queue complete; later ones get
// ErrClosed.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.state == stateClosed {
		w.mu.Unlock()
		return nil
	}
	w.state = stateClosed
	w.drain()
	err := w.err
	w.mu.Unlock()
	return errors.Join(err, w.closeFile(true), w.lock.Close())
}

// drain flushes whatever is queued, leading a flush itself if needed, so
// that no appender waits forever on a closed WAL. Called with mu held.
func (w *WAL) drain() {
	for w.err == nil && (w.flushing || !w.gc.empty()) {
		if w.flushing {
			w.cond.Wait()
			continue
		}
		w.lead()
	}
}

// closeFile closes the open segment, synced if sync is set, and cut where
// its records end if it was a spare with older content beyond them: replay
// then reads every finished segment to its end, and Size counts the
// segment's own bytes.
func (w *WAL) closeFile(sync bool) error {
	if w.file == nil {
		return nil
	}
	var err error
	if w.fileOff < w.fileSize {
		if err = w.file.Truncate(w.fileOff); err == nil {
			w.size.Add(w.fileOff - w.fileSize)
			w.fileSize = w.fileOff
		}
	}
	if err == nil && sync {
		err = datasync(w.file)
	}
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	w.file = nil
	if err != nil {
		return fmt.Errorf("wal: close segment %d: %w", w.fileSeg, err)
	}
	return nil
}
