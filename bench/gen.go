// Package bench is the load harness behind `make bench`: a realistic OTLP log generator,
// a sender that replays pre-encoded requests, /proc sampling and the report. The program
// that runs the phases is bench/cmd/loadbench.
package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// GenConfig shapes the generated logs.
type GenConfig struct {
	// BatchRecords is the number of log records per export request.
	BatchRecords int
	// ResourcesPerBatch is how many pods (resources, hence streams) one request carries,
	// as a collector batching several pods' logs would send.
	ResourcesPerBatch int
	// Services and PodsPerService bound the stream count: Services × PodsPerService.
	Services, PodsPerService int
	Seed                     uint64
}

// DefaultGenConfig is the shape `make bench` uses: 2000-record requests from 10 pods,
// 20 services × 10 pods = 200 streams.
func DefaultGenConfig() GenConfig {
	return GenConfig{BatchRecords: 2000, ResourcesPerBatch: 10, Services: 20, PodsPerService: 10, Seed: 1}
}

// Template is one pre-encoded ExportLogsServiceRequest whose record timestamps can be
// rewritten in place, so a handful of templates yield any number of distinct records
// (the record id hashes the timestamp) at the cost of a memcpy.
type Template struct {
	wire   []byte
	tsOff  []int32 // offset of each record's time_unix_nano value (fixed64)
	obsOff []int32 // offset of each record's observed_time_unix_nano value (fixed64)
}

// Records is the number of log records in the request.
func (t *Template) Records() int { return len(t.tsOff) }

// WireBytes is the encoded size of the request.
func (t *Template) WireBytes() int { return len(t.wire) }

// RecordSpacing is the time between the timestamps of consecutive records.
const RecordSpacing = time.Microsecond

// Fill copies the request into dst (grown as needed) with record i stamped
// base + (first+i) × RecordSpacing and observed 3 ms later; it returns the filled slice.
func (t *Template) Fill(dst []byte, base, first int64) []byte {
	dst = append(dst[:0], t.wire...)
	for i, off := range t.tsOff {
		ts := uint64(base + (first+int64(i))*int64(RecordSpacing))
		binary.LittleEndian.PutUint64(dst[off:], ts)
		binary.LittleEndian.PutUint64(dst[t.obsOff[i]:], ts+uint64(3*time.Millisecond))
	}
	return dst
}

// Logs decodes a filled copy of the request.
func (t *Template) Logs(base, first int64) (plog.Logs, error) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(t.Fill(nil, base, first)); err != nil {
		return plog.Logs{}, err
	}
	return req.Logs(), nil
}

// Generator builds templates of realistic OTLP logs: HTTP access lines from pods of a
// few services, with Kubernetes resource attributes, HTTP attributes and trace context
// on most records.
type Generator struct {
	cfg GenConfig
	rnd *rand.Rand
}

// NewGenerator returns a deterministic generator.
func NewGenerator(cfg GenConfig) *Generator {
	return &Generator{cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.Seed, 0x5eed))}
}

var (
	services = []string{"checkout", "cart", "payment", "frontend", "catalog", "shipping", "auth", "search",
		"recommendation", "email", "ads", "inventory", "orders", "users", "notifications", "reviews",
		"pricing", "currency", "quote", "gateway"}
	routes = []struct{ method, route, path string }{
		{"GET", "/api/v1/orders/{id}", "/api/v1/orders/%d"},
		{"GET", "/api/v1/orders/{id}/items", "/api/v1/orders/%d/items?page=%d"},
		{"POST", "/api/v1/cart/{id}/items", "/api/v1/cart/%d/items"},
		{"GET", "/api/v1/products/{id}", "/api/v1/products/%d"},
		{"GET", "/api/v1/search", "/api/v1/search?q=item-%d&page=%d"},
		{"PUT", "/api/v1/users/{id}/profile", "/api/v1/users/%d/profile"},
		{"DELETE", "/api/v1/sessions/{id}", "/api/v1/sessions/%d"},
		{"GET", "/healthz", "/healthz"},
	}
	agents  = []string{"okhttp/4.12.0", "Go-http-client/2.0", "python-requests/2.32.3", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)"}
	letters = "bcdfghjklmnpqrstvwxz2456789"
)

func (g *Generator) podName(svc, pod int) string {
	r := rand.New(rand.NewPCG(uint64(svc), uint64(pod)))
	b := make([]byte, 5)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return fmt.Sprintf("%s-%x-%s", services[svc%len(services)], 0x6d4b9c7f5+svc*7, b)
}

// Template builds one request. Templates built in turn differ in pods and contents.
func (g *Generator) Template() (*Template, error) {
	ld := g.logs()
	return encode(ld)
}

