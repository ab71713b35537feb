package querier

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// newTableFixture is newFixture plus log records and traces that the parser tables'
// queries (logql/testdata/queries.txt, traceql/testdata/queries.txt) select: streams
// labelled as those queries' selectors expect, lines carrying the fields their
// parsers, filters and unwraps use, and spans with the attributes, names, kinds and
// structure their TraceQL tests.
func newTableFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	logs := tableLogs(tenantA, base, 600, 3)
	chtest.WriteLogs(t, f.store, logs)
	f.logs = append(f.logs, logs...)
	spans := tableSpans(tenantA, base.Add(3500*time.Millisecond), 40, 5)
	chtest.WriteSpans(t, f.store, spans)
	f.traces = append(f.traces, spans...)
	return f
}

// tableStreams are label sets as a Loki push would create them (withServiceName adds
// service_name from app, or unknown_service).
var tableStreams = [][]string{
	{"app", "foo", "env", "prod", "pod", "p1"},
	{"app", "foo", "env", "dev", "pod", "p2"},
	{"app", "foo", "_a1", "x"},
	{"app", "baz", "x", "y"},
	{"app", "foo", "env", "prod", "pod", "p3"},
	{"app", "bar", "env", "prod"},
	{"a", "1", "b", "u"},
	{"a", "2", "b", "v"},
	{"a", "3", "b", "u"},
	{"app", "☃"},
	{"app", `a"b`},
	{"app", `foo\bar`},
}

// tableLogs builds n records every 700ms from base (with sub-second jitter), spread
// over tableStreams. Field values come from small sets so that unwrapped and parsed
// series stay few.
func tableLogs(tenant string, base time.Time, n int, seed uint64) []chtest.LogRecord {
	rng := rand.New(rand.NewPCG(seed, 13))
	type dest struct {
		s   *pb.LogStream
		res *pb.Resource
	}
	var dests []dest
	for _, kv := range tableStreams {
		var labels []*pb.Label
		svc := "unknown_service"
		for i := 0; i < len(kv); i += 2 {
			labels = append(labels, &pb.Label{Name: kv[i], Value: kv[i+1]})
			if kv[i] == "app" {
				svc = kv[i+1]
			}
		}
		labels = append(labels, &pb.Label{Name: "service_name", Value: svc})
		sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
		h := xxhash.New()
		h.WriteString(tenant)
		res := &pb.Resource{ServiceName: svc}
		for _, l := range labels {
			h.WriteString("\xff" + l.Name + "\xfe" + l.Value)
			res.Attributes = append(res.Attributes, &pb.Attr{Key: l.Name, Value: l.Value})
		}
		dests = append(dests, dest{&pb.LogStream{StreamId: h.Sum64(), Labels: labels}, res})
	}
	levels := []string{"error", "warn", "info", "debug", "error"}
	statuses := []int{500, 404, 200, 200, 503}
	methods := []string{"GET", "POST", "GET", "DELETE", "GET"}
	paths := []string{"/api/pay", "/cart", "/health", "/api/pay", "/login"}
	latencies := []string{"250ms", "0.4", "1.5s", "90ms", "2"}
	sizes := []string{"1.5KB", "20B", "3MiB", "1KiB", "3GB"}
	durations := []string{"12s", "3s", "45s", "1m", "500ms"}
	addrs := []string{"10.0.0.5", "192.168.0.5", "10.9.9.9", "172.16.0.1", "192.168.0.1"}
	texts := []string{"err: connection reset a b c", "debug cache miss x y", "warn disk almost full", `raw\d marker 1.2.3.4`,
		"\x1b[31merror\x1b[0m colored output", "GET /health 200 from 192.168.0.1", "db error occurred"}
	out := make([]chtest.LogRecord, 0, n)
	for i := 0; i < n; i++ {
		d := dests[rng.IntN(len(dests))]
		if rng.IntN(3) == 0 { // app="foo" gets more lines: most queries select it
			d = dests[rng.IntN(4)]
		}
		v := rng.IntN(5)
		var body string
		level := levels[v]
		switch rng.IntN(7) {
		case 0:
			body = fmt.Sprintf(`level=%s status=%d method=%s path=%s latency=%s size=%s duration=%s throughput_mb=%d delta=%d n=%d addr=%s a=%d b=%d c=%d bytes_sent=%d bytes=%d total=%d v=%d x=%d msg="%s err"`,
				level, statuses[v], methods[v], paths[v], latencies[v], sizes[v], durations[v], []int{120, 700, 300, 900, 50}[v],
				[]int{-20, -5, 0, 5, 15}[v], []int{500, 2000, 1000, 1500, 3}[v], addrs[v], v%2+1, v%3+1, v%4+1,
				100*(v+1), 1024*v, 10*i/100, v, v*2, methods[v])
		case 1:
			body = fmt.Sprintf(`level=%s msg="%s done" latency=%s status=%d`, level, paths[v], latencies[(v+1)%5], statuses[(v+2)%5])
		case 2:
			body = fmt.Sprintf(`{"level":"%s","status":%d,"method":"%s","path":"%s","latency":%g,"size":"%s","x":{"y":"v%d"},"z":["z%d","q"],"request":{"headers":{"User-Agent":"curl/%d"}},"msg":"  %s  "}`,
				level, statuses[v], methods[v], paths[v], []float64{0.25, 0.4, 1.5, 0.09, 2}[v], sizes[v], v%2, v%3, v%2, []string{"timeout", "ok", "", "slow", "ready"}[v])
		case 3:
			body = fmt.Sprintf(`%s - - [24/Nov/2026:23:58:00 +0000] "%s %s" %d`, addrs[v], methods[v], paths[v], statuses[v])
			level = "unknown"
		case 4:
			body = texts[rng.IntN(len(texts))]
			level = "unknown"
		case 5:
			body = `{"level":"error","msg":`
			level = "error"
		case 6:
			body = "level=info =bad msg=x"
			level = "info"
		}
		// The a="…" streams have one series each (one level, no metadata), so the
		// table's vector matches on a are one-to-one.
		oneSeries := d.res.ServiceName == "unknown_service"
		if oneSeries {
			level = "info"
		}
		ts := base.Add(time.Duration(i) * 700 * time.Millisecond).UnixNano()
		ts += int64(rng.IntN(1000))
		rec := &pb.LogRecord{Timestamp: ts, ObservedTimestamp: ts, Body: body, Level: level, SeverityText: level}
		if rng.IntN(3) == 0 && !oneSeries {
			rec.Attributes = append(rec.Attributes, &pb.Attr{Key: "user", Value: []string{"bob", "alice"}[rng.IntN(2)]})
		}
		if rng.IntN(4) == 0 && !oneSeries {
			rec.Attributes = append(rec.Attributes, &pb.Attr{Key: "level", Value: "meta-" + level})
		}
		if rng.IntN(5) == 0 && !oneSeries {
			rec.Attributes = append(rec.Attributes, &pb.Attr{Key: "status", Value: "201", Type: pb.AttrType_ATTR_TYPE_INT})
		}
		sort.Slice(rec.Attributes, func(i, j int) bool { return rec.Attributes[i].Key < rec.Attributes[j].Key })
		h := xxhash.New()
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], d.s.StreamId)
		h.Write(buf[:])
		binary.LittleEndian.PutUint64(buf[:], uint64(ts))
		h.Write(buf[:])
		h.WriteString(body)
		rec.Id = h.Sum64()
		out = append(out, chtest.LogRecord{Tenant: tenant, FlushID: uint64(1000 + i/100), Stream: d.s, Resource: d.res, Record: rec})
	}
	return out
}

