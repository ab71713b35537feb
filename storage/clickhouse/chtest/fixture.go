package chtest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
)

// LogRecord is one log record with everything a LogBatch row needs.
type LogRecord struct {
	Tenant   string
	FlushID  uint64
	Stream   *pb.LogStream
	Resource *pb.Resource
	Record   *pb.LogRecord
}

// Row is the record as the query path reads it back.
func (r LogRecord) Row() clickhouse.LogRow {
	return clickhouse.LogRowFromRecord(r.Stream, r.Resource, r.Record)
}

type sampleStream struct {
	svc, env, host string
}

var sampleStreams = []sampleStream{
	{"checkout", "prod", "h1"}, {"checkout", "dev", "h2"}, {"cart", "prod", "h1"}, {"web-ui", "", "h3"},
}

var sampleBodies = []string{
	"GET /cart 200 user=bob", "POST /pay 500 timeout talking to db", "level=warn msg=\"slow request\" took=1.5s",
	`{"level":"error","msg":"boom","status":503}`, "multi\nline body", "ünïcödé ✓ 日本 timeout", "it's a 'quoted' \\ line",
	"GET /health 200", "", "percent 100% _under_ score",
}

var sampleLevels = []string{"info", "error", "warn", "debug", "", "unknown", "fatal"}

// SampleLogs builds n deterministic records for tenant, one second apart from base,
// spread over a few streams, with attributes that exercise label naming and
// precedence (dotted keys, a key starting with a digit, attributes named like record
// fields). Every record is valid as the distributor would have built it.
func SampleLogs(tenant string, base time.Time, n int, seed uint64) []LogRecord {
	return SampleLogsEvery(tenant, base, n, seed, time.Second)
}

// SampleLogsEvery is SampleLogs with records every apart instead of one second.
func SampleLogsEvery(tenant string, base time.Time, n int, seed uint64, every time.Duration) []LogRecord {
	rng := rand.New(rand.NewPCG(seed, 7))
	streams := make([]*pb.LogStream, len(sampleStreams))
	resources := make([]*pb.Resource, len(sampleStreams))
	for i, s := range sampleStreams {
		streams[i], resources[i] = sampleStreamOf(tenant, s)
	}
	out := make([]LogRecord, 0, n)
	for i := 0; i < n; i++ {
		k := rng.IntN(len(streams))
		ts := base.Add(time.Duration(i) * every).UnixNano()
		if rng.IntN(5) == 0 {
			ts += int64(rng.IntN(1000)) // not every record on a whole second
		}
		rec := sampleRecord(rng, ts, i)
		rec.Id = recordID(streams[k].StreamId, rec)
		out = append(out, LogRecord{Tenant: tenant, FlushID: uint64(1 + i/50), Stream: streams[k], Resource: resources[k], Record: rec})
	}
	return out
}

func sampleStreamOf(tenant string, s sampleStream) (*pb.LogStream, *pb.Resource) {
	res := &pb.Resource{ServiceName: s.svc, Attributes: []*pb.Attr{{Key: "host.name", Value: s.host}, {Key: "service.name", Value: s.svc}}}
	labels := []*pb.Label{{Name: "service_name", Value: s.svc}}
	if s.env != "" {
		res.Attributes = append(res.Attributes, &pb.Attr{Key: "deployment.environment", Value: s.env})
		labels = append(labels, &pb.Label{Name: "deployment_environment", Value: s.env})
	}
	sort.Slice(res.Attributes, func(i, j int) bool { return res.Attributes[i].Key < res.Attributes[j].Key })
	sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
	h := xxhash.New()
	h.WriteString(tenant)
	for _, l := range labels {
		h.WriteString("\xff" + l.Name + "\xfe" + l.Value)
	}
	return &pb.LogStream{StreamId: h.Sum64(), Labels: labels}, res
}