// Templates builds n templates.
func (g *Generator) Templates(n int) ([]*Template, error) {
	out := make([]*Template, n)
	for i := range out {
		t, err := g.Template()
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

const (
	tsMark  = 0x7a5a000000000000 // sentinel high bits of time_unix_nano while encoding
	obsMark = 0x7b5b000000000000 // and of observed_time_unix_nano
)

func (g *Generator) logs() plog.Logs {
	cfg := g.cfg
	ld := plog.NewLogs()
	per := cfg.BatchRecords / cfg.ResourcesPerBatch
	seq := 0
	for r := 0; r < cfg.ResourcesPerBatch; r++ {
		n := per
		if r == cfg.ResourcesPerBatch-1 {
			n = cfg.BatchRecords - per*(cfg.ResourcesPerBatch-1)
		}
		svc, pod := g.rnd.IntN(cfg.Services), g.rnd.IntN(cfg.PodsPerService)
		rl := ld.ResourceLogs().AppendEmpty()
		ra := rl.Resource().Attributes()
		ra.PutStr("service.name", services[svc%len(services)])
		ra.PutStr("service.version", fmt.Sprintf("1.%d.%d", 10+svc%7, pod%4))
		ra.PutStr("k8s.namespace.name", "shop-prod")
		ra.PutStr("k8s.pod.name", g.podName(svc, pod))
		ra.PutStr("host.name", fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", (svc+pod)%8, 10+(svc*31+pod*7)%200))
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("access-log")
		for i := 0; i < n; i++ {
			g.record(sl.LogRecords().AppendEmpty(), seq)
			seq++
		}
	}
	return ld
}

func (g *Generator) record(lr plog.LogRecord, seq int) {
	rnd := g.rnd
	rt := routes[rnd.IntN(len(routes))]
	path := rt.path
	switch {
	case rt.path == "/healthz":
	case rt.method == "GET" && (rt.route == "/api/v1/orders/{id}/items" || rt.route == "/api/v1/search"):
		path = fmt.Sprintf(rt.path, rnd.IntN(100000), 1+rnd.IntN(9))
	default:
		path = fmt.Sprintf(rt.path, rnd.IntN(1000000))
	}
	status, dur, size, agent := accessFields(rnd)
	ip := fmt.Sprintf("10.%d.%d.%d", rnd.IntN(4), rnd.IntN(256), 1+rnd.IntN(254))
	lr.Body().SetStr(fmt.Sprintf(`%s - - "%s %s HTTP/1.1" %d %d %.1fms "%s" rid=%08x`, ip, rt.method, path, status, size, dur, agent, rnd.Uint32()))
	lr.SetTimestamp(pcommon.Timestamp(tsMark | uint64(seq)))
	lr.SetObservedTimestamp(pcommon.Timestamp(obsMark | uint64(seq)))
	switch {
	case status >= 500:
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetSeverityText("ERROR")
	case status >= 400:
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText("WARN")
	default:
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
	}
	a := lr.Attributes()
	a.PutStr("http.request.method", rt.method)
	a.PutStr("http.route", rt.route)
	a.PutInt("http.response.status_code", int64(status))
	if rnd.IntN(10) < 3 {
		a.PutDouble("http.server.request.duration", float64(int(dur*10))/10000)
	}
	if status >= 400 {
		a.PutStr("error.type", fmt.Sprint(status))
	}
	if rnd.IntN(2) == 0 { // half the records carry trace context
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		binary.LittleEndian.PutUint64(tid[:8], rnd.Uint64())
		binary.LittleEndian.PutUint64(tid[8:], rnd.Uint64())
		binary.LittleEndian.PutUint64(sid[:], rnd.Uint64()|1)
		lr.SetTraceID(tid)
		lr.SetSpanID(sid)
		lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	}
}

// encode marshals the request and finds where each record's timestamps are, by the
// sentinel values logs() put there.
func encode(ld plog.Logs) (*Template, error) {
	wire, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return nil, err
	}
	n := ld.LogRecordCount()
	t := &Template{wire: wire, tsOff: make([]int32, n), obsOff: make([]int32, n)}
	var mark [8]byte
	find := func(tag byte, v uint64, from int) (int, error) {
		binary.LittleEndian.PutUint64(mark[:], v)
		i := bytes.Index(wire[from:], mark[:])
		if i < 1 || wire[from+i-1] != tag {
			return 0, fmt.Errorf("bench: timestamp sentinel %#x not found after a tag %#x", v, tag)
		}
		return from + i, nil
	}
	from := 0
	for i := 0; i < n; i++ {
		// time_unix_nano is field 1 and observed_time_unix_nano field 11, both fixed64.
		ts, err := find(1<<3|1, tsMark|uint64(i), from)
		if err != nil {
			return nil, err
		}
		obs, err := find(11<<3|1, obsMark|uint64(i), from)
		if err != nil {
			return nil, err
		}
		t.tsOff[i], t.obsOff[i] = int32(ts), int32(obs)
		from = min(ts, obs) + 8
	}
	return t, nil
}

// accessFields draws an access line's status (3% 5xx, 7% 4xx, 5% 201, else 200), duration
// in ms, response size and user agent; the ingest and the query data sets share it.
func accessFields(rnd *rand.Rand) (status int, dur float64, size int, agent string) {
	status = 200
	switch p := rnd.IntN(100); {
	case p < 3:
		status = 500 + rnd.IntN(4)
	case p < 10:
		status = []int{400, 401, 403, 404, 409, 429}[rnd.IntN(6)]
	case p < 15:
		status = 201
	}
	dur = 0.3 + rnd.ExpFloat64()*18
	size = 120 + rnd.IntN(20000)
	agent = agents[rnd.IntN(len(agents))]
	return status, dur, size, agent
}
