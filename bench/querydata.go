package bench

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
)

// QueryData describes the stored data set the query benchmark runs against: log lines
// and spans of one tenant evenly spread over [Start, End), written straight into the
// Strata schema with the ingesters' batch writers. Everything is a pure function of
// the fields, so a database loaded once can be checked and reused.
type QueryData struct {
	Tenant     string
	Lines      int
	Spans      int
	Start, End int64 // unix ns, whole seconds
	// Needle is a token found in exactly NeedleLines lines, spread over the range.
	Needle      string
	NeedleLines int
}

// QueryDataVersion changes whenever the generated rows change, so a database loaded by
// an older generator or schema is reloaded (4: rows carry line blooms; 5: span tables
// with 1,024-row granules).
const QueryDataVersion = 5

// DefaultQueryData is 10M lines and 1M spans over 6 hours of one day.
func DefaultQueryData(lines, spans int) QueryData {
	start := time.Date(2025, 6, 2, 6, 0, 0, 0, time.UTC).UnixNano()
	return QueryData{Tenant: "bench", Lines: lines, Spans: spans, Start: start, End: start + int64(6*time.Hour),
		Needle: "k7q2needle9zx4", NeedleLines: 20}
}

// Manifest identifies the data set; the loader stores it next to the tables.
func (d QueryData) Manifest() string {
	return fmt.Sprintf("v%d tenant=%s lines=%d spans=%d start=%d end=%d needle=%s/%d", QueryDataVersion, d.Tenant, d.Lines, d.Spans,
		d.Start, d.End, d.Needle, d.NeedleLines)
}

// LineTime is the timestamp of line i; lines never share one, so result sets compare
// exactly.
func (d QueryData) LineTime(i int) int64 {
	return d.Start + int64(i)*((d.End-d.Start)/int64(max(d.Lines, 1)))
}

// isNeedle reports whether line i carries the needle: NeedleLines lines, evenly spaced.
func (d QueryData) isNeedle(i int) bool {
	if d.NeedleLines <= 0 {
		return false
	}
	step := d.Lines / d.NeedleLines
	return step > 0 && i%step == step/2 && i/step < d.NeedleLines
}

// JSONService reports whether a service writes JSON lines (with a numeric "status");
// the others write access-log lines.
func JSONService(svc int) bool { return svc%4 == 0 }

// Services is the service names of the data set, by index.
func Services() []string { return services }

type qstream struct {
	stream *pb.LogStream
	res    *pb.Resource
	svc    int
}

// LogGen builds the data set's log lines. Lines are generated in chunks, each from its
// own seed, so chunks can be built in parallel and the rows never depend on that.
type LogGen struct {
	d       QueryData
	streams []qstream
}

