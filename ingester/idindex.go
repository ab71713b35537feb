package ingester

import (
	"math/bits"
	"unsafe"
)

// entryRef locates a held record: the seq of its epoch and its position in the epoch's
// logs, or in its spans when the high bit of pos is set. It holds no pointer, so the
// index below is memory the garbage collector never scans.
type entryRef struct {
	seq uint32
	pos uint32
}

const spanBit = 1 << 31

func logRef(e *epoch, k int) entryRef  { return entryRef{seq: e.seq, pos: uint32(k)} }
func spanRef(e *epoch, k int) entryRef { return entryRef{seq: e.seq, pos: uint32(k) | spanBit} }

func (r entryRef) isSpan() bool { return r.pos&spanBit != 0 }
func (r entryRef) index() int   { return int(r.pos &^ spanBit) }

// idIndex maps every held record id to its entryRef; it is also the duplicate filter.
// Open addressing with linear probing over (id, ref) slots, homed by Fibonacci hashing
// of the id: one probe sequence both rejects a repeat and claims the slot of a new id,
// and deleting shifts the probe run back instead of leaving tombstones. A Go map of the
// same records cost an RF=3 ingester 14% of its CPU in probing and rehashing, and its
// epoch pointers made every GC cycle scan it.
type idIndex struct {
	slots []idSlot // a power of two long; id 0 marks a free slot
	shift uint     // 64 - log2(len(slots))
	n     int      // ids in slots
	min   int      // slots it never shrinks below
	// Id 0 cannot mark itself, so it lives apart.
	hasZero bool
	zero    entryRef
}

type idSlot struct {
	id  uint64
	ref entryRef
}

// minIndexSlots is the smallest table (1 MiB).
const minIndexSlots = 1 << 16

// maxPresizedSlots caps the table newIDIndex sizes up front (64 MiB).
const maxPresizedSlots = 1 << 22

// newIDIndex returns an index that holds expect ids without growing. Growing rehashes
// every id into a new table, all of it memory faulted in at once while pushes wait:
// 6.5-7% of an RF=3 ingester's CPU in its first 20 s. Slots nobody wrote cost address
// space, not memory.
func newIDIndex(expect int) idIndex {
	x := idIndex{min: max(minIndexSlots, min(maxPresizedSlots, 1<<bits.Len(uint(expect*8/5))))}
	x.resize(x.min)
	return x
}

func (x *idIndex) len() int {
	if x.hasZero {
		return x.n + 1
	}
	return x.n
}

func (x *idIndex) home(id uint64) uint64 { return (id * 0x9E3779B97F4A7C15) >> x.shift }

// prefetchAhead is how many ids ahead of its claims or deletes a loop prefetches.
const prefetchAhead = 8

// prefetch asks for the home slot of id, so that a claim or delete of it a few steps
// later finds the slot in cache. Each probe otherwise waits for its own cache miss, and
// holds up everything after it; prefetches issued ahead overlap the misses and hold up
// nothing: retiring an epoch's ids took 51-53 ns an id instead of 112-113
// (BenchmarkIndexDeleteEpoch), a claim and a delete 69-72 ns instead of 92-119
// (BenchmarkIndex). A plain load ahead instead of the prefetch took 93-102 ns an id.
func (x *idIndex) prefetch(id uint64) {
	prefetchLine(unsafe.Pointer(&x.slots[x.home(id)]))
}

// get returns the ref of id.
func (x *idIndex) get(id uint64) (entryRef, bool) {
	if id == 0 {
		return x.zero, x.hasZero
	}
	mask := uint64(len(x.slots) - 1)
	for k := x.home(id); ; k = (k + 1) & mask {
		s := &x.slots[k]
		if s.id == id {
			return s.ref, true
		}
		if s.id == 0 {
			return entryRef{}, false
		}
	}
}

// claim returns where the ref of id is kept and whether id was absent: then it has just
// been added, and the caller sets the ref before the next change of the index.
func (x *idIndex) claim(id uint64) (*entryRef, bool) {
	if id == 0 {
		fresh := !x.hasZero
		x.hasZero = true
		return &x.zero, fresh
	}
	// At most 5/8 full, a miss probes about 3.5 slots on average.
	if (x.n+1)*8 > len(x.slots)*5 {
		x.resize(2 * len(x.slots))
	}
	mask := uint64(len(x.slots) - 1)
	for k := x.home(id); ; k = (k + 1) & mask {
		s := &x.slots[k]
		if s.id == id {
			return &s.ref, false
		}
		if s.id == 0 {
			s.id = id
			x.n++
			return &s.ref, true
		}
	}
}

// delete removes id if held. The slots after it in its probe run move back into the gap
// when their home allows, so lookups never need tombstones.
func (x *idIndex) delete(id uint64) {
	if id == 0 {
		x.hasZero, x.zero = false, entryRef{}
		return
	}
	mask := uint64(len(x.slots) - 1)
	k := x.home(id)
	for {
		if x.slots[k].id == id {
			break
		}
		if x.slots[k].id == 0 {
			return
		}
		k = (k + 1) & mask
	}
	gap := k
	for j := (k + 1) & mask; x.slots[j].id != 0; j = (j + 1) & mask {
		// The slot at j may fill the gap unless its home lies cyclically in (gap, j].
		if h := x.home(x.slots[j].id); (j-h)&mask >= (j-gap)&mask {
			x.slots[gap] = x.slots[j]
			gap = j
		}
	}
	x.slots[gap] = idSlot{}
	x.n--
	// Emptied by retired epochs, the table shrinks back to at most half full.
	if len(x.slots) > x.min && x.n*8 < len(x.slots) {
		x.resize(max(x.min, 1<<bits.Len(uint(x.n*2))))
	}
}

func (x *idIndex) resize(n int) {
	old := x.slots
	x.slots = make([]idSlot, n)
	x.shift = uint(64 - bits.TrailingZeros(uint(n)))
	mask := uint64(n - 1)
	for _, s := range old {
		if s.id == 0 {
			continue
		}
		k := x.home(s.id)
		for x.slots[k].id != 0 {
			k = (k + 1) & mask
		}
		x.slots[k] = s
	}
}
