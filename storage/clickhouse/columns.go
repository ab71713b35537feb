package clickhouse

import (
	"encoding/binary"
	"encoding/hex"
	"slices"
	"time"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// Columns a batch builds in the layout the native protocol sends.
//
// A flush used to collect []string and [][]string columns (a slice of three fresh
// slices per record for its attributes, two hex strings for its trace and span ids)
// and then copy them into clickhouse-go's columns, which grew fresh buffers for every
// INSERT: the all-in-one profile spent 14% of its CPU clearing those buffers and
// faulting their pages in, and 5% handing them back to the kernel. These columns are
// the bytes and offsets ch-go encodes, or the bytes it sends; insert hands them to
// clickhouse-go's columns as they are (colappend.go), and a batch that is Reset keeps
// their memory for the next flush.

// strColumn is a String column kept as the native protocol sends it: each row's uvarint
// length, then its bytes. At send time a wireStrColumn stands in for clickhouse-go's
// column and writes them with one copy; held as ch-go's ColStr, bytes plus a 16-byte
// position per row, they were encoded again row by row, 4% of an all-in-one process's
// CPU. ends are 32-bit, as wireRuns' offsets: a batch is bounded by
// -ingester.max-insert-records and the ingester's memory limit, far below 4 GiB.
type strColumn struct {
	buf  []byte
	ends []uint32 // ends[i] is where row i ends in buf
}

func (c *strColumn) add(s string) {
	if len(s) < 0x80 { // a one-byte length, as most strings here have
		c.buf = append(c.buf, byte(len(s)))
	} else {
		c.buf = binary.AppendUvarint(c.buf, uint64(len(s)))
	}
	c.buf = append(c.buf, s...)
	c.ends = append(c.ends, uint32(len(c.buf)))
}

// addEncoded appends a string given as its uvarint length and bytes, as protobuf
// encodes one: nil appends "".
func (c *strColumn) addEncoded(v []byte) {
	if v == nil {
		v = emptyString
	}
	c.buf = append(c.buf, v...)
	c.ends = append(c.ends, uint32(len(c.buf)))
}

// emptyString is "" encoded: a zero length.
var emptyString = []byte{0}

// addHex appends b hex-encoded, "" for no bytes (ids are stored as hex strings).
func (c *strColumn) addHex(b []byte) {
	c.buf = binary.AppendUvarint(c.buf, uint64(hex.EncodedLen(len(b))))
	c.buf = hex.AppendEncode(c.buf, b)
	c.ends = append(c.ends, uint32(len(c.buf)))
}

// Rows is the number of rows.
func (c *strColumn) Rows() int { return len(c.ends) }

// at is row i, pointing into the column's buffer: valid until the column changes.
func (c *strColumn) at(i int) string {
	start := 0
	if i > 0 {
		start = int(c.ends[i-1])
	}
	n, k := binary.Uvarint(c.buf[start:])
	if n == 0 {
		return ""
	}
	return unsafe.String(&c.buf[start+k], int(n))
}

func (c *strColumn) grow(rows int) { c.ends = slices.Grow(c.ends, rows) }

func (c *strColumn) reset() { c.buf, c.ends = c.buf[:0], c.ends[:0] }

// strings copies the column out, for clickhouse-go's own appends (appendColumn's fallback).
func (c *strColumn) strings() []string {
	out := make([]string, c.Rows())
	for i := range out {
		out[i] = c.at(i)
	}
	return out
}

// wireStrColumn stands in for a String column of an INSERT while it is sent.
type wireStrColumn struct {
	column.Interface // the column clickhouse-go made: name, type
	c                *strColumn
}

func (w *wireStrColumn) Rows() int { return w.c.Rows() }

func (w *wireStrColumn) Encode(b *proto.Buffer) { b.Buf = append(b.Buf, w.c.buf...) }

// plainColumn is v as the slices clickhouse-go's own appends take, for columns whose
// layout appendColumn does not recognise.
func plainColumn(v any) any {
	switch v := v.(type) {
	case *strColumn:
		return v.strings()
	case *wireStrArrays:
		return v.rows()
	case *wireU8Arrays:
		return v.rows()
	case proto.ColDate:
		out := make([]time.Time, len(v))
		for i, d := range v {
			out[i] = d.Time()
		}
		return out
	}
	return v
}
