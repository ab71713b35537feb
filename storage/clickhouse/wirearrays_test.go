package clickhouse

import (
	"reflect"
	"testing"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// The fallback for servers or clickhouse-go versions whose columns appendWireArrays does
// not recognise decodes the runs back into rows: shared runs, empty lists and long values
// (two-byte lengths) come back as they were added.
func TestWireArraysDecodeToRows(t *testing.T) {
	long := string(make([]byte, 300))
	lists := [][]*pb.Attr{
		{{Key: "a", Value: "1"}, {Key: "b", Value: long, Type: pb.AttrType_ATTR_TYPE_INT}},
		nil,
		{{Key: "", Value: "x", Type: pb.AttrType_ATTR_TYPE_BOOL}},
	}
	var w wireAttrs
	runs := make([]attrRuns, len(lists))
	for i, l := range lists {
		runs[i] = w.encode(l)
	}
	order := []int{0, 1, 0, 2, 2, 1, 0}
	var wantK, wantV [][]string
	var wantT [][]uint8
	for _, i := range order {
		w.addRow(runs[i])
		var k, v []string
		var ty []uint8
		for _, a := range lists[i] {
			k, v, ty = append(k, a.Key), append(v, a.Value), append(ty, uint8(a.Type))
		}
		wantK, wantV, wantT = append(wantK, k), append(wantV, v), append(wantT, ty)
	}
	if got := w.keys.rows(); !reflect.DeepEqual(got, wantK) {
		t.Errorf("keys decode as %q, want %q", got, wantK)
	}
	if got := w.values.rows(); !reflect.DeepEqual(got, wantV) {
		t.Errorf("values decode as %q, want %q", got, wantV)
	}
	if got := w.types.rows(); len(got) != len(wantT) {
		t.Errorf("types decode as %v, want %v", got, wantT)
	} else {
		for i := range got {
			if len(got[i]) != len(wantT[i]) || (len(got[i]) > 0 && !reflect.DeepEqual(got[i], wantT[i])) {
				t.Errorf("types row %d decodes as %v, want %v", i, got[i], wantT[i])
			}
		}
	}
	if want := []uint64{2, 2, 4, 5, 6, 6, 8}; !reflect.DeepEqual(w.keys.offsets, want) {
		t.Errorf("offsets %v, want %v", w.keys.offsets, want)
	}
}
