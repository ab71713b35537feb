package clickhouse

import (
	"encoding/hex"
	"time"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
)

// Columns a batch builds in the layout the native protocol sends.
//
// A flush used to collect []string and [][]string columns (a slice of three fresh
// slices per record for its attributes, two hex strings for its trace and span ids)
// and then copy them into clickhouse-go's columns, which grew fresh buffers for every
// INSERT: the all-in-one profile spent 14% of its CPU clearing those buffers and
// faulting their pages in, and 5% handing them back to the kernel. These columns are
// the bytes and offsets ch-go encodes; insert hands them to clickhouse-go's columns
// as they are (colappend.go), and a batch that is Reset keeps their memory for the
// next flush.

// strColumn appends to a String column.
type strColumn struct{ proto.ColStr }

func (c *strColumn) add(s string) { c.Append(s) }

// addHex appends b hex-encoded, "" for no bytes (ids are stored as hex strings).
func (c *strColumn) addHex(b []byte) {
	start := len(c.Buf)
	c.Buf = hex.AppendEncode(c.Buf, b)
	c.Pos = append(c.Pos, proto.Position{Start: start, End: len(c.Buf)})
}

// at is row i, pointing into the column's buffer: valid until the column changes.
func (c *strColumn) at(i int) string {
	p := c.Pos[i]
	if p.End == p.Start {
		return ""
	}
	return unsafe.String(&c.Buf[p.Start], p.End-p.Start)
}

func (c *strColumn) reset() { c.Buf, c.Pos = c.Buf[:0], c.Pos[:0] }

// strings copies the column out, for clickhouse-go's own appends (appendColumn's fallback).
func (c *strColumn) strings() []string {
	out := make([]string, c.Rows())
	for i := range out {
		out[i] = c.Row(i)
	}
	return out
}

// strArrays appends to an Array(String) column: values of all rows back to back, and
// where each row's end.
type strArrays struct {
	offsets []uint64
	values  strColumn
}

func (a *strArrays) addRow(vs []string) {
	for _, v := range vs {
		a.add(v)
	}
	a.endRow()
}

// add appends one value to the row being built; endRow closes it.
func (a *strArrays) add(v string) { a.values.Append(v) }
func (a *strArrays) endRow()      { a.offsets = append(a.offsets, uint64(a.values.Rows())) }

func (a *strArrays) rows() [][]string {
	out := make([][]string, len(a.offsets))
	var start uint64
	for i, end := range a.offsets {
		row := make([]string, end-start)
		for j := range row {
			row[j] = a.values.Row(int(start) + j)
		}
		out[i], start = row, end
	}
	return out
}

func (a *strArrays) reset() { a.offsets = a.offsets[:0]; a.values.reset() }

// numArrays appends to an Array of a number type.
type numArrays[T any] struct {
	offsets []uint64
	values  []T
}

func (a *numArrays[T]) addRow(vs []T) {
	a.values = append(a.values, vs...)
	a.endRow()
}

func (a *numArrays[T]) add(v T) { a.values = append(a.values, v) }
func (a *numArrays[T]) endRow() { a.offsets = append(a.offsets, uint64(len(a.values))) }

func (a *numArrays[T]) rows() [][]T {
	out := make([][]T, len(a.offsets))
	var start uint64
	for i, end := range a.offsets {
		out[i], start = a.values[start:end:end], end
	}
	return out
}

func (a *numArrays[T]) reset() { a.offsets, a.values = a.offsets[:0], a.values[:0] }

// plainColumn is v as the slices clickhouse-go's own appends take, for columns whose
// layout appendColumn does not recognise.
func plainColumn(v any) any {
	switch v := v.(type) {
	case *strColumn:
		return v.strings()
	case *strArrays:
		return v.rows()
	case *numArrays[uint8]:
		return v.rows()
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
