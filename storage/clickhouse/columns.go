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
