package wal

import (
	"fmt"
	"os"
	"runtime"
)

// groupCommit is the queue of records waiting for a leader, and the logical
// end of the log including them. Tickets are byte counts: an appender's
// ticket is the queue position just past its records, and it is done once
// everything up to the ticket is written (and synced).
type groupCommit struct {
	pending  *batch
	spare    *batch // the other batch, idle while the leader writes pending
	tailSeg  int    // segment the next record goes to if it fits
	tailSize int64  // bytes in tailSeg, queued ones included
	sealed   bool   // tailSeg takes no more records (a legacy segment replayed last)
	queued   int64  // ticket of the last queued record
	done     int64  // ticket of the last written batch
}

// batch holds the records of one or more Append calls: their headers, and
// the callers' payloads by reference (Append does not return before they
// are written). Copying payloads into one buffer instead cost 43% of an
// RF=3 ingester's CPU: the buffer grew by reallocation while a sync was
// slow, and each grown copy was new memory to fault in. A segment change
// happens only between calls, so one call's records never straddle two
// segments.
type batch struct {
	headers []byte   // headerSize bytes per record
	parts   [][]byte // the records' payloads, each in one or more parts
	ends    []int    // record i's payload is parts[ends[i-1]:ends[i]] (from 0 for i = 0)
	splits  []split
	iov     [][]byte // scratch for writev
}

// split marks that records from index rec on go to segment seg.
type split struct {
	rec int
	seg int
}

func (g *groupCommit) init() {
	g.pending, g.spare = &batch{}, &batch{}
}

func (g *groupCommit) empty() bool { return len(g.pending.ends) == 0 }

// enqueue queues records at the tail and returns their segment and ticket:
// one record per part, or with joined one record of all parts. headers are
// the records' headers (appendHeader), which enqueue masks for their
// segment, and n their encoded length.
func (g *groupCommit) enqueue(headers []byte, parts [][]byte, joined bool, n int64, segmentSize int64) (seg int, ticket int64) {
	b := g.pending
	if g.tailSeg == 0 || g.sealed || (g.tailSize > fileHeaderSize && g.tailSize+n > segmentSize) {
		g.tailSeg++
		g.tailSize, g.sealed = fileHeaderSize, false
		b.splits = append(b.splits, split{rec: len(b.ends), seg: g.tailSeg})
	}
	maskHeaders(headers, g.tailSeg)
	b.headers = append(b.headers, headers...)
	base := len(b.parts)
	b.parts = append(b.parts, parts...)
	if joined {
		b.ends = append(b.ends, len(b.parts))
	} else {
		for k := range parts {
			b.ends = append(b.ends, base+k+1)
		}
	}
	g.tailSize += n
	g.queued += n
	return g.tailSeg, g.queued
}

// take hands the pending batch to a leader and starts a new one.
func (g *groupCommit) take() (b *batch, ticket int64) {
	b = g.pending
	g.pending, g.spare = g.spare, nil
	return b, g.queued
}

func (g *groupCommit) recycle(b *batch) {
	clear(b.parts) // drop the references to callers' payloads
	clear(b.iov)
	b.headers, b.parts, b.ends, b.splits, b.iov = b.headers[:0], b.parts[:0], b.ends[:0], b.splits[:0], b.iov[:0]
	g.spare = b
}

func payloadLen(parts [][]byte) int {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return n
}

// Append writes payloads as consecutive records in one segment and returns
// that segment's number once they are durable per Config.SyncMode.
//
// Concurrent calls are committed together: while one caller (the leader)
// writes and syncs, others queue their records; when the leader is done,
// one of them writes everything queued with a single write and sync. The
// payloads must not be modified until Append returns.
//
// If Append fails with an I/O error, the WAL refuses all further appends
// with that error: after a failed write or fsync the file contents are
// unknown, and only a restart (Open and Replay) repairs the tail.
func (w *WAL) Append(payloads ...[]byte) (seg int, err error) {
	for _, p := range payloads {
		if err := w.checkSize(len(p)); err != nil {
			return 0, err
		}
	}
	var headers []byte
	if len(payloads) > 0 {
		headers = make([]byte, 0, headerSize*len(payloads))
		for _, p := range payloads {
			headers = appendHeader(headers, p)
		}
	}
	return w.append(headers, payloads, false, int64(len(payloads)*headerSize+payloadLen(payloads)))
}

// AppendJoined is Append of one record whose payload is parts one after
// another, without joining them in memory first.
func (w *WAL) AppendJoined(parts ...[]byte) (seg int, err error) {
	n := payloadLen(parts)
	if err := w.checkSize(n); err != nil {
		return 0, err
	}
	return w.append(appendHeader(make([]byte, 0, headerSize), parts...), parts, true, int64(headerSize+n))
}

// append queues records (see enqueue) and waits until they are written.
// Headers and checksums are computed before taking the lock.
func (w *WAL) append(headers []byte, parts [][]byte, joined bool, n int64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.appendable(); err != nil {
		return 0, err
	}
	if len(parts) == 0 && !joined {
		return w.gc.tailSeg, nil
	}
	seg, ticket := w.gc.enqueue(headers, parts, joined, n, w.cfg.SegmentSize)
	if err := w.await(ticket); err != nil {
		return 0, err
	}
	return seg, nil
}

