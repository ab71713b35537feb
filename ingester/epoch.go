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

// logEntry is one log record held in memory, encoded in its push (held.go). It holds no
// pointers, only places: an epoch's entries are then memory the garbage collector does
// not scan. With a pointer to its push, its stream and its resource each, the entries of
// a loaded all-in-one process were most of the pointers every collection followed, some
// two million, about half of its marking.
type logEntry struct {
	id     uint64
	ts     int64  // unix ns
	off, n uint32 // the record is raw[off : off+n] of its push
	push   uint32 // its push: its epoch's pushes[push] (0 in a scannedPush)
	stream uint32 // its stream: the push's streams[stream] (labels, id, placement)
	res    uint32 // its resource index in the push (resourceIn)
	state  entryState
}

// spanEntry is one span held in memory, encoded in its push; see logEntry.
type spanEntry struct {
	id     uint64
	ts     int64 // start, unix ns
	off, n uint32
	push   uint32
	trace  uint32 // its trace: the push's traces[trace] (trace id, placement)
	res    uint32
	state  entryState
}

// heldLog is a log entry with the push its places are in.
type heldLog struct {
	logEntry
	p *heldPush
}

func (h *heldLog) tenant() string         { return h.p.tenant }
func (h *heldLog) meta() *pb.LogStream    { return h.p.streams[h.stream] }
func (h *heldLog) resource() *pb.Resource { return resourceIn(h.p.resources, h.res) }
func (h *heldLog) bytes() []byte          { return h.p.raw[h.off : h.off+h.n] }

// heldSpan is a span entry with the push its places are in.
type heldSpan struct {
	spanEntry
	p *heldPush
}

func (h *heldSpan) tenant() string         { return h.p.tenant }
func (h *heldSpan) meta() *pb.Trace        { return h.p.traces[h.trace] }
func (h *heldSpan) resource() *pb.Resource { return resourceIn(h.p.resources, h.res) }
func (h *heldSpan) bytes() []byte          { return h.p.raw[h.off : h.off+h.n] }

// epoch is a flush unit; see the package doc.
type epoch struct {
	id       uint64
	seq      uint32 // names the epoch in entryRefs (Ingester.bySeq)
	opened   time.Time
	closed   time.Time // zero while open
	firstSeg int
	pushes   []*heldPush // of the entries: logs and spans name theirs by place here
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

// logAt is e's log entry k with its push. Callers hold i.mu.
func (e *epoch) logAt(k int) heldLog { return logIn(e.logs, e.pushes, k) }

func (e *epoch) spanAt(k int) heldSpan { return spanIn(e.spans, e.pushes, k) }

// logIn is entry k of logs with its push, one of pushes.
func logIn(logs []logEntry, pushes []*heldPush, k int) heldLog {
	return heldLog{logs[k], pushes[logs[k].push]}
}

func spanIn(spans []spanEntry, pushes []*heldPush, k int) heldSpan {
	return heldSpan{spans[k], pushes[spans[k].push]}
}

func (e *epoch) records() int { return len(e.logs) + len(e.spans) }