// NewLogGen prepares the streams: 20 services × 10 pods.
func (d QueryData) NewLogGen() *LogGen {
	f := &LogGen{d: d}
	g := &Generator{}
	for svc := 0; svc < len(services); svc++ {
		for pod := 0; pod < 10; pod++ {
			res := &pb.Resource{ServiceName: services[svc], Attributes: []*pb.Attr{
				{Key: "host.name", Value: fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", (svc+pod)%8, 10+(svc*31+pod*7)%200)},
				{Key: "k8s.namespace.name", Value: "shop-prod"},
				{Key: "k8s.pod.name", Value: g.podName(svc, pod)},
				{Key: "service.name", Value: services[svc]},
				{Key: "service.version", Value: fmt.Sprintf("1.%d.%d", 10+svc%7, pod%4)},
			}}
			labels := []*pb.Label{{Name: "k8s_namespace_name", Value: "shop-prod"}, {Name: "k8s_pod_name", Value: g.podName(svc, pod)},
				{Name: "service_name", Value: services[svc]}}
			h := xxhash.New()
			h.WriteString(d.Tenant)
			for _, l := range labels {
				h.WriteString("\xff" + l.Name + "\xfe" + l.Value)
			}
			f.streams = append(f.streams, qstream{stream: &pb.LogStream{StreamId: h.Sum64(), Labels: labels}, res: res, svc: svc})
		}
	}
	return f
}

// Fill adds lines [from, to) to b and returns how many of them carry the needle. It is
// safe to call concurrently with different batches.
func (f *LogGen) Fill(b *clickhouse.LogBatch, from, to int, flushID uint64) (needles int) {
	to = min(to, f.d.Lines)
	b.Grow(to - from)
	rnd := rand.New(rand.NewPCG(42, uint64(from)))
	var buf []byte
	for i := from; i < to; i++ {
		st := &f.streams[rnd.IntN(len(f.streams))]
		var rec *pb.LogRecord
		var needle bool
		rec, needle, buf = f.record(rnd, buf, i, st.svc)
		if needle {
			needles++
		}
		b.Add(f.d.Tenant, 30, flushID, st.stream, st.res, rec)
	}
	return needles
}

var referers = []string{"https://shop.example.com/", "https://shop.example.com/cart", "https://shop.example.com/checkout", "-"}

var errorMessages = []string{"upstream connect error or disconnect/reset before headers", "context deadline exceeded",
	"connection reset by peer", "no healthy upstream"}

var (
	methodAttr = map[string]*pb.Attr{}
	statusAttr = map[int]*pb.Attr{}
	routeAttr  = map[string]*pb.Attr{}
)

func init() {
	for _, rt := range routes {
		methodAttr[rt.method] = &pb.Attr{Key: "http.request.method", Value: rt.method}
		routeAttr[rt.route] = &pb.Attr{Key: "http.route", Value: rt.route}
	}
	for _, st := range []int{200, 201, 400, 401, 403, 404, 409, 429, 500, 501, 502, 503} {
		statusAttr[st] = &pb.Attr{Key: "http.response.status_code", Value: strconv.Itoa(st), Type: pb.AttrType_ATTR_TYPE_INT}
	}
}

func (f *LogGen) record(rnd *rand.Rand, buf []byte, i, svc int) (*pb.LogRecord, bool, []byte) {
	ts := f.d.LineTime(i)
	rt := routes[rnd.IntN(len(routes))]
	buf = buf[:0]
	path := func(buf []byte) []byte {
		switch {
		case rt.path == "/healthz":
			return append(buf, rt.path...)
		case rt.method == "GET" && (rt.route == "/api/v1/orders/{id}/items" || rt.route == "/api/v1/search"):
			return fmt.Appendf(buf, rt.path, rnd.IntN(100000), 1+rnd.IntN(9))
		}
		return fmt.Appendf(buf, rt.path, rnd.IntN(1000000))
	}
	status, dur, size, agent := accessFields(rnd)
	rid := rnd.Uint32()
	user := rnd.IntN(1000000)
	level, sev := "info", uint32(9)
	switch {
	case status >= 500:
		level, sev = "error", 17
	case status >= 400:
		level, sev = "warn", 13
	}
	needle := f.d.isNeedle(i)
	tm := time.Unix(0, ts).UTC()
	hex8 := func(buf []byte, v uint32) []byte {
		const digits = "0123456789abcdef"
		for sh := 28; sh >= 0; sh -= 4 {
			buf = append(buf, digits[(v>>sh)&0xf])
		}
		return buf
	}
	if JSONService(svc) {
		msg := "request completed"
		if status >= 500 {
			msg = errorMessages[rnd.IntN(len(errorMessages))]
		}
		buf = append(buf, `{"time":"`...)
		buf = tm.AppendFormat(buf, "2006-01-02T15:04:05.000000Z")
		buf = append(buf, `","level":"`...)
		buf = append(buf, level...)
		buf = append(buf, `","logger":"http.access","msg":"`...)
		buf = append(buf, msg...)
		buf = append(buf, `","method":"`...)
		buf = append(buf, rt.method...)
		buf = append(buf, `","path":"`...)
		buf = path(buf)
		buf = append(buf, `","status":`...)
		buf = strconv.AppendInt(buf, int64(status), 10)
		buf = append(buf, `,"duration_ms":`...)
		buf = strconv.AppendFloat(buf, dur, 'f', 1, 64)
		buf = append(buf, `,"bytes":`...)
		buf = strconv.AppendInt(buf, int64(size), 10)
		buf = append(buf, `,"user_agent":"`...)
		buf = append(buf, agent...)
		buf = append(buf, `","request_id":"`...)
		buf = hex8(buf, rid)
		buf = fmt.Appendf(buf, `","user":"u-%06d"`, user)
		if needle {
			buf = append(buf, `,"token":"`+f.d.Needle+`"`...)
		}
		buf = append(buf, '}')
	} else {
		buf = fmt.Appendf(buf, `10.%d.%d.%d - - [`, rnd.IntN(4), rnd.IntN(256), 1+rnd.IntN(254))
		buf = tm.AppendFormat(buf, "02/Jan/2006:15:04:05.000 -0700")
		buf = append(buf, `] "`...)
		buf = append(buf, rt.method...)
		buf = append(buf, ' ')
		buf = path(buf)
		buf = append(buf, ` HTTP/1.1" `...)
		buf = strconv.AppendInt(buf, int64(status), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(size), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendFloat(buf, dur, 'f', 1, 64)
		buf = append(buf, `ms "`...)
		buf = append(buf, referers[rnd.IntN(len(referers))]...)
		buf = append(buf, `" "`...)
		buf = append(buf, agent...)
		buf = fmt.Appendf(buf, `" upstream=10.0.%d.%d:8080 rid=`, rnd.IntN(8), 10+rnd.IntN(200))
		buf = hex8(buf, rid)
		buf = fmt.Appendf(buf, ` user=u-%06d`, user)
		if needle {
			buf = append(buf, " token="+f.d.Needle...)
		}
	}
	rec := &pb.LogRecord{
		Id: lineID(i), Timestamp: ts, ObservedTimestamp: ts + int64(3*time.Millisecond),
		SeverityNumber: sev, SeverityText: strings.ToUpper(level), Level: level, Body: string(buf), ScopeName: "access-log",
		Attributes: []*pb.Attr{methodAttr[rt.method], statusAttr[status], routeAttr[rt.route]},
	}
	if rnd.IntN(2) == 0 {
		rec.TraceId, rec.SpanId = make([]byte, 16), make([]byte, 8)
		binary.LittleEndian.PutUint64(rec.TraceId[:8], rnd.Uint64())
		binary.LittleEndian.PutUint64(rec.TraceId[8:], rnd.Uint64())
		binary.LittleEndian.PutUint64(rec.SpanId, rnd.Uint64()|1)
		rec.Flags = 1
	}
	return rec, needle, buf
}

func lineID(i int) uint64 {
	var b [9]byte
	b[0] = 'L'
	binary.LittleEndian.PutUint64(b[1:], uint64(i))
	return xxhash.Sum64(b[:])
}

// spanNames are the operations of a trace, root first: a request through the gateway to
// a service and its dependencies.
var spanNames = []string{"GET /api/v1/orders/{id}", "orders.Get", "SELECT orders", "cache.Get", "payment.Authorize",
	"POST /v1/charges", "inventory.Reserve", "SELECT stock", "publish order.updated", "render"}

// SpanFiller fills SpanBatches with the data set's traces, 10 spans each.
type SpanFiller struct {
	d    QueryData
	rnd  *rand.Rand
	res  []*pb.Resource
	next int // span index
}

// NewSpanFiller starts at span 0.
func (d QueryData) NewSpanFiller() *SpanFiller {
	f := &SpanFiller{d: d, rnd: rand.New(rand.NewPCG(43, 0x5ba2))}
	for svc := range services {
		f.res = append(f.res, &pb.Resource{ServiceName: services[svc], Attributes: []*pb.Attr{
			{Key: "k8s.namespace.name", Value: "shop-prod"},
			{Key: "service.name", Value: services[svc]},
			{Key: "service.version", Value: fmt.Sprintf("1.%d.0", 10+svc%7)},
		}})
	}
	return f
}

// SpansPerTrace is the size of every generated trace.
const SpansPerTrace = 10

// Done reports whether every span was filled.
func (f *SpanFiller) Done() bool { return f.next >= f.d.Spans }

// Fill adds whole traces, up to n spans, to b and returns the spans added.
func (f *SpanFiller) Fill(b *clickhouse.SpanBatch, n int, flushID uint64) int {
	b.Grow(n)
	added := 0
	traces := max(f.d.Spans/SpansPerTrace, 1)
	step := (f.d.End - f.d.Start - int64(10*time.Second)) / int64(traces)
	for added+SpansPerTrace <= n && f.next < f.d.Spans {
		t := f.next / SpansPerTrace
		rnd := f.rnd
		tid := make([]byte, 16)
		binary.BigEndian.PutUint64(tid[:8], rnd.Uint64())
		binary.BigEndian.PutUint64(tid[8:], rnd.Uint64())
		start := f.d.Start + int64(t)*step
		rootSvc := rnd.IntN(len(services))
		var ids [SpansPerTrace][]byte
		for k := 0; k < SpansPerTrace && f.next < f.d.Spans; k++ {
			ids[k] = make([]byte, 8)
			binary.BigEndian.PutUint64(ids[k], rnd.Uint64()|1)
			svc := rootSvc
			if k > 0 {
				svc = rnd.IntN(len(services))
			}
			// Durations are long-tailed: a few spans take seconds.
			dur := int64((0.2 + rnd.ExpFloat64()*15) * float64(time.Millisecond))
			if rnd.IntN(1000) == 0 {
				dur = int64(time.Second) + rnd.Int64N(int64(4*time.Second))
			}
			s := &pb.Span{Id: spanID(f.next), TraceId: tid, SpanId: ids[k], Name: spanNames[k], Kind: 2,
				Start: start + int64(k)*int64(time.Millisecond), ScopeName: "otel-go",
				Attributes: []*pb.Attr{{Key: "http.route", Value: spanNames[k]}}}
			if k > 0 {
				s.ParentSpanId, s.Kind = ids[(k-1)/2], 3
			}
			s.End = s.Start + dur
			if rnd.IntN(50) == 0 {
				s.StatusCode, s.StatusMessage = 2, errorMessages[rnd.IntN(len(errorMessages))]
			}
			b.Add(f.d.Tenant, 30, flushID, f.res[svc], s)
			f.next++
			added++
		}
	}
	return added
}

func spanID(i int) uint64 {
	var b [9]byte
	b[0] = 'S'
	binary.LittleEndian.PutUint64(b[1:], uint64(i))
	return xxhash.Sum64(b[:])
}