func (w *WAL) checkSize(n int) error {
	if n > w.cfg.MaxRecordSize {
		return fmt.Errorf("%w: %d bytes, the limit is %d (max record size)", ErrRecordTooLarge, n, w.cfg.MaxRecordSize)
	}
	return nil
}

func (w *WAL) appendable() error {
	switch w.state {
	case stateOpened, stateReplaying:
		return ErrNotReplayed
	case stateClosed:
		return ErrClosed
	}
	return w.err
}

// await returns once the queue is written up to ticket, leading the flush
// itself when nobody else is. Called with mu held.
func (w *WAL) await(ticket int64) error {
	for w.gc.done < ticket {
		switch {
		case w.err != nil:
			return w.err
		case w.flushing:
			w.waiters++
			w.cond.Wait()
			w.waiters--
		default:
			w.lead()
		}
	}
	return nil
}

// lead writes the whole queue without holding mu, so that appenders keep
// queueing meanwhile, then wakes the waiters. Called with mu held.
func (w *WAL) lead() {
	w.flushing = true
	w.flushes.Add(1)
	if w.waiters > 0 {
		w.yield()
	}
	b, ticket := w.gc.take()
	w.mu.Unlock()
	err := w.flush(b)
	w.mu.Lock()
	w.flushing = false
	w.gc.recycle(b)
	if err != nil && w.err == nil {
		w.err = err
	} else if err == nil {
		w.gc.done = ticket
	}
	w.cond.Broadcast()
}

// yield lets other goroutines run before the leader takes the queue. With
// waiters about, the previous flush has just acknowledged some appenders,
// who typically append again at once; without the yield they miss this
// flush, and flushes alternate between a lone record and everyone else.
// Called with mu held and flushing set, so nobody else leads meanwhile.
func (w *WAL) yield() {
	w.mu.Unlock()
	runtime.Gosched()
	w.mu.Lock()
}

// flush writes a batch, moving to new segments at its splits, then syncs.
func (w *WAL) flush(b *batch) error {
	start := 0
	for _, s := range b.splits {
		if err := w.writeRecords(b, start, s.rec); err != nil {
			return err
		}
		if err := w.rotate(s.seg); err != nil {
			return err
		}
		start = s.rec
	}
	if err := w.writeRecords(b, start, len(b.ends)); err != nil {
		return err
	}
	return w.sync()
}

// writeRecords writes records [from, to) of b to the current segment.
func (w *WAL) writeRecords(b *batch, from, to int) error {
	if from == to {
		return nil
	}
	b.iov = b.iov[:0]
	for i := from; i < to; i++ {
		first := 0
		if i > 0 {
			first = b.ends[i-1]
		}
		b.iov = append(b.iov, b.headers[i*headerSize:(i+1)*headerSize:(i+1)*headerSize])
		b.iov = append(b.iov, b.parts[first:b.ends[i]]...)
	}
	n, err := writeVectors(w.file, b.iov)
	w.wrote(n)
	if err != nil {
		return fmt.Errorf("wal: write segment %d: %w", w.fileSeg, err)
	}
	return nil
}

// wrote accounts for n bytes written to the open segment at fileOff, which
// grow the file (and Size) only past its former end.
func (w *WAL) wrote(n int64) {
	w.fileOff += n
	if w.fileOff > w.fileSize {
		w.size.Add(w.fileOff - w.fileSize)
		w.fileSize = w.fileOff
	}
}

func (w *WAL) sync() error {
	if w.cfg.SyncMode != SyncAlways {
		return nil
	}
	if err := datasync(w.file); err != nil {
		return fmt.Errorf("wal: sync segment %d: %w", w.fileSeg, err)
	}
	return nil
}

// rotate closes the current segment, synced so that everything acknowledged
// with it is durable, and starts segment seg in a spare file or a new one.
func (w *WAL) rotate(seg int) error {
	if err := w.closeFile(w.cfg.SyncMode == SyncAlways); err != nil {
		return err
	}
	f, end, err := w.segmentFile(seg)
	if err != nil {
		return fmt.Errorf("wal: create segment %d: %w", seg, err)
	}
	w.file, w.fileSeg, w.fileOff, w.fileSize = f, seg, 0, end
	w.size.Add(end) // a spare's bytes are now the segment's
	// The header goes to disk with the segment's first records' sync.
	n, err := f.Write(appendFileHeader(make([]byte, 0, fileHeaderSize), seg))
	w.wrote(int64(n))
	if err != nil {
		return fmt.Errorf("wal: write segment %d: %w", seg, err)
	}
	if w.cfg.SyncMode == SyncAlways {
		if err := syncDir(w.cfg.Dir); err != nil {
			return fmt.Errorf("wal: create segment %d: %w", seg, err)
		}
	}
	w.segmentCreated(seg)
	return nil
}

// segmentFile opens segment seg for writing from its start: a spare renamed
// (its size is end), or a new file.
func (w *WAL) segmentFile(seg int) (f *os.File, end int64, err error) {
	path := segmentPath(w.cfg.Dir, seg)
	if spare, ok := w.takeSpare(); ok {
		if err := os.Rename(sparePath(w.cfg.Dir, spare), path); err != nil {
			return nil, 0, err
		}
		if f, err = os.OpenFile(path, os.O_WRONLY, 0); err != nil {
			return nil, 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		w.recycled.Add(1)
		return f, fi.Size(), nil
	}
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	return f, 0, err
}

func (w *WAL) segmentCreated(seg int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = seg
	if w.first == 0 {
		w.first = seg
	}
}
