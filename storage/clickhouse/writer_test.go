package clickhouse_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	c := chtest.New(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := c.Migrate(ctx); err != nil {
			t.Fatalf("migrate run %d: %v", i+2, err)
		}
	}
	var n uint64
	if err := c.Conn().QueryRow(ctx, fmt.Sprintf("SELECT count() FROM (SELECT DISTINCT version FROM %s.schema_migrations)", c.Database())).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("schema_migrations has %d versions, want at least 3", n)
	}
}

func TestWriteLogsRoundTrip(t *testing.T) {
	c := chtest.New(t)
	ctx := context.Background()
	ts := time.Date(2026, 11, 25, 10, 11, 12, 123456789, time.UTC).UnixNano()
	stream := &pb.LogStream{StreamId: 42, Labels: []*pb.Label{{Name: "service_name", Value: "checkout"}, {Name: "env", Value: "prod"}}}
	res := &pb.Resource{ServiceName: "checkout", Attributes: []*pb.Attr{{Key: "host.name", Value: "h1"}, {Key: "pid", Value: "7", Type: pb.AttrType_ATTR_TYPE_INT}}}
	rec := &pb.LogRecord{
		Id: 0xdeadbeefcafef00d, Timestamp: ts, ObservedTimestamp: ts + 5, SeverityNumber: 17, SeverityText: "ERROR",
		Level: "error", Body: "boom ünïcode", TraceId: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Flags: 1,
		Attributes: []*pb.Attr{{Key: "http.status", Value: "500", Type: pb.AttrType_ATTR_TYPE_INT}},
		ScopeName:  "lib", ScopeVersion: "1.0",
	}
	var b clickhouse.LogBatch
	b.Add("t1", 30, 99, stream, res, rec)
	if err := c.WriteLogs(ctx, &b); err != nil {
		t.Fatal(err)
	}
	var (
		tenant, sev, level, body, traceID, spanID, service, scope string
		gotTS, gotObs                                             int64
		id, flushID, streamID                                     uint64
		sevNum                                                    uint8
		lk, lv, ak, av, rk, rv                                    []string
	)
	q := fmt.Sprintf(`SELECT tenant, timestamp, observed_timestamp, id, flush_id, stream_id, severity_number, severity_text, level,
		body, trace_id, span_id, service_name, scope_name, labels_keys, labels_values, attr_keys, attr_values, res_keys, res_values FROM %s.logs`, c.Database())
	if err := c.Conn().QueryRow(ctx, q).Scan(&tenant, &gotTS, &gotObs, &id, &flushID, &streamID, &sevNum, &sev, &level,
		&body, &traceID, &spanID, &service, &scope, &lk, &lv, &ak, &av, &rk, &rv); err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("tenant", tenant, "t1")
	check("timestamp", gotTS, ts)
	check("observed", gotObs, ts+5)
	check("id", id, uint64(0xdeadbeefcafef00d))
	check("flush_id", flushID, 99)
	check("stream_id", streamID, 42)
	check("severity", sevNum, 17)
	check("severity_text", sev, "ERROR")
	check("level", level, "error")
	check("body", body, "boom ünïcode")
	check("trace_id", traceID, "0102030405060708090a0b0c0d0e0f10")
	check("span_id", spanID, "0102030405060708")
	check("service", service, "checkout")
	check("scope", scope, "lib")
	check("labels", fmt.Sprint(lk, lv), "[service_name env] [checkout prod]")
	check("attrs", fmt.Sprint(ak, av), "[http.status] [500]")
	check("resource", fmt.Sprint(rk, rv), "[host.name pid] [h1 7]")
}

func TestWriteSpansRoundTrip(t *testing.T) {
	c := chtest.New(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 25, 10, 0, 0, 1, time.UTC).UnixNano()
	res := &pb.Resource{ServiceName: "api"}
	span := &pb.Span{
		Id: 7, TraceId: make([]byte, 16), SpanId: []byte{0, 0, 0, 0, 0, 0, 0, 9}, Name: "GET /x", Kind: 2,
		Start: start, End: start + 1500, StatusCode: 2, StatusMessage: "bad",
		Events: []*pb.Event{{Timestamp: start + 10, Name: "exception", Attributes: []*pb.Attr{{Key: "exception.message", Value: "a \"quoted\" thing"}}}},
		Links:  []*pb.Link{{TraceId: []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, SpanId: []byte{2, 2, 2, 2, 2, 2, 2, 2}}},
	}
	var b clickhouse.SpanBatch
	b.Add("t1", 30, 5, res, span)
	if err := c.WriteSpans(ctx, &b); err != nil {
		t.Fatal(err)
	}
	var (
		name, status, evAttr, link string
		dur                        int64
		spans                      uint32
	)
	q := fmt.Sprintf("SELECT name, status_message, duration_ns, event_attrs[1], link_trace_ids[1] FROM %s.spans", c.Database())
	if err := c.Conn().QueryRow(ctx, q).Scan(&name, &status, &dur, &evAttr, &link); err != nil {
		t.Fatal(err)
	}
	if name != "GET /x" || status != "bad" || dur != 1500 || evAttr != `{"exception.message":"a \"quoted\" thing"}` || link != "01010101010101010101010101010101" {
		t.Errorf("span row = %q %q %d %q %q", name, status, dur, evAttr, link)
	}
	q = fmt.Sprintf("SELECT spans FROM %s.trace_index WHERE trace_id = ?", c.Database())
	if err := c.Conn().QueryRow(ctx, q, "00000000000000000000000000000000").Scan(&spans); err != nil {
		t.Fatal(err)
	}
	if spans != 1 {
		t.Errorf("trace_index spans = %d, want 1", spans)
	}
}