func sampleRecord(rng *rand.Rand, ts int64, i int) *pb.LogRecord {
	rec := &pb.LogRecord{
		Timestamp: ts, ObservedTimestamp: ts, Body: sampleBodies[rng.IntN(len(sampleBodies))],
		Level: sampleLevels[rng.IntN(len(sampleLevels))], ScopeName: "lib",
	}
	if rng.IntN(2) == 0 {
		rec.ObservedTimestamp = ts + int64(time.Millisecond)
	}
	if rng.IntN(3) > 0 {
		rec.SeverityNumber, rec.SeverityText = 17, "ERROR"
	}
	if rng.IntN(2) == 0 {
		rec.TraceId = []byte{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
		rec.SpanId = []byte{0, 0, 0, 0, 0, 0, 1, byte(i)}
		rec.Flags = 1
	}
	attrs := []*pb.Attr{{Key: "http.status_code", Value: fmt.Sprint([]int{200, 404, 500}[rng.IntN(3)]), Type: pb.AttrType_ATTR_TYPE_INT}}
	optional := []*pb.Attr{
		{Key: "user", Value: []string{"bob", "alice", ""}[rng.IntN(3)]},
		{Key: "level", Value: "attr-level"}, {Key: "trace_id", Value: "attr-trace"}, {Key: "service.name", Value: "attr-svc"},
		{Key: "1weird-key", Value: "w"}, {Key: "detected_level", Value: "attr-detected"}, {Key: "scope_name", Value: "attr-scope"},
		{Key: "host.name", Value: "attr-host"},
	}
	for _, a := range optional {
		if rng.IntN(3) == 0 {
			attrs = append(attrs, a)
		}
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].Key < attrs[j].Key })
	rec.Attributes = attrs
	return rec
}

// recordID hashes a record like the distributor does; tests only need it deterministic
// and distinct per record.
func recordID(stream uint64, r *pb.LogRecord) uint64 {
	h := xxhash.New()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], stream)
	h.Write(buf[:])
	binary.LittleEndian.PutUint64(buf[:], uint64(r.Timestamp))
	h.Write(buf[:])
	h.WriteString(r.Body + "\xff" + r.Level)
	for _, a := range r.Attributes {
		h.WriteString(a.Key + "\xfe" + a.Value + "\xff")
	}
	return h.Sum64()
}

// WriteLogs inserts records, one INSERT per flush id, as ingesters do.
func WriteLogs(t testing.TB, c *clickhouse.Client, recs []LogRecord) {
	t.Helper()
	byFlush := map[uint64]*clickhouse.LogBatch{}
	var order []uint64
	for _, r := range recs {
		b := byFlush[r.FlushID]
		if b == nil {
			b = &clickhouse.LogBatch{}
			byFlush[r.FlushID] = b
			order = append(order, r.FlushID)
		}
		b.Add(r.Tenant, 30, r.FlushID, r.Stream, r.Resource, r.Record)
	}
	for _, id := range order {
		if err := c.WriteLogs(context.Background(), byFlush[id]); err != nil {
			t.Fatalf("write logs of flush %d: %v", id, err)
		}
	}
}

// SpanRecord is one span with its resource.
type SpanRecord struct {
	Tenant   string
	FlushID  uint64
	Resource *pb.Resource
	Span     *pb.Span
}

// Span is the span as the query path reads it back.
func (r SpanRecord) Row() clickhouse.Span { return clickhouse.SpanFromProto(r.Resource, r.Span) }

