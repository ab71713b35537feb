package clickhouse

import (
	"encoding/binary"
	"reflect"
	"slices"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// Array columns sent as built.
//
// A log row carries its resource's attributes and its stream's labels, lists that every
// row of a resource or stream repeats: about 30 of a row's 47 strings. Held as ch-go
// String columns they cost each row their bytes again plus 16 bytes of position per
// string, about 1 KB a row, copied at build time and encoded one string at a time at send
// time; two batches of 100,000 rows took a quarter of an ingester's memory limit.
//
// wireRuns keeps an Array's elements already in the native protocol's encoding (a
// String's uvarint length and bytes, a UInt8's byte), as runs that rows share: a list
// many rows repeat is encoded once per batch and each row refers to it. At send time a
// wireElems stands in for the Array's element column and writes each row's run. Log and
// span batches build all their attribute and label arrays this way.

// wireRun is a row's elements: buf[off : off+n].
type wireRun struct{ off, n uint32 }

// wireRuns is an Array column's rows: their offsets (the Array's own column: the
// elements up to each row's end), and each row's run of encoded elements. Offsets in buf
// are 32-bit: a batch is bounded by -ingester.max-insert-records, far below 4 GiB.
type wireRuns struct {
	offsets []uint64
	runs    []wireRun
	buf     []byte
	elems   uint64 // elements in all rows
	sent    int    // bytes the rows' runs add up to
}

// from is where a list encoded next starts; run(from) is that list once encoded.
func (w *wireRuns) from() int { return len(w.buf) }
func (w *wireRuns) run(from int) wireRun {
	return wireRun{off: uint32(from), n: uint32(len(w.buf) - from)}
}

// addRow adds a row of n elements, encoded as r.
func (w *wireRuns) addRow(r wireRun, n int) {
	w.runs = append(w.runs, r)
	w.elems += uint64(n)
	w.sent += int(r.n)
	w.offsets = append(w.offsets, w.elems)
}

func (w *wireRuns) grow(rows int) {
	w.offsets = slices.Grow(w.offsets, rows)
	w.runs = slices.Grow(w.runs, rows)
}

func (w *wireRuns) reset() {
	w.offsets, w.runs, w.buf = w.offsets[:0], w.runs[:0], w.buf[:0]
	w.elems, w.sent = 0, 0
}

// rowBytes is row i's encoded elements.
func (w *wireRuns) rowBytes(i int) []byte {
	r := w.runs[i]
	return w.buf[r.off : r.off+r.n]
}

// wireStrArrays is an Array(String) column.
type wireStrArrays struct{ wireRuns }

func (w *wireStrArrays) put(s string) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// rows decodes the column, for clickhouse-go's own appends (appendColumn's fallback).
func (w *wireStrArrays) rows() [][]string {
	out := make([][]string, len(w.runs))
	for i := range w.runs {
		b := w.rowBytes(i)
		for len(b) > 0 {
			n, k := binary.Uvarint(b)
			out[i] = append(out[i], string(b[k:k+int(n)]))
			b = b[k+int(n):]
		}
	}
	return out
}

// putEncoded adds a string given as its uvarint length and bytes: nil is "".
func (w *wireStrArrays) putEncoded(v []byte) {
	if v == nil {
		v = emptyString
	}
	w.buf = append(w.buf, v...)
}

// wireU8Arrays is an Array(UInt8) column.
type wireU8Arrays struct{ wireRuns }

func (w *wireU8Arrays) put(v uint8) { w.buf = append(w.buf, v) }

func (w *wireU8Arrays) rows() [][]uint8 {
	out := make([][]uint8, len(w.runs))
	for i := range w.runs {
		out[i] = slices.Clone(w.rowBytes(i))
	}
	return out
}

// wireAttrs are the key, value and type arrays of an attribute list.
type wireAttrs struct {
	keys, values wireStrArrays
	types        wireU8Arrays
}

// attrRuns is one encoded attribute list.
type attrRuns struct {
	keys, values, types wireRun
	n                   int
}

func (a *wireAttrs) encode(attrs []*pb.Attr) attrRuns {
	k, v, t := a.keys.from(), a.values.from(), a.types.from()
	for _, at := range attrs {
		a.keys.put(at.Key)
		a.values.put(at.Value)
		a.types.put(uint8(at.Type))
	}
	return attrRuns{keys: a.keys.run(k), values: a.values.run(v), types: a.types.run(t), n: len(attrs)}
}

// putEncoded adds an attribute given as its pb.Attr wire bytes (LogBatch.AddEncoded),
// reporting false, with nothing added, when they are malformed.
func (a *wireAttrs) putEncoded(b []byte) bool {
	var key, value []byte
	var typ uint8
	// As distributors encode an attribute: its key, value and type in that order, each
	// length under 128, the type left out when 0. Read without the general field loop,
	// which was half of AddEncoded's reading.
	if k := canonicalSpan(b, encAttrKey<<3|2); k > 0 {
		key, b = b[1:k], b[k:]
		if v := canonicalSpan(b, encAttrValue<<3|2); v > 0 {
			value, b = b[1:v], b[v:]
		}
		if len(b) == 2 && b[0] == encAttrType<<3 && b[1] < 0x80 {
			typ, b = b[1], b[2:]
		}
	}
	for len(b) > 0 { // any other layout
		num, wt, v, _, n := wireField(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch {
		case num == encAttrKey && wt == protowire.BytesType:
			key = v
		case num == encAttrValue && wt == protowire.BytesType:
			value = v
		case num == encAttrType && wt == protowire.VarintType:
			typ = uint8(wireVarint(v))
		}
	}
	a.keys.putEncoded(key)
	a.values.putEncoded(value)
	a.types.put(typ)
	return true
}

// canonicalSpan is the length of the field at the start of b when it has the one-byte
// tag given and a one-byte length: tag, length and bytes; 0 otherwise.
func canonicalSpan(b []byte, tag byte) int {
	if len(b) < 2 || b[0] != tag || b[1] >= 0x80 || int(b[1]) > len(b)-2 {
		return 0
	}
	return 2 + int(b[1])
}

// truncate drops what was encoded since the lists' from() were k, v and t.
func (a *wireAttrs) truncate(k, v, t int) {
	a.keys.buf, a.values.buf, a.types.buf = a.keys.buf[:k], a.values.buf[:v], a.types.buf[:t]
}

func (a *wireAttrs) addRow(r attrRuns) {
	a.keys.addRow(r.keys, r.n)
	a.values.addRow(r.values, r.n)
	a.types.addRow(r.types, r.n)
}

func (a *wireAttrs) grow(rows int) { a.keys.grow(rows); a.values.grow(rows); a.types.grow(rows) }
func (a *wireAttrs) reset()        { a.keys.reset(); a.values.reset(); a.types.reset() }

// resourceAttrs are the resource attribute arrays of a batch: each resource's list is
// encoded once, keyed by the pushed *pb.Resource its records share.
type resourceAttrs struct {
	wireAttrs
	runs sharedRuns[pb.Resource, attrRuns]
}

func (a *resourceAttrs) add(res *pb.Resource) {
	r, ok := a.runs.get(res)
	if !ok {
		r = a.encode(res.GetAttributes())
		a.runs.put(res, r)
	}
	a.addRow(r)
}

func (a *resourceAttrs) reset() { a.wireAttrs.reset(); a.runs.reset() }

// sharedRuns maps what a batch's rows share (their stream, their resource) to the runs
// encoded for it, with a small direct-mapped cache in front of the map: rows in the logs
// table's order interleave a service's streams, so the map was looked up for nearly
// every row, 2% of an all-in-one process's CPU.
type sharedRuns[K, V any] struct {
	keys [64]*K
	vals [64]V
	all  map[*K]V
}

// slot is where p is cached: pointers of objects allocated together differ in their
// low bits above the allocator's 16-byte granularity.
func (c *sharedRuns[K, V]) slot(p *K) int { return int(uintptr(unsafe.Pointer(p))>>4) & 63 }

func (c *sharedRuns[K, V]) get(p *K) (V, bool) {
	s := c.slot(p)
	if c.keys[s] == p {
		return c.vals[s], true
	}
	v, ok := c.all[p]
	if ok {
		c.keys[s], c.vals[s] = p, v
	}
	return v, ok
}

func (c *sharedRuns[K, V]) put(p *K, v V) {
	if c.all == nil {
		c.all = map[*K]V{}
	}
	c.all[p] = v
	s := c.slot(p)
	c.keys[s], c.vals[s] = p, v
}

// reset forgets every entry: the runs point into the batch's buffers.
func (c *sharedRuns[K, V]) reset() {
	clear(c.all)
	clear(c.keys[:])
}

// wireElems stands in for an Array's element column while its INSERT is sent:
// clickhouse-go encodes an Array as its offsets, then its element column's Encode.
type wireElems struct {
	column.Interface // the element column clickhouse-go made: name, type
	w                *wireRuns
}

func (e *wireElems) Rows() int { return int(e.w.elems) }

func (e *wireElems) Encode(b *proto.Buffer) {
	b.Buf = slices.Grow(b.Buf, e.w.sent)
	for i := range e.w.runs {
		b.Buf = append(b.Buf, e.w.rowBytes(i)...)
	}
}

// appendWireArrays makes an empty one-level Array column send w: its offsets column takes
// w's offsets, and its element column, when it is the plain column elem expects (a
// String's or a UInt8's, not yet appended to), gives way to a wireElems.
func appendWireArrays(c column.Interface, w *wireRuns, elem func(column.Interface) bool) bool {
	a, ok := c.(*column.Array)
	if !ok || a.Rows() != 0 || !elem(a.Base()) || a.Base().Rows() != 0 {
		return false
	}
	offs := arrayOffsets(a)
	f, ok := reflect.TypeFor[column.Array]().FieldByName("values")
	if offs == nil || len(*offs) != 0 || !ok || f.Type != reflect.TypeFor[column.Interface]() {
		return false
	}
	*offs = w.offsets[:len(w.offsets):len(w.offsets)]
	values := (*column.Interface)(unsafe.Add(unsafe.Pointer(a), f.Offset))
	*values = &wireElems{Interface: *values, w: w}
	return true
}

func isStrColumn(c column.Interface) bool { _, ok := c.(*column.String); return ok }
func isU8Column(c column.Interface) bool  { _, ok := c.(*column.UInt8); return ok }
