package ingester

import (
	"time"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

type entryState uint8

const (
	statePending entryState = iota
	stateFlushed
	stateReleased
)

// logEntry is one log record held in memory, encoded in its push (held.go).
type logEntry struct {
	push   *heldPush
	stream *pb.LogStream // labels, id and placement; Records is nil
	res    *pb.Resource
	id     uint64
	ts     int64  // unix ns
	off, n uint32 // the record is push.raw[off : off+n]
	state  entryState
}

func (le *logEntry) tenant() string { return le.push.tenant }

// spanEntry is one span held in memory, encoded in its push.
type spanEntry struct {
	push   *heldPush
	trace  *pb.Trace // trace id and placement; Spans is nil
	res    *pb.Resource
	id     uint64
	ts     int64 // start, unix ns
	off, n uint32
	state  entryState
}

func (se *spanEntry) tenant() string { return se.push.tenant }

// epoch is a flush unit; see the package doc.
type epoch struct {
	id       uint64
	seq      uint32 // names the epoch in entryRefs (Ingester.bySeq)
	opened   time.Time
	closed   time.Time // zero while open
	firstSeg int
	logs     []logEntry
	spans    []spanEntry
	pending  int
	bytes    int64
	doneAt   time.Time // when pending last reached zero after closing
	// reserved counts the records of pushes that chose this epoch and are being written
	// to the WAL: they are in no slice yet, but count toward the epoch's size.
	reserved int
	// flushing counts the flush works of this epoch in flight. Neither these nor reserved
	// pushes let it retire.
	flushing int
}

func (e *epoch) isClosed() bool { return !e.closed.IsZero() }

func (e *epoch) records() int { return len(e.logs) + len(e.spans) }