// tableSpans builds n traces from start, 9s apart: a root, its children and
// grandchildren in several services, with attributes of every type under the names
// the TraceQL table uses (a, b, c, x, flag, "a b", foo-bar/baz:1, ...).
func tableSpans(tenant string, start time.Time, n int, seed uint64) []chtest.SpanRecord {
	rng := rand.New(rand.NewPCG(seed, 17))
	mkRes := func(svc string, extra ...*pb.Attr) *pb.Resource {
		attrs := append([]*pb.Attr{{Key: "service.name", Value: svc}}, extra...)
		sort.Slice(attrs, func(i, j int) bool { return attrs[i].Key < attrs[j].Key })
		return &pb.Resource{ServiceName: svc, Attributes: attrs}
	}
	resources := []*pb.Resource{
		mkRes("frontend", &pb.Attr{Key: "deployment.environment", Value: "prod-eu"}, &pb.Attr{Key: "k8s pod", Value: "fe-1"}),
		mkRes("a", &pb.Attr{Key: "deployment.environment", Value: "dev"}),
		mkRes("b", &pb.Attr{Key: "deployment.environment", Value: "prod-us"}, &pb.Attr{Key: "x", Value: "3", Type: pb.AttrType_ATTR_TYPE_INT}),
		mkRes("checkout", &pb.Attr{Key: "flag", Value: "true", Type: pb.AttrType_ATTR_TYPE_BOOL}),
	}
	str := func(k, v string) *pb.Attr { return &pb.Attr{Key: k, Value: v} }
	num := func(k string, v int) *pb.Attr {
		return &pb.Attr{Key: k, Value: fmt.Sprint(v), Type: pb.AttrType_ATTR_TYPE_INT}
	}
	flt := func(k string, v float64) *pb.Attr {
		return &pb.Attr{Key: k, Value: fmt.Sprint(v), Type: pb.AttrType_ATTR_TYPE_DOUBLE}
	}
	boolean := func(k string, v bool) *pb.Attr {
		return &pb.Attr{Key: k, Value: fmt.Sprint(v), Type: pb.AttrType_ATTR_TYPE_BOOL}
	}
	// Candidate values of each attribute, of mixed types on purpose.
	values := map[string][]*pb.Attr{
		"a":                {num("a", 1), flt("a", 1.5), num("a", 1000), flt("a", 1.5e-7), num("a", -1), boolean("a", true), str("a", "single"), num("a", 2), num("a", 0), flt("a", 2.0)},
		"b":                {num("b", 2), num("b", 1), boolean("b", false), str("b", "esc\"aped\n"), num("b", 3), boolean("b", true), flt("b", 4)},
		"c":                {num("c", 3), num("c", 1), str("c", `raw\d`), num("c", 0), boolean("c", true)},
		"x":                {num("x", 10), flt("x", 1.5), num("x", 1), num("x", 0), num("x", 4)},
		"flag":             {boolean("flag", true), boolean("flag", false)},
		"other":            {boolean("other", true), boolean("other", false)},
		"plain":            {num("plain", 1), num("plain", 2)},
		"a b":              {str("a b", "c"), str("a b", "d")},
		"foo-bar/baz:1":    {num("foo-bar/baz:1", 1)},
		`quote"d`:          {num(`quote"d`, 1)},
		"a+.b":             {num("a+.b", 5), num("a+.b", 2)},
		"db.system":        {str("db.system", "mysql"), {Key: "db.system", Type: pb.AttrType_ATTR_TYPE_EMPTY}},
		"bytes":            {num("bytes", 500), num("bytes", 1500), num("bytes", 2000)},
		"http.url":         {str("http.url", "https://shop/pay"), str("http.url", "https://shop/cart")},
		"http.method":      {str("http.method", "GET"), str("http.method", "POST")},
		"http.status_code": {num("http.status_code", 200), num("http.status_code", 500), num("http.status_code", 503), str("http.status_code", "500")},
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	names := []string{"x", "GET /", "GET /health", "HEAD /", "POST /pay", "SELECT orders"}
	durations := []time.Duration{250 * time.Nanosecond, 5 * time.Microsecond, 100 * time.Millisecond, 1200 * time.Millisecond, 1600 * time.Millisecond, 3 * time.Second}
	var out []chtest.SpanRecord
	for i := 0; i < n; i++ {
		tid := []byte{0xcd, byte(i >> 8), byte(i), 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3}
		if i == 7 {
			tid = []byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
		}
		t0 := start.Add(time.Duration(i) * 9 * time.Second).UnixNano()
		nspans := 3 + rng.IntN(5)
		for j := 0; j < nspans; j++ {
			sid := []byte{0, 0, 0, 0, 0, byte(i), byte(j + 1), 0x5a}
			if i == 11 && j == 1 {
				sid = []byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
			}
			sp := &pb.Span{TraceId: tid, SpanId: sid, ScopeName: "otel",
				Name: names[rng.IntN(len(names))], Kind: int32(rng.IntN(6))}
			res := resources[rng.IntN(len(resources))]
			if j == 0 {
				if rng.IntN(2) == 0 {
					sp.Name, res = "GET /", resources[0]
				}
			} else {
				// Parents come first; spans j ≥ 1 hang under an earlier span.
				p := rng.IntN(j)
				sp.ParentSpanId = out[len(out)-j+p].Span.SpanId
			}
			s := t0 + int64(j)*int64(time.Millisecond)
			sp.Start, sp.End = s, s+int64(durations[rng.IntN(len(durations))])
			switch rng.IntN(4) {
			case 1:
				sp.StatusCode = 1
			case 2:
				sp.StatusCode = 2
				sp.StatusMessage = []string{"upstream timeout", "deadlock", ""}[rng.IntN(3)]
			}
			for _, k := range keys {
				if rng.IntN(2) == 0 {
					vs := values[k]
					v := vs[0] // the value most table queries test, half the time
					if rng.IntN(2) == 0 {
						v = vs[rng.IntN(len(vs))]
					}
					sp.Attributes = append(sp.Attributes, v)
				}
			}
			sp.Id = xxhash.Sum64(append([]byte(tenant), append(append([]byte{}, tid...), sp.SpanId...)...))
			out = append(out, chtest.SpanRecord{Tenant: tenant, FlushID: uint64(200 + i/10), Resource: res, Span: sp})
		}
	}
	return out
}
