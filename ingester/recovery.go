package ingester

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/go-kit/log/level"
)

// WAL record types. A record is: type (1 byte), epoch or flush id (8 bytes), payload.
const (
	recPush     byte = 1 // payload: PushRequest
	recFlushed  byte = 2 // payload: ids the epoch's flush stored
	recReleased byte = 3 // payload: ids another replica stored
	// recFlushIntent precedes an insert; without a matching recFlushed the flush's outcome
	// is unknown and replay asks storage.
	recFlushIntent byte = 4 // payload: ids the flush is about to store
)

const recHeader = 9

// withHeader fills the header of a buffer whose first recHeader bytes are reserved.
func withHeader(typ byte, id uint64, buf []byte) []byte {
	buf[0] = typ
	binary.LittleEndian.PutUint64(buf[1:recHeader], id)
	return buf
}

func encodeIDs(ids []uint64) []byte {
	buf := make([]byte, recHeader+8*len(ids))
	for k, id := range ids {
		binary.LittleEndian.PutUint64(buf[recHeader+8*k:], id)
	}
	return buf
}

func decodeIDs(p []byte) []uint64 {
	ids := make([]uint64, len(p)/8)
	for k := range ids {
		ids[k] = binary.LittleEndian.Uint64(p[8*k:])
	}
	return ids
}

// replay rebuilds memory from the WAL: pushes go back into the epochs they were written
// to, and flush and release events mark records as they were before the restart.
func (i *Ingester) replay() error {
	start := time.Now()
	now := start
	epochs := map[uint64]*epoch{}
	uncertain := map[uint64]uint64{} // record id -> flush id of an unfinished flush
	var pushes, bad int
	stats, err := i.wal.Replay(func(seg int, rec []byte) error {
		if len(rec) < recHeader {
			bad++
			return nil
		}
		id := binary.LittleEndian.Uint64(rec[1:recHeader])
		body := rec[recHeader:]
		i.mu.Lock()
		defer i.mu.Unlock()
		switch rec[0] {
		case recPush:
			// The replay buffer is reused for the next record; held records keep theirs.
			sp, err := scanPush(bytes.Clone(body))
			if err != nil {
				bad++
				return nil
			}
			e := epochs[id]
			if e == nil {
				e = i.addEpoch(&epoch{id: id, opened: now, closed: now, firstSeg: seg})
				epochs[id] = e
				i.epochs = append(i.epochs[:len(i.epochs)-1], e, i.cur)
			}
			i.insert(e, sp, now)
			pushes++
		case recFlushIntent:
			for _, rid := range decodeIDs(body) {
				uncertain[rid] = id
			}
		case recFlushed:
			ids := decodeIDs(body)
			for _, rid := range ids {
				delete(uncertain, rid)
			}
			i.markFlushed(ids, now)
		case recReleased:
			i.release(decodeIDs(body), now)
		default:
			bad++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replay WAL: %w", err)
	}
	i.resolveUncertain(uncertain, now)
	i.m.replayed.Add(float64(i.index.len()))
	level.Info(i.logger).Log("msg", "WAL replayed", "pushes", pushes, "records_in_memory", i.index.len(), "epochs", len(epochs),
		"undecodable", bad, "stats", fmt.Sprintf("%+v", stats), "duration", time.Since(start))
	return nil
}

// markFlushed marks records this ingester stored as flushed, released ones included:
// another replica's flush and release can cross this one (its release arrives between
// this insert and this call). Storage then holds the record under this ingester's flush
// id, which queries exclude while this ingester names the epoch, so this ingester must
// go on returning it from memory; left released, the record was in neither place (found
// by the kill -9 cluster test: counts short by a whole batch). Callers hold i.mu.
func (i *Ingester) markFlushed(ids []uint64, now time.Time) {
	for _, id := range ids {
		if e, st, ok := i.held(id); ok {
			i.markOne(e, st, now)
		}
	}
}

// markOne marks a record of epoch e flushed, given its state. Callers hold i.mu.
func (i *Ingester) markOne(e *epoch, st *entryState, now time.Time) {
	switch *st {
	case statePending:
		*st = stateFlushed
		i.settle(e, now)
	case stateReleased: // settled when it was released
		*st = stateFlushed
	}
}

// resolveUncertain settles flushes that were in flight when the process died: what
// storage holds under their flush id is marked flushed (and the WAL told), the rest stays
// pending and is flushed again. If storage cannot be asked, everything stays pending: a
// repeat, never a loss.
func (i *Ingester) resolveUncertain(uncertain map[uint64]uint64, now time.Time) {
	byFlush := map[uint64][]uint64{}
	for rid, fid := range uncertain {
		byFlush[fid] = append(byFlush[fid], rid)
	}
	for fid, ids := range byFlush {
		ctx, cancel := context.WithTimeout(context.Background(), i.cfg.FlushTimeout)
		stored, err := i.store.StoredIDs(ctx, fid)
		cancel()
		if err != nil {
			level.Warn(i.logger).Log("msg", "cannot tell which records an interrupted flush stored; they will be flushed again", "flush_id", fid, "err", err)
			continue
		}
		var done []uint64
		for _, rid := range ids {
			if stored[rid] {
				done = append(done, rid)
			}
		}
		if len(done) == 0 {
			continue
		}
		if _, err := i.wal.Append(withHeader(recFlushed, fid, encodeIDs(done))); err != nil {
			level.Warn(i.logger).Log("msg", "WAL append of flush marker failed", "err", err)
		}
		i.mu.Lock()
		i.markFlushed(done, now)
		i.mu.Unlock()
		level.Info(i.logger).Log("msg", "interrupted flush resolved", "flush_id", fid, "stored", len(done), "to_flush_again", len(ids)-len(done))
	}
}