func TestStoredAmongAndStoredIDs(t *testing.T) {
	c := chtest.New(t)
	ctx := context.Background()
	ts := time.Date(2026, 11, 25, 23, 59, 59, 0, time.UTC).UnixNano()
	stream := &pb.LogStream{StreamId: 1, Labels: []*pb.Label{{Name: "service_name", Value: "s"}}}
	res := &pb.Resource{ServiceName: "s"}
	var b clickhouse.LogBatch
	var ids []uint64
	for k := 0; k < 12000; k++ { // more than one lookup chunk
		id := uint64(1_000_000 + k)
		ids = append(ids, id)
		if k%3 == 0 {
			b.Add("t", 30, 77, stream, res, &pb.LogRecord{Id: id, Timestamp: ts + int64(k)*int64(time.Millisecond)})
		}
	}
	if err := c.WriteLogs(ctx, &b); err != nil {
		t.Fatal(err)
	}
	var sb clickhouse.SpanBatch
	sb.Add("t", 30, 78, res, &pb.Span{Id: 5, TraceId: make([]byte, 16), SpanId: make([]byte, 8), Start: ts, End: ts + 1})
	if err := c.WriteSpans(ctx, &sb); err != nil {
		t.Fatal(err)
	}
	got, err := c.StoredAmong(ctx, append(ids, 5, 6), ts, ts+int64(12000)*int64(time.Millisecond), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4001 || !got[1_000_000] || got[1_000_001] || !got[5] || got[6] {
		t.Fatalf("StoredAmong found %d ids (want 4000 logs + 1 span)", len(got))
	}
	// The caller's own flush id (77 holds the logs) does not count as stored elsewhere.
	if got, err := c.StoredAmong(ctx, append(ids, 5, 6), ts, ts+int64(12000)*int64(time.Millisecond), 77); err != nil || len(got) != 1 || !got[5] {
		t.Fatalf("StoredAmong except flush 77 = %d ids, %v; want only span 5", len(got), err)
	}
	byFlush, err := c.StoredIDs(ctx, 77)
	if err != nil || len(byFlush) != 4000 {
		t.Fatalf("StoredIDs(77) = %d ids, %v; want 4000", len(byFlush), err)
	}
}

// A batch is Reset and reused by the next flush; each flush must store exactly its own
// rows, with nothing left over from a longer batch before it (strings, arrays split
// at the right rows, days, blooms), and its index rows once whether PrepareLogs stored
// them or WriteLogs did.
func TestReusedLogBatchStoresEachFlushExactly(t *testing.T) {
	c := chtest.New(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 25, 23, 59, 0, 0, time.UTC).UnixNano()
	streams := []*pb.LogStream{
		{StreamId: 1, Labels: []*pb.Label{{Name: "service_name", Value: "a"}, {Name: "pod", Value: "p1"}}},
		{StreamId: 2, Labels: []*pb.Label{{Name: "service_name", Value: "b"}}},
	}
	resources := []*pb.Resource{
		{ServiceName: "a", Attributes: []*pb.Attr{{Key: "host.name", Value: "h1"}, {Key: "pid", Value: "7", Type: pb.AttrType_ATTR_TYPE_INT}}},
		{ServiceName: "b"},
	}
	// record k is fully determined by k, so a row read back can be checked on its own.
	record := func(k int) (*pb.LogStream, *pb.Resource, *pb.LogRecord) {
		r := &pb.LogRecord{Id: uint64(k), Timestamp: base + int64(k)*int64(time.Second), Level: []string{"info", "error"}[k%2],
			Body: fmt.Sprintf("line %d %s", k, strings.Repeat("x", k%37))}
		if k%3 == 0 {
			r.TraceId = []byte{byte(k), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
			r.SpanId = []byte{byte(k), 1, 2, 3, 4, 5, 6, 7}
		}
		for a := range k % 4 {
			r.Attributes = append(r.Attributes, &pb.Attr{Key: fmt.Sprintf("k%d", a), Value: fmt.Sprintf("v%d.%d", k, a), Type: pb.AttrType(a % 3)})
		}
		return streams[k%2], resources[k%2], r
	}
	flushes := []struct {
		id       uint64
		from, to int
	}{{1, 0, 300}, {2, 1000, 1120}, {3, 2000, 2050}}
	var b clickhouse.LogBatch
	for _, f := range flushes {
		b.Reset()
		b.Grow(f.to - f.from)
		for k := f.from; k < f.to; k++ {
			s, res, r := record(k)
			b.Add("t1", 30, f.id, s, res, r)
		}
		if f.id == 2 {
			// The ingester's path: the index rows first, while another batch is written.
			if err := c.PrepareLogs(ctx, &b); err != nil {
				t.Fatal(err)
			}
			var blooms, logs uint64
			q := fmt.Sprintf("SELECT (SELECT sum(rows) FROM %[1]s.log_blooms WHERE flush_id = 2), (SELECT count() FROM %[1]s.logs WHERE flush_id = 2)", c.Database())
			if err := c.Conn().QueryRow(ctx, q).Scan(&blooms, &logs); err != nil {
				t.Fatal(err)
			}
			if blooms != 120 || logs != 0 {
				t.Fatalf("after PrepareLogs: blooms cover %d rows and %d log rows are stored; want 120 and 0", blooms, logs)
			}
		}
		if err := c.WriteLogs(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := c.Conn().Query(ctx, fmt.Sprintf(`SELECT id, flush_id, toString(day), timestamp, stream_id, service_name, level, body, trace_id, span_id,
		labels_keys, labels_values, attr_keys, attr_values, attr_types, res_keys, res_values FROM %s.logs ORDER BY id`, c.Database()))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []uint64
	for rows.Next() {
		var (
			id, flushID, streamID                      uint64
			day, service, level, body, traceID, spanID string
			ts                                         int64
			lk, lv, ak, av, rk, rv                     []string
			at                                         []uint8
		)
		if err := rows.Scan(&id, &flushID, &day, &ts, &streamID, &service, &level, &body, &traceID, &spanID, &lk, &lv, &ak, &av, &at, &rk, &rv); err != nil {
			t.Fatal(err)
		}
		s, res, r := record(int(id))
		var wak, wav []string
		var wat []uint8
		for _, a := range r.Attributes {
			wak, wav, wat = append(wak, a.Key), append(wav, a.Value), append(wat, uint8(a.Type))
		}
		var wlk, wlv, wrk, wrv []string
		for _, l := range s.Labels {
			wlk, wlv = append(wlk, l.Name), append(wlv, l.Value)
		}
		for _, a := range res.Attributes {
			wrk, wrv = append(wrk, a.Key), append(wrv, a.Value)
		}
		want := fmt.Sprint(time.Unix(0, r.Timestamp).UTC().Format("2006-01-02"), r.Timestamp, s.StreamId, res.ServiceName, r.Level, r.Body,
			fmt.Sprintf("%x", r.TraceId), fmt.Sprintf("%x", r.SpanId), wlk, wlv, wak, wav, wat, wrk, wrv)
		have := fmt.Sprint(day, ts, streamID, service, level, body, traceID, spanID, lk, lv, ak, av, at, rk, rv)
		if have != want {
			t.Fatalf("row %d (flush %d):\n got %s\nwant %s", id, flushID, have, want)
		}
		got = append(got, id)
	}
	var want []uint64
	for _, f := range flushes {
		for k := f.from; k < f.to; k++ {
			want = append(want, uint64(k))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stored ids %v,\nwant %v", got, want)
	}
	// Each flush's blooms cover its own rows: a reused batch must not count the rows of
	// the longer batch before it.
	bl, err := c.Conn().Query(ctx, fmt.Sprintf("SELECT flush_id, sum(rows) FROM %s.log_blooms GROUP BY flush_id ORDER BY flush_id", c.Database()))
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	var blooms []string
	for bl.Next() {
		var f, n uint64
		if err := bl.Scan(&f, &n); err != nil {
			t.Fatal(err)
		}
		blooms = append(blooms, fmt.Sprintf("%d:%d", f, n))
	}
	if fmt.Sprint(blooms) != "[1:300 2:120 3:50]" {
		t.Fatalf("log_blooms rows per flush %v, want [1:300 2:120 3:50]", blooms)
	}
}