// SampleTraces builds n deterministic traces for tenant starting around base: a server
// root in "frontend" calling "checkout" (client and server spans) and a database span,
// with typed attributes, errors, events and links. Trace i's id is TraceID(i).
func SampleTraces(tenant string, base time.Time, n int, seed uint64) []SpanRecord {
	rng := rand.New(rand.NewPCG(seed, 11))
	front := &pb.Resource{ServiceName: "frontend", Attributes: []*pb.Attr{{Key: "service.name", Value: "frontend"}, {Key: "k8s.pod.name", Value: "fe-1"}}}
	checkout := &pb.Resource{ServiceName: "checkout", Attributes: []*pb.Attr{{Key: "cloud.region", Value: "eu"}, {Key: "service.name", Value: "checkout"}}}
	var out []SpanRecord
	for i := 0; i < n; i++ {
		tid := TraceID(i)
		start := base.Add(time.Duration(i) * 7 * time.Second).UnixNano()
		dur := int64(rng.IntN(2000)+1) * int64(time.Millisecond)
		status := int32([]int{0, 0, 1, 2}[rng.IntN(4)])
		code := []string{"200", "404", "500"}[rng.IntN(3)]
		mk := func(n byte, parent byte, res *pb.Resource, name string, kind int32, s, e int64, attrs ...*pb.Attr) {
			sp := &pb.Span{TraceId: tid, SpanId: []byte{0, 0, 0, 0, 0, 0, byte(i), n}, Name: name, Kind: kind, Start: s, End: e, Attributes: attrs, ScopeName: "otel"}
			if parent != 0 {
				sp.ParentSpanId = []byte{0, 0, 0, 0, 0, 0, byte(i), parent}
			}
			sp.Id = xxhash.Sum64(append([]byte(tenant), append(append([]byte{}, tid...), sp.SpanId...)...))
			out = append(out, SpanRecord{Tenant: tenant, FlushID: uint64(100 + i/10), Resource: res, Span: sp})
		}
		mk(1, 0, front, "GET /checkout", 2, start, start+dur,
			&pb.Attr{Key: "http.method", Value: "GET"}, &pb.Attr{Key: "http.status_code", Value: code, Type: pb.AttrType_ATTR_TYPE_INT})
		mk(2, 1, front, "POST checkout", 3, start+1000, start+dur-1000, &pb.Attr{Key: "peer.service", Value: "checkout"})
		mk(3, 2, checkout, "POST /pay", 2, start+2000, start+dur-2000,
			&pb.Attr{Key: "amount", Value: fmt.Sprint(rng.Float64() * 100), Type: pb.AttrType_ATTR_TYPE_DOUBLE},
			&pb.Attr{Key: "retry", Value: fmt.Sprint(rng.IntN(2) == 0), Type: pb.AttrType_ATTR_TYPE_BOOL})
		mk(4, 3, checkout, "SELECT orders", 3, start+3000, start+3000+dur/3, &pb.Attr{Key: "db.system", Value: "clickhouse"})
		last := out[len(out)-1].Span
		last.StatusCode, last.StatusMessage = status, map[int32]string{2: "deadlock"}[status]
		last.Events = []*pb.Event{{Timestamp: start + 4000, Name: "query", Attributes: []*pb.Attr{{Key: "rows", Value: "12"}}}}
		last.Links = []*pb.Link{{TraceId: TraceID(i + 1000), SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}}}
	}
	return out
}

// TraceID is the id of SampleTraces' trace i.
func TraceID(i int) []byte {
	return []byte{0xab, byte(i >> 8), byte(i), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
}

// WriteSpans inserts spans, one INSERT per flush id.
func WriteSpans(t testing.TB, c *clickhouse.Client, recs []SpanRecord) {
	t.Helper()
	byFlush := map[uint64]*clickhouse.SpanBatch{}
	var order []uint64
	for _, r := range recs {
		b := byFlush[r.FlushID]
		if b == nil {
			b = &clickhouse.SpanBatch{}
			byFlush[r.FlushID] = b
			order = append(order, r.FlushID)
		}
		b.Add(r.Tenant, 30, r.FlushID, r.Resource, r.Span)
	}
	for _, id := range order {
		if err := c.WriteSpans(context.Background(), byFlush[id]); err != nil {
			t.Fatalf("write spans of flush %d: %v", id, err)
		}
	}
}
