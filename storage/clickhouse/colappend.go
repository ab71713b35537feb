package clickhouse

import (
	"reflect"
	"slices"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	chproto "github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// Column appends sized in advance.
//
// clickhouse-go appends an Array(String) row one string at a time, boxing each in an
// interface, and lets ch-go's buffers grow by append: for a 20,000-record flush that was
// 100 MB of garbage, 60% of everything the flush allocated (BenchmarkWriteLogs: 173 MB
// and 700k allocations per flush before, 76 MB and 82k after), and an all-in-one
// process spent a third of its CPU in GC. These functions fill the ch-go columns under
// clickhouse-go's directly, each buffer grown once to its final size.
//
// clickhouse-go does not export those columns, so they are found by reflection: the
// field named "col" (and an Array's "offsets"), used only when its type is exactly the
// ch-go type expected. Any other layout (a future clickhouse-go, LowCardinality or
// Nullable columns) makes them return false, and insert uses clickhouse-go's own
// appends; TestColumnAppendsFast fails if that happens for the tables Strata writes.

// colField returns a pointer to the field named name of the struct c points to, when
// that field has type want; nil otherwise.
func colField(c any, name string, want reflect.Type) unsafe.Pointer {
	v := reflect.ValueOf(c)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f, ok := v.Elem().Type().FieldByName(name)
	if !ok || f.Type != want {
		return nil
	}
	return unsafe.Add(v.UnsafePointer(), f.Offset)
}

// strCol is the ch-go column of a clickhouse-go String column.
func strCol(c column.Interface) *proto.ColStr {
	return (*proto.ColStr)(colField(c, "col", reflect.TypeFor[proto.ColStr]()))
}

// numCol is the ch-go column of a clickhouse-go numeric column whose ch-go type is P
// (proto.ColUInt64 for UInt64, …), seen as the []T it is.
func numCol[T any, P ~[]T](c column.Interface) *[]T {
	return (*[]T)(colField(c, "col", reflect.TypeFor[P]()))
}

// arrayOffsets is the offsets column of a one-level clickhouse-go Array column: entry
// i is where row i's elements end in the values column.
func arrayOffsets(a *column.Array) *[]uint64 {
	f, ok := reflect.TypeFor[column.Array]().FieldByName("offsets")
	// offsets is []*offset, offset being struct{ values column.UInt64; … }.
	if !ok || f.Type.Kind() != reflect.Slice || f.Type.Elem().Kind() != reflect.Pointer ||
		f.Type.Elem().Elem().Kind() != reflect.Struct {
		return nil
	}
	vf, ok := f.Type.Elem().Elem().FieldByName("values")
	if !ok || vf.Type != reflect.TypeFor[column.UInt64]() {
		return nil
	}
	levels := *(*[]unsafe.Pointer)(unsafe.Add(unsafe.Pointer(a), f.Offset))
	if len(levels) != 1 || levels[0] == nil {
		return nil
	}
	return numCol[uint64, proto.ColUInt64]((*column.UInt64)(unsafe.Add(levels[0], vf.Offset)))
}

// appendStrings appends v to a String column.
func appendStrings(c column.Interface, v []string) bool {
	s := strCol(c)
	if s == nil {
		return false
	}
	n := 0
	for _, x := range v {
		n += len(x)
	}
	s.Buf = slices.Grow(s.Buf, n)
	s.Pos = slices.Grow(s.Pos, len(v))
	s.AppendArr(v)
	return true
}

// appendStrColumn puts a wireStrColumn sending v in the place of an empty String column
// (a fresh INSERT's). A column that already has rows is left to clickhouse-go's appends.
func appendStrColumn(slot *column.Interface, v *strColumn) bool {
	s, ok := (*slot).(*column.String)
	if !ok || s.Rows() != 0 {
		return false
	}
	*slot = &wireStrColumn{Interface: s, c: v}
	return true
}

// batchColumns is the columns of the block b sends: unlike b.Columns()'s copy, a column
// put in their place is the one encoded. nil when b is not a clickhouse-go batch of the
// layout expected.
func batchColumns(b driver.Batch) []column.Interface {
	p := colField(b, "block", reflect.TypeFor[*chproto.Block]())
	if p == nil {
		return nil
	}
	blk := *(**chproto.Block)(p)
	if blk == nil {
		return nil
	}
	return blk.Columns
}

// appendNums appends v to a numeric column whose ch-go type is P; an empty column takes
// v itself (capped, as in appendStrColumn).
func appendNums[T any, P ~[]T](c column.Interface, v []T) bool {
	col := numCol[T, P](c)
	if col == nil {
		return false
	}
	if len(*col) == 0 {
		*col = v[:len(v):len(v)]
		return true
	}
	*col = append(*col, v...)
	return true
}

// appendBuiltArrays appends an Array column built as offsets and values; fill appends
// the values to the element column.
func appendBuiltArrays(c column.Interface, offsets []uint64, fill func(values column.Interface) bool) bool {
	a, ok := c.(*column.Array)
	if !ok {
		return false
	}
	offs := arrayOffsets(a)
	if offs == nil {
		return false
	}
	var base uint64
	if k := len(*offs); k > 0 {
		base = (*offs)[k-1]
	}
	if !fill(a.Base()) {
		return false
	}
	if len(*offs) == 0 {
		*offs = offsets[:len(offsets):len(offsets)]
		return true
	}
	*offs = slices.Grow(*offs, len(offsets))
	for _, o := range offsets {
		*offs = append(*offs, base+o)
	}
	return true
}

// appendArrays appends rows to an Array column, each row one array; the element column
// is filled by fill, which reports false when it cannot.
func appendArrays[T any](c column.Interface, rows [][]T, fill func(values column.Interface, flat []T) bool) bool {
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	flat := make([]T, 0, n)
	offsets := make([]uint64, 0, len(rows))
	for _, r := range rows {
		flat = append(flat, r...)
		offsets = append(offsets, uint64(len(flat)))
	}
	return appendBuiltArrays(c, offsets, func(values column.Interface) bool { return fill(values, flat) })
}

// appendColumn appends a whole column of values to the column in slot (one of
// batchColumns) the fast way, reporting false when the column or the value type is not
// one it handles (nothing is appended then).
func appendColumn(slot *column.Interface, v any) bool {
	c := *slot
	switch v := v.(type) {
	case []string:
		return appendStrings(c, v)
	case []uint64:
		return appendNums[uint64, proto.ColUInt64](c, v)
	case []int64:
		return appendNums[int64, proto.ColInt64](c, v)
	case []uint32:
		return appendNums[uint32, proto.ColUInt32](c, v)
	case []uint16:
		return appendNums[uint16, proto.ColUInt16](c, v)
	case []uint8:
		return appendNums[uint8, proto.ColUInt8](c, v)
	case []int8:
		return appendNums[int8, proto.ColInt8](c, v)
	case [][]string:
		return appendArrays(c, v, appendStrings)
	case [][]uint8:
		return appendArrays(c, v, appendNums[uint8, proto.ColUInt8])
	case [][]int64:
		return appendArrays(c, v, appendNums[int64, proto.ColInt64])
	case proto.ColDate:
		return appendNums[proto.Date, proto.ColDate](c, v)
	case *strColumn:
		return appendStrColumn(slot, v)
	case *wireStrArrays:
		return appendWireArrays(c, &v.wireRuns, isStrColumn)
	case *wireU8Arrays:
		return appendWireArrays(c, &v.wireRuns, isU8Column)
	}
	return false
}
