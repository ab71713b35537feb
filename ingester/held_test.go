package ingester

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/strataobs/strata/ingester/client"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
)

func richPush() *pb.PushRequest {
	attrs := []*pb.Attr{{Key: "http.status", Value: "503", Type: pb.AttrType_ATTR_TYPE_INT}, {Key: "user", Value: "zoë"}}
	return &pb.PushRequest{
		Tenant:    "team-a",
		Resources: []*pb.Resource{{ServiceName: "api", Attributes: attrs}, {ServiceName: "db"}},
		Streams: []*pb.LogStream{
			{
				StreamId: 7, Labels: []*pb.Label{{Name: "service_name", Value: "api"}},
				Placement: &pb.Placement{Rank: 1, Replicas: []string{"a:1", "b:2", "c:3"}},
				Records: []*pb.LogRecord{
					{Id: 1, Timestamp: 1700000000123456789, ObservedTimestamp: 1700000000999, SeverityNumber: 17, SeverityText: "ERROR",
						Level: "error", Body: "GET /x 503", TraceId: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
						SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Flags: 1, Attributes: attrs, Resource: 0, ScopeName: "s", ScopeVersion: "1", EventName: "e"},
					{Id: 2, Timestamp: -5, Body: "negative time", Resource: 1},
					{Id: 3, Body: "resource out of range", Resource: 9},
				},
			},
			{StreamId: 8, Records: []*pb.LogRecord{{Id: 4, Timestamp: 42, Attributes: manyAttrs(20)}}}, // no placement
		},
		Traces: []*pb.Trace{{
			TraceId:   []byte{9, 9, 9},
			Placement: &pb.Placement{Replicas: []string{"a:1"}},
			Spans: []*pb.Span{
				{Id: 10, TraceId: []byte{9, 9, 9}, SpanId: []byte{1}, ParentSpanId: []byte{2}, TraceState: "k=v", Name: "GET", Kind: 2,
					Start: 100, End: 200, Attributes: attrs, StatusCode: 2, StatusMessage: "boom", Resource: 1, ScopeName: "s", Flags: 3,
					Events: []*pb.Event{{Timestamp: 150, Name: "exception", Attributes: attrs}},
					Links:  []*pb.Link{{TraceId: []byte{7}, SpanId: []byte{8}, TraceState: "x", Attributes: attrs, Flags: 1}}},
				{Id: 11, Start: 300},
			},
		}},
	}
}

func manyAttrs(n int) []*pb.Attr {
	var out []*pb.Attr
	for k := range n {
		out = append(out, &pb.Attr{Key: fmt.Sprintf("k%d", k), Value: fmt.Sprintf("v%d", k), Type: pb.AttrType(k % 8)})
	}
	return out
}

// reassemble rebuilds the request scanPush read, decoding every held record.
func reassemble(t testing.TB, sp *scannedPush) *pb.PushRequest {
	t.Helper()
	req := &pb.PushRequest{Tenant: sp.push.tenant, Resources: sp.push.resources}
	streams := map[*pb.LogStream]*pb.LogStream{}
	var dec logDecoder
	for k := range sp.logs {
		le := &heldLog{sp.logs[k], sp.push}
		rec, err := le.record()
		if err != nil {
			t.Fatal(err)
		}
		fast, err := dec.decode(le) // one decoder for all, as a flush uses it
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(fast, withoutUnknown(t, rec)) {
			t.Fatalf("entry %d: the flush's decoder reads %v, proto.Unmarshal %v", k, fast, rec)
		}
		if le.id != rec.Id || le.ts != rec.Timestamp || le.resource() != resourceIn(sp.push.resources, rec.Resource) || le.tenant() != req.Tenant {
			t.Fatalf("entry %d: id %d ts %d res %p, but its record says %d %d %p", k, le.id, le.ts, le.resource(), rec.Id, rec.Timestamp, resourceIn(sp.push.resources, rec.Resource))
		}
		meta := le.meta()
		st := streams[meta]
		if st == nil {
			st = &pb.LogStream{StreamId: meta.StreamId, Labels: meta.Labels, Placement: meta.Placement}
			streams[meta] = st
			req.Streams = append(req.Streams, st)
		}
		st.Records = append(st.Records, rec)
	}
	traces := map[*pb.Trace]*pb.Trace{}
	for k := range sp.spans {
		se := &heldSpan{sp.spans[k], sp.push}
		s, err := se.decode()
		if err != nil {
			t.Fatal(err)
		}
		if se.id != s.Id || se.ts != s.Start || se.resource() != resourceIn(sp.push.resources, s.Resource) {
			t.Fatalf("span entry %d: id %d start %d, but its span says %d %d", k, se.id, se.ts, s.Id, s.Start)
		}
		tm := se.meta()
		tr := traces[tm]
		if tr == nil {
			tr = &pb.Trace{TraceId: tm.TraceId, Placement: tm.Placement}
			traces[tm] = tr
			req.Traces = append(req.Traces, tr)
		}
		tr.Spans = append(tr.Spans, s)
	}
	return req
}

