package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ReplayStats describes what Replay read and what it could not.
type ReplayStats struct {
	Segments    int   // segment files read
	Records     int   // records passed to fn
	Bytes       int64 // payload bytes passed to fn
	Corruptions []Corruption
}

// Corruption is a region Replay skipped. In the last segment it is the torn
// tail a crash leaves and the file is cut there; in earlier segments it
// means damaged media or files, and the rest of that segment is skipped.
type Corruption struct {
	Segment   int
	Offset    int64 // where the first record not replayed starts
	Dropped   int64 // bytes from Offset to the end of the segment
	Truncated bool  // the segment was cut at Offset
	Err       error // what was wrong with the record, or the missing segment
}

// Replay calls fn for every record in segment order and repairs the tail
// for appending. It must be called once, after Open and before Append.
//
// fn must not keep payload after it returns: the buffer is reused. A nil fn
// only repairs the tail. An error from fn stops the replay and is returned
// wrapped; Replay may then be called again.
//
// Damaged records are never fatal: see Corruption. Only I/O errors and fn's
// errors are returned.
func (w *WAL) Replay(fn func(seg int, payload []byte) error) (ReplayStats, error) {
	segs, err := w.beginReplay()
	if err != nil {
		return ReplayStats{}, err
	}
	if fn == nil {
		fn = func(int, []byte) error { return nil }
	}
	var stats ReplayStats
	tail, err := w.replaySegments(segs, fn, &stats)
	if err == nil {
		err = w.finishReplay(segs, tail)
	}
	if err != nil {
		w.setState(stateOpened)
		return stats, err
	}
	return stats, nil
}

func (w *WAL) beginReplay() ([]int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case stateReplaying, stateReady:
		return nil, errors.New("wal: replay called twice")
	case stateClosed:
		return nil, ErrClosed
	}
	segs, err := listFiles(w.cfg.Dir, parseSegmentName)
	if err == nil {
		w.state = stateReplaying
	}
	return segs, err
}

func (w *WAL) setState(s state) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != stateClosed {
		w.state = s
	}
}

// tailState is where appending resumes after replay.
type tailState struct {
	file *os.File
	open bool  // appends may go on in file (else they start a new segment)
	size int64 // bytes on disk in all segments after repair
	good int64 // valid bytes in the last segment
}

func (w *WAL) replaySegments(segs []int, fn func(int, []byte) error, stats *ReplayStats) (tailState, error) {
	var tail tailState
	for i, seg := range segs {
		if i > 0 && seg != segs[i-1]+1 {
			stats.Corruptions = append(stats.Corruptions, missingSegments(segs[i-1]+1, seg-1))
		}
		res, err := replaySegment(w.cfg.Dir, seg, fn, stats)
		if err != nil {
			return tail, err
		}
		stats.Segments++
		if i == len(segs)-1 {
			tail.good = res.good
			tail.size += res.good
			tail.file, tail.open, err = w.repairTail(seg, res, stats)
			return tail, err
		}
		tail.size += res.size
		if res.corruption != nil {
			stats.Corruptions = append(stats.Corruptions, *res.corruption)
		}
	}
	return tail, nil
}

func missingSegments(from, to int) Corruption {
	return Corruption{Segment: from, Err: fmt.Errorf("segments %d to %d are missing", from, to)}
}

type segmentResult struct {
	size       int64 // file size
	good       int64 // length of the valid prefix (with the file header)
	masked     bool  // the segment has a valid file header (else legacy, or empty)
	stale      bool  // it ends at a recycled file's older content
	corruption *Corruption
}

// readFileHeader reports whether f, of size bytes, starts with the file
// header of segment seg, and whether it starts with one of an earlier
// segment (a recycled file renamed before its header was rewritten).
func readFileHeader(f *os.File, size int64, seg int) (masked, stale bool, err error) {
	if size < fileHeaderSize {
		return false, false, nil
	}
	var h [fileHeaderSize]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return false, false, err
	}
	if [8]byte(h[:8]) != fileMagic {
		return false, false, nil
	}
	n := binary.LittleEndian.Uint64(h[8:])
	return n == uint64(seg), n < uint64(seg), nil
}

func replaySegment(dir string, seg int, fn func(int, []byte) error, stats *ReplayStats) (segmentResult, error) {
	f, err := os.Open(segmentPath(dir, seg))
	if err != nil {
		return segmentResult{}, fmt.Errorf("wal: replay: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return segmentResult{}, fmt.Errorf("wal: replay: %w", err)
	}
	res := segmentResult{size: fi.Size()}
	masked, staleHeader, err := readFileHeader(f, res.size, seg)
	if err != nil {
		return res, fmt.Errorf("wal: replay segment %d: %w", seg, err)
	}
	if staleHeader {
		res.stale = true
		return res, nil
	}
	rr := newRecordReader(f, res.size, 0, 0)
	if masked {
		res.masked = true
		if _, err := f.Seek(fileHeaderSize, io.SeekStart); err != nil {
			return res, fmt.Errorf("wal: replay segment %d: %w", seg, err)
		}
		rr = newRecordReader(f, res.size, fileHeaderSize, seg)
	}
	for {
		payload, err := rr.next()
		res.good = rr.off
		switch {
		case err == io.EOF:
			return res, nil
		case errors.Is(err, errStale):
			res.stale = true
			return res, nil
		case errors.Is(err, errCorrupt):
			res.corruption = &Corruption{Segment: seg, Offset: rr.off, Dropped: res.size - rr.off, Err: err}
			return res, nil
		case err != nil:
			return res, fmt.Errorf("wal: replay segment %d: %w", seg, err)
		}
		if err := fn(seg, payload); err != nil {
			return res, fmt.Errorf("wal: replay segment %d: %w", seg, err)
		}
		stats.Records++
		stats.Bytes += int64(len(payload))
	}
}

// repairTail opens the last segment for appending at the end of its last
// good record, first cutting off a torn or corrupt tail, or a recycled
// file's older content, so that nothing follows the last good record. It
// reports whether appends may go on in it: a legacy or headerless segment is
// left as it is and appends start a new one.
func (w *WAL) repairTail(seg int, res segmentResult, stats *ReplayStats) (*os.File, bool, error) {
	f, err := os.OpenFile(segmentPath(w.cfg.Dir, seg), os.O_WRONLY, 0)
	if err != nil {
		return nil, false, fmt.Errorf("wal: open segment %d: %w", seg, err)
	}
	if res.good < res.size {
		if err := cutFile(f, res.good); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("wal: truncate segment %d: %w", seg, err)
		}
		if res.corruption != nil {
			res.corruption.Truncated = true
			stats.Corruptions = append(stats.Corruptions, *res.corruption)
		}
	}
	if _, err := f.Seek(res.good, io.SeekStart); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("wal: open segment %d: %w", seg, err)
	}
	return f, res.masked, nil
}

// cutFile truncates f and syncs, so that a crash right after recovery
// cannot bring the torn tail back in front of new records.
func cutFile(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	return datasync(f)
}

// finishReplay makes the WAL ready to append at the repaired tail.
func (w *WAL) finishReplay(segs []int, tail tailState) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == stateClosed {
		if tail.file != nil {
			tail.file.Close()
		}
		return ErrClosed
	}
	if len(segs) > 0 {
		w.first, w.last = segs[0], segs[len(segs)-1]
	}
	w.file, w.fileSeg, w.fileOff, w.fileSize = tail.file, w.last, tail.good, tail.good
	w.gc.tailSeg, w.gc.tailSize, w.gc.sealed = w.last, tail.good, !tail.open
	w.size.Store(tail.size)
	w.state = stateReady
	return nil
}
