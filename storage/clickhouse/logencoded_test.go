package clickhouse

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// AddEncoded appends, from a record's wire bytes, exactly the row Add appends for the
// record they decode to: every column, the stream and block bookkeeping and the blooms.
// The records cover absent and empty fields, strings whose length takes two uvarint
// bytes, ids of any length, and encodings proto.Marshal does not write but accepts: a
// field repeated (the last wins), unknown fields, a field of the wrong wire type.
func TestAddEncodedMatchesAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixNano()
	str := func() string {
		switch rng.IntN(5) {
		case 0:
			return ""
		case 1:
			return strings.Repeat("ü", 64+rng.IntN(200)) // 128+ bytes: a two-byte length
		default:
			return fmt.Sprintf("v%d", rng.IntN(1000))
		}
	}
	id := func() []byte {
		return [][]byte{nil, {1, 2, 3, 4, 5, 6, 7, 8}, {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, {7}}[rng.IntN(4)]
	}
	streams := []*pb.LogStream{{StreamId: 1, Labels: []*pb.Label{{Name: "service_name", Value: "a"}}}, {StreamId: 2, Labels: []*pb.Label{{Name: "service_name", Value: "b"}}}}
	resources := []*pb.Resource{{ServiceName: "a", Attributes: []*pb.Attr{{Key: "host", Value: "h1"}}}, {ServiceName: "b"}}
	var want, got LogBatch
	var wires [][]byte
	for k := range 400 {
		r := &pb.LogRecord{
			Id: rng.Uint64(), Timestamp: base + int64(rng.IntN(int(48*time.Hour))), ObservedTimestamp: base,
			SeverityNumber: uint32(rng.IntN(300)), SeverityText: str(), Level: str(), Body: str(),
			TraceId: id(), SpanId: id(), Flags: uint32(rng.IntN(3)), Resource: uint32(k % 2),
			ScopeName: str(), ScopeVersion: str(), EventName: str(),
		}
		for range rng.IntN(5) {
			r.Attributes = append(r.Attributes, &pb.Attr{Key: str(), Value: str(), Type: pb.AttrType(rng.IntN(8))})
		}
		wire, err := proto.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		switch k % 10 {
		case 1: // the body again: the last wins
			wire = protowire.AppendTag(wire, encLogBody, protowire.BytesType)
			wire = protowire.AppendString(wire, "second body")
		case 2: // an unknown field, and the body as a varint: both skipped
			wire = protowire.AppendTag(wire, 40, protowire.VarintType)
			wire = protowire.AppendVarint(wire, 7)
			wire = protowire.AppendTag(wire, encLogBody, protowire.VarintType)
			wire = protowire.AppendVarint(wire, 7)
		case 3: // an attribute with neither key nor value
			wire = protowire.AppendTag(wire, encLogAttributes, protowire.BytesType)
			wire = protowire.AppendBytes(wire, nil)
		case 4: // an attribute's fields backwards, its key twice: the last wins
			var a []byte
			a = protowire.AppendTag(a, encAttrType, protowire.VarintType)
			a = protowire.AppendVarint(a, 3)
			a = protowire.AppendTag(a, encAttrValue, protowire.BytesType)
			a = protowire.AppendString(a, "val")
			a = protowire.AppendTag(a, encAttrKey, protowire.BytesType)
			a = protowire.AppendString(a, "first")
			a = protowire.AppendTag(a, encAttrKey, protowire.BytesType)
			a = protowire.AppendString(a, "second")
			wire = protowire.AppendTag(wire, encLogAttributes, protowire.BytesType)
			wire = protowire.AppendBytes(wire, a)
		case 5: // key and value, then the key again and a type
			var a []byte
			a = protowire.AppendTag(a, encAttrKey, protowire.BytesType)
			a = protowire.AppendString(a, "k")
			a = protowire.AppendTag(a, encAttrValue, protowire.BytesType)
			a = protowire.AppendString(a, "v")
			a = protowire.AppendTag(a, encAttrKey, protowire.BytesType)
			a = protowire.AppendString(a, "k2")
			a = protowire.AppendTag(a, encAttrType, protowire.VarintType)
			a = protowire.AppendVarint(a, 2)
			wire = protowire.AppendTag(wire, encLogAttributes, protowire.BytesType)
			wire = protowire.AppendBytes(wire, a)
		}
		wires = append(wires, wire)
	}
	for k, wire := range wires {
		var r pb.LogRecord
		if err := proto.Unmarshal(wire, &r); err != nil {
			t.Fatal(err)
		}
		want.Add("t", 30, 9, streams[k%2], resources[k%2], &r)
		if err := got.AddEncoded("t", 30, 9, streams[k%2], resources[k%2], wire); err != nil {
			t.Fatalf("record %d: %v", k, err)
		}
	}
	if !reflect.DeepEqual(got.columns(), want.columns()) {
		for i, c := range want.columns() {
			if !reflect.DeepEqual(got.columns()[i], c) {
				t.Errorf("column %s differs", columnNames(logsInsertColumns)[i])
			}
		}
		t.FailNow()
	}
	if !reflect.DeepEqual(got.bloomColumns(), want.bloomColumns()) || !reflect.DeepEqual(got.streams, want.streams) {
		t.Fatal("log_blooms or log_streams rows differ")
	}

	// A malformed record is refused and adds nothing.
	n := got.Len()
	for _, bad := range [][]byte{wires[0][:len(wires[0])-1], {0x3a, 0x05, 'a'}, {0x5a, 0x03, 0x0a, 0x09, 'x'}} {
		if err := got.AddEncoded("t", 30, 9, streams[0], resources[0], bad); err == nil {
			t.Errorf("malformed record % x accepted", bad)
		}
	}
	if got.Len() != n || got.body.Rows() != n {
		t.Fatalf("malformed records added rows: %d, body %d, want %d", got.Len(), got.body.Rows(), n)
	}
}

// A Reset batch forgets the label and resource runs it cached: rows added after it, for
// streams and resources it held before, come out as a fresh batch's, not pointing into
// the runs of the rows before the Reset.
func TestResetBatchMatchesFresh(t *testing.T) {
	streams := []*pb.LogStream{
		{StreamId: 1, Labels: []*pb.Label{{Name: "service_name", Value: "a"}, {Name: "pod", Value: "a-1"}}},
		{StreamId: 2, Labels: []*pb.Label{{Name: "service_name", Value: "b"}}},
	}
	resources := []*pb.Resource{
		{ServiceName: "a", Attributes: []*pb.Attr{{Key: "host", Value: "h1"}}},
		{ServiceName: "b", Attributes: []*pb.Attr{{Key: "host", Value: "h2"}, {Key: "zone", Value: "z"}}},
	}
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixNano()
	rec := func(k int) *pb.LogRecord {
		return &pb.LogRecord{Id: uint64(k + 1), Timestamp: base + int64(k), Body: fmt.Sprint("line ", k)}
	}
	var reused, fresh LogBatch
	for k := range 6 { // stream 0 first, so its runs start at offset 0
		reused.Add("t", 30, 1, streams[k%2], resources[k%2], rec(k))
	}
	reused.Reset()
	for k := range 4 { // stream 1 first now: cached runs would point past its runs
		reused.Add("t", 30, 2, streams[1-k%2], resources[1-k%2], rec(k))
		fresh.Add("t", 30, 2, streams[1-k%2], resources[1-k%2], rec(k))
	}
	if !reflect.DeepEqual(reused.columns(), fresh.columns()) {
		t.Fatal("a Reset batch's rows differ from a fresh batch's")
	}
}