// withoutEmpty drops streams and traces without records: they hold nothing to keep.
func withoutEmpty(req *pb.PushRequest) *pb.PushRequest {
	out := proto.Clone(req).(*pb.PushRequest)
	out.Streams, out.Traces = nil, nil
	for _, s := range req.Streams {
		if len(s.Records) > 0 {
			out.Streams = append(out.Streams, s)
		}
	}
	for _, t := range req.Traces {
		if len(t.Spans) > 0 {
			out.Traces = append(out.Traces, t)
		}
	}
	return out
}

// withoutUnknown is m without unknown fields.
func withoutUnknown[M proto.Message](t testing.TB, m M) M {
	t.Helper()
	raw, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := m.ProtoReflect().New().Interface().(M)
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestScanPushHoldsWhatUnmarshalReads(t *testing.T) {
	raw, err := proto.Marshal(richPush())
	if err != nil {
		t.Fatal(err)
	}
	// A placement after the records, as another encoder may order fields.
	var late []byte
	late = protowire.AppendTag(late, fStreamID, protowire.Fixed64Type)
	late = protowire.AppendFixed64(late, 99)
	rec, _ := proto.Marshal(&pb.LogRecord{Id: 20, Timestamp: 5, Body: "before its placement"})
	late = protowire.AppendTag(late, fStreamRecords, protowire.BytesType)
	late = protowire.AppendBytes(late, rec)
	pl, _ := proto.Marshal(&pb.Placement{Rank: 2, Replicas: []string{"x:1"}})
	late = protowire.AppendTag(late, fStreamPlacement, protowire.BytesType)
	late = protowire.AppendBytes(late, pl)
	raw = protowire.AppendTag(raw, fPushStreams, protowire.BytesType)
	raw = protowire.AppendBytes(raw, late)

	var want pb.PushRequest
	if err := proto.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	sp, err := scanPush(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.logs) != 5 || len(sp.spans) != 2 {
		t.Fatalf("%d logs and %d spans held, want 5 and 2", len(sp.logs), len(sp.spans))
	}
	if got := reassemble(t, sp); !proto.Equal(got, &want) {
		t.Errorf("held push differs from proto.Unmarshal's:\n got %v\nwant %v", got, &want)
	}
	if res := (&heldLog{sp.logs[2], sp.push}).resource(); res != unknownResource {
		t.Errorf("a record naming resource 9 of 2 is held with %v", res)
	}
}

func TestScanPushRefusesWhatUnmarshalRefuses(t *testing.T) {
	good, _ := proto.Marshal(richPush())
	for name, raw := range map[string][]byte{
		// proto.Marshal itself checks UTF-8, so invalid strings are written by hand.
		"body":              replaceOnce(t, good, "GET /x 503", "GET /x \xff03"),
		"attribute key":     replaceOnce(t, good, "http.status", "http.st\xc3tus"),
		"event name":        replaceOnce(t, good, "exception", "exc\xffption"),
		"tenant":            replaceOnce(t, good, "team-a", "team\xff\xfe"),
		"label":             replaceOnce(t, good, "service_name", "service_nam\xe9"),
		"truncated":         good[:len(good)-3],
		"bad tag":           append(append([]byte(nil), good...), 0x00),
		"length past end":   append(append([]byte(nil), good...), 0x1a, 0x7f, 0x01),
		"valid, for parity": good,
	} {
		var req pb.PushRequest
		wantErr := proto.Unmarshal(raw, &req) != nil
		_, err := scanPush(raw)
		if (err != nil) != wantErr {
			t.Errorf("%s: scanPush error %v, proto.Unmarshal refuses: %v", name, err, wantErr)
		}
		if name != "valid, for parity" && err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func replaceOnce(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	s := string(b)
	k := strings.Index(s, old)
	if k < 0 || len(old) != len(new) {
		t.Fatalf("%q not in the request, or %q is not the same length", old, new)
	}
	return []byte(s[:k] + new + s[k+len(old):])
}

// FuzzScanPush: scanPush accepts exactly what proto.Unmarshal accepts, and what it
// holds reassembles into the same request.
func FuzzScanPush(f *testing.F) {
	good, _ := proto.Marshal(richPush())
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want pb.PushRequest
		uerr := proto.Unmarshal(raw, &want)
		sp, err := scanPush(raw)
		if (err != nil) != (uerr != nil) {
			t.Fatalf("scanPush error %v, proto.Unmarshal error %v", err, uerr)
		}
		if err != nil {
			return
		}
		// Unknown fields are no part of what is held.
		got, exp := withoutUnknown(t, reassemble(t, sp)), withoutUnknown(t, withoutEmpty(&want))
		if !proto.Equal(got, exp) {
			t.Fatalf("held push differs:\n got %v\nwant %v", got, exp)
		}
	})
}

// benchPush is a request shaped like the load harness's: 2,000 records of 20 streams,
// 5 attributes each, and its encoding.
func benchPush(b *testing.B) (*pb.PushRequest, []byte) {
	b.Helper()
	req := &pb.PushRequest{Tenant: "bench", Resources: []*pb.Resource{{ServiceName: "api", Attributes: manyAttrs(8)}}}
	for s := range 20 {
		st := &pb.LogStream{StreamId: uint64(s), Labels: []*pb.Label{{Name: "service_name", Value: "api"}, {Name: "pod", Value: fmt.Sprint("api-", s)}},
			Placement: &pb.Placement{Rank: 1, Replicas: []string{"a:1", "b:2", "c:3"}}}
		for k := range 100 {
			st.Records = append(st.Records, &pb.LogRecord{Id: uint64(s*1000 + k), Timestamp: 1700000000000000000 + int64(k), SeverityText: "INFO", Level: "info",
				Body:    fmt.Sprintf(`10.1.%d.%d - - "GET /api/v1/orders/%d HTTP/1.1" 200 5123 "-" "Mozilla/5.0 (X11; Linux x86_64)" 0.012`, s, k, k*7919),
				TraceId: make([]byte, 16), SpanId: make([]byte, 8), Attributes: manyAttrs(5)})
		}
		req.Streams = append(req.Streams, st)
	}
	raw, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	return req, raw
}

// BenchmarkScanPush compares holding a push (scanPush) with decoding it, for a request
// shaped like the load harness's (benchPush).
func BenchmarkScanPush(b *testing.B) {
	_, raw := benchPush(b)
	b.Run("scanPush", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := scanPush(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proto.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			var out pb.PushRequest
			if err := proto.Unmarshal(raw, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	sp, _ := scanPush(raw)
	// A flush's rows from the held records: decoded, then added, against read from
	// their bytes (AddEncoded, what a flush does).
	var batch clickhouse.LogBatch
	b.Run("flush-decode+Add", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		var dec logDecoder
		for b.Loop() {
			batch.Reset()
			for k := range sp.logs {
				le := heldLog{sp.logs[k], sp.push}
				r, err := dec.decode(&le)
				if err != nil {
					b.Fatal(err)
				}
				batch.Add("bench", 30, 1, le.meta(), le.resource(), r)
			}
		}
	})
	b.Run("flush-AddEncoded", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			batch.Reset()
			for k := range sp.logs {
				le := heldLog{sp.logs[k], sp.push}
				if err := batch.AddEncoded("bench", 30, 1, le.meta(), le.resource(), le.bytes()); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("flush-decode", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		var dec logDecoder
		for b.Loop() {
			for k := range sp.logs {
				if _, err := dec.decode(&heldLog{sp.logs[k], sp.push}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// locate builds what a distributor in this process hands over for raw, a request of log
// streams whose head (tenant and resources) is its first headLen bytes, from the scan.
func locate(t *testing.T, raw []byte, headLen int) *client.LocatedPush {
	t.Helper()
	sp, err := scanPush(raw)
	if err != nil {
		t.Fatal(err)
	}
	lp := &client.LocatedPush{Raw: raw, HeadLen: headLen, Streams: sp.push.streams}
	for _, le := range sp.logs {
		lp.Records = append(lp.Records, client.LocatedRecord{Off: le.off, Len: le.n, Stream: le.stream, Resource: le.res, ID: le.id, Time: le.ts})
	}
	return lp
}

// logsOnly is req without its traces, marshalled head first, and the head's length.
func logsOnly(t *testing.T, req *pb.PushRequest) ([]byte, int) {
	head, err := proto.Marshal(&pb.PushRequest{Tenant: req.Tenant, Resources: req.Resources})
	if err != nil {
		t.Fatal(err)
	}
	body, err := proto.Marshal(&pb.PushRequest{Streams: req.Streams})
	if err != nil {
		t.Fatal(err)
	}
	return append(head, body...), len(head)
}

// TestLocatedPushHoldsWhatScanHolds: a request handed over with its records located is
// held as the scan of its bytes would hold it: tenant and resources read from its head,
// each record with its stream, resource (one out of range included), id and time.
func TestLocatedPushHoldsWhatScanHolds(t *testing.T) {
	raw, headLen := logsOnly(t, richPush())
	var want pb.PushRequest
	if err := proto.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	sp, err := locatedPush(locate(t, raw, headLen))
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.logs) != 4 || sp.push.tenant != "team-a" || len(sp.push.resources) != 2 {
		t.Fatalf("%d logs, tenant %q, %d resources held; want 4, team-a, 2", len(sp.logs), sp.push.tenant, len(sp.push.resources))
	}
	if got := reassemble(t, sp); !proto.Equal(got, &want) {
		t.Errorf("located push differs from proto.Unmarshal's:\n got %v\nwant %v", got, &want)
	}
	if res := (&heldLog{sp.logs[2], sp.push}).resource(); res != unknownResource {
		t.Errorf("a record naming resource 9 of 2 is held with %v", res)
	}
}

// Held entries are kept free of pointers, so that the garbage collector does not scan
// an epoch's entries (millions of them in a loaded ingester) at each collection.
func TestEntriesHoldNoPointers(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[logEntry](), reflect.TypeFor[spanEntry]()} {
		for f := range typ.Fields() {
			switch f.Type.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.String, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Struct, reflect.Array:
				t.Errorf("%s.%s is a %s: the epochs' entries would hold pointers", typ.Name(), f.Name, f.Type.Kind())
			}
		}
	}
}

// BenchmarkFlushRows builds a flush batch's rows as build does, from many pushes' held
// records in the logs table's order, which interleaves the pushes: each record's bytes
// are then away from the last one's and out of cache, as in an ingester holding
// hundreds of MB. With prefetch, each step asks for the bytes of the record
// prefetchAhead places on (prefetchHeld) and for the entry twice as far on.
func BenchmarkFlushRows(b *testing.B) {
	_, raw := benchPush(b)
	const pushes = 100
	var logs []logEntry
	var held []*heldPush
	for i := range pushes {
		sp, err := scanPush(bytes.Clone(raw))
		if err != nil {
			b.Fatal(err)
		}
		for _, le := range sp.logs {
			le.push = uint32(i)
			logs = append(logs, le)
		}
		held = append(held, sp.push)
	}
	// Concurrent pushes' records interleave in time order: record k of every push, then
	// record k+1 of every push.
	perPush := len(logs) / pushes
	idx := make([]int32, 0, len(logs))
	for k := range perPush {
		for i := range pushes {
			idx = append(idx, int32(i*perPush+k))
		}
	}
	var batch clickhouse.LogBatch
	for _, prefetch := range []bool{false, true} {
		b.Run(fmt.Sprintf("prefetch=%v", prefetch), func(b *testing.B) {
			for b.Loop() {
				batch.Reset()
				for n, k := range idx {
					if prefetch {
						prefetchHeldAhead(logs, held, idx, n)
					}
					le := logIn(logs, held, int(k))
					if err := batch.AddEncoded("bench", 30, 1, le.meta(), le.resource(), le.bytes()); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(idx)), "ns/record")
		})
	}
}
