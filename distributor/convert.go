package distributor

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/strataobs/strata/limits"
	pb "github.com/strataobs/strata/proto/strata/v1"
)

const unknownService = "unknown_service"

// rejection is why one record was refused; the reason is a stable metric label.
type rejection struct {
	reason string
	msg    string
}

// converted is an OTLP request flattened into Strata records, grouped by ring key.
type converted struct {
	validator *validator // whose memory the records are; reused once the push is done
	resources []*pb.Resource
	streams   []*pb.LogStream // one per distinct stream
	traces    []*pb.Trace     // one per distinct trace id
	accepted  int
	rejected  []rejection
}

func (c *converted) reject(reason, msg string) {
	c.rejected = append(c.rejected, rejection{reason, msg})
}

// validator checks records against a tenant's limits.
type validator struct {
	lim      *limits.Limits
	nowNanos int64
	indexSet map[string]string // resource attribute -> label name

	// A request's records, attributes and ids are carved out of shared chunks: a few
	// allocations per request instead of a dozen per record, where allocating and
	// collecting them was a third of a distributor's CPU. All of them die with the
	// request, and a validator is then reused (Distributor.recycle): fresh, the chunks
	// were 29% of the bytes an all-in-one process allocated, each one zeroed and
	// collected.
	records  chunk[pb.LogRecord]
	attrVals chunk[pb.Attr]
	attrPtrs chunk[*pb.Attr]
	recPtrs  chunk[*pb.LogRecord] // streams' record lists
	idBytes  chunk[byte]
	numText  chunk[byte] // record attributes' numbers as text
	hashBuf  []byte      // logID's scratch
}

// chunk hands out parts of larger slices, which rewind makes available again.
type chunk[T any] struct {
	bufs     [][]T
	cur, off int // the next part starts at bufs[cur][off]
}

const (
	chunkLen = 512
	// maxKeptChunks bounds the slices a rewound chunk keeps: a rare huge request's are
	// let go.
	maxKeptChunks = 64
)

// take returns n zero elements, capped so that appending to them cannot reach the next.
func (c *chunk[T]) take(n int) []T {
	for ; c.cur < len(c.bufs); c.cur, c.off = c.cur+1, 0 {
		if b := c.bufs[c.cur]; c.off+n <= len(b) {
			s := b[c.off : c.off+n : c.off+n]
			c.off += n
			clear(s) // an earlier request's values
			return s
		}
	}
	b := make([]T, max(n, chunkLen))
	c.bufs = append(c.bufs, b)
	c.off = n
	return b[:n:n]
}

// takeString copies b into c and returns the copy as a string, valid until c is rewound.
func takeString(c *chunk[byte], b []byte) string {
	out := c.take(len(b))
	copy(out, b)
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// rewind makes every part taken available to take again.
func (c *chunk[T]) rewind() {
	if len(c.bufs) > maxKeptChunks {
		c.bufs = nil
	}
	c.cur, c.off = 0, 0
}

// id copies a trace or span id out of its array, nil when it is all zero.
func (v *validator) id(b []byte) []byte {
	if nonZeroID(b) == nil {
		return nil
	}
	out := v.idBytes.take(len(b))
	copy(out, b)
	return out
}

func newValidator(lim *limits.Limits, nowNanos int64) *validator {
	v := &validator{}
	v.reset(lim, nowNanos)
	return v
}

// reset readies v for a request under lim at nowNanos, its chunks rewound: nothing may
// use what v handed out before.
func (v *validator) reset(lim *limits.Limits, nowNanos int64) {
	if v.lim != lim {
		v.indexSet = make(map[string]string, len(lim.IndexLabels))
		for _, k := range lim.IndexLabels {
			v.indexSet[k] = labelName(k)
		}
	}
	v.lim, v.nowNanos = lim, nowNanos
	v.records.rewind()
	v.attrVals.rewind()
	v.attrPtrs.rewind()
	v.recPtrs.rewind()
	v.idBytes.rewind()
	v.numText.rewind()
}

// labelName turns an attribute key into a Prometheus-style label name, as Loki does.
func labelName(k string) string {
	var sb strings.Builder
	for i, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r >= '0' && r <= '9' && i > 0:
			sb.WriteRune(r)
		default:
			sb.WriteByte('_')
		}
	}
	return sb.String()
}

func (v *validator) checkTime(ts int64) (string, string) {
	if ts < v.nowNanos-int64(v.lim.RejectOlderThan) {
		return "too_old", "timestamp " + formatNanos(ts) + " is older than the limit reject_older_than=" + v.lim.RejectOlderThan.String()
	}
	if ts > v.nowNanos+int64(v.lim.CreationGracePeriod) {
		return "too_far_in_future", "timestamp " + formatNanos(ts) + " is further in the future than creation_grace_period=" + v.lim.CreationGracePeriod.String()
	}
	return "", ""
}

func formatNanos(ts int64) string {
	return pcommon.Timestamp(uint64(ts)).AsTime().UTC().Format("2006-01-02T15:04:05.999999999Z")
}

// attrs flattens an OTLP attribute map, checking limits. The result is sorted by key so
// ids do not depend on the sender's map order. Numbers are written as text into text
// (v's memory, which dies with the request) when it is set, else into strings of their
// own: a resource's index labels outlive the request in the ingester's streams.
func (v *validator) attrs(m pcommon.Map, what string, text *chunk[byte]) ([]*pb.Attr, string, string) {
	if reason, msg := v.checkAttrCount(what, m.Len()); reason != "" {
		return nil, reason, msg
	}
	if m.Len() == 0 {
		return nil, "", ""
	}
	out := v.attrPtrs.take(m.Len())[:0]
	slab := v.attrVals.take(m.Len())
	var reason, msg string
	m.Range(func(k string, val pcommon.Value) bool {
		if reason, msg = v.checkAttrKey(what, k); reason != "" {
			return false
		}
		a := &slab[len(out)]
		a.Key = k
		a.Value, a.Type = attrValue(val, text)
		if reason, msg = v.checkAttrValue(what, k, a.Value); reason != "" {
			return false
		}
		out = append(out, a)
		return true
	})
	if reason != "" {
		return nil, reason, msg
	}
	// Stable, so that even a map with a key twice (the wire allows it) hashes into the
	// same record id every time.
	slices.SortStableFunc(out, func(a, b *pb.Attr) int { return strings.Compare(a.Key, b.Key) })
	return out, "", ""
}

// The attribute checks are shared by OTLP attributes and Loki labels and structured metadata.

func (v *validator) checkAttrCount(what string, n int) (string, string) {
	if n > v.lim.MaxAttributes {
		return "too_many_attributes", what + " has " + strconv.Itoa(n) + " attributes, more than the limit max_attributes=" + strconv.Itoa(v.lim.MaxAttributes)
	}
	return "", ""
}

func (v *validator) checkAttrKey(what, k string) (string, string) {
	if len(k) > v.lim.MaxAttributeKeyLen {
		return "attribute_key_too_long", what + " attribute key of " + strconv.Itoa(len(k)) + " bytes exceeds max_attribute_key_length=" + strconv.Itoa(v.lim.MaxAttributeKeyLen)
	}
	if !utf8.ValidString(k) {
		return "invalid_utf8", what + " attribute key is not valid UTF-8"
	}
	return "", ""
}

func (v *validator) checkAttrValue(what, k, val string) (string, string) {
	if len(val) > v.lim.MaxAttributeValueLen {
		return "attribute_value_too_long", what + " attribute " + strconv.Quote(k) + " value of " + strconv.Itoa(len(val)) + " bytes exceeds max_attribute_value_length=" + strconv.Itoa(v.lim.MaxAttributeValueLen)
	}
	if !utf8.ValidString(val) {
		return "invalid_utf8", what + " attribute " + strconv.Quote(k) + " is not valid UTF-8"
	}
	return "", ""
}

// checkLine applies the line limits to a log body; what names it in the message.
func (v *validator) checkLine(what, body string) (string, string) {
	if len(body) > v.lim.MaxLineSize {
		return "line_too_long", what + " of " + strconv.Itoa(len(body)) + " bytes exceeds max_line_size=" + strconv.Itoa(v.lim.MaxLineSize)
	}
	if !utf8.ValidString(body) {
		return "invalid_utf8", what + " is not valid UTF-8"
	}
	return "", ""
}

// attrValue is an attribute's value as text, and its type. Numbers are written into text
// when it is set, and the string is that memory: allocated one by one, they were a
// sixth of converting a realistic record's attributes.
func attrValue(v pcommon.Value, text *chunk[byte]) (string, pb.AttrType) {
	var num [32]byte
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str(), pb.AttrType_ATTR_TYPE_STRING
	case pcommon.ValueTypeBool:
		return strconv.FormatBool(v.Bool()), pb.AttrType_ATTR_TYPE_BOOL
	case pcommon.ValueTypeInt:
		if text == nil {
			return strconv.FormatInt(v.Int(), 10), pb.AttrType_ATTR_TYPE_INT
		}
		return takeString(text, strconv.AppendInt(num[:0], v.Int(), 10)), pb.AttrType_ATTR_TYPE_INT
	case pcommon.ValueTypeDouble:
		if text == nil {
			return strconv.FormatFloat(v.Double(), 'g', -1, 64), pb.AttrType_ATTR_TYPE_DOUBLE
		}
		return takeString(text, strconv.AppendFloat(num[:0], v.Double(), 'g', -1, 64)), pb.AttrType_ATTR_TYPE_DOUBLE
	case pcommon.ValueTypeBytes:
		return base64.StdEncoding.EncodeToString(v.Bytes().AsRaw()), pb.AttrType_ATTR_TYPE_BYTES
	case pcommon.ValueTypeSlice:
		return v.AsString(), pb.AttrType_ATTR_TYPE_ARRAY
	case pcommon.ValueTypeMap:
		return v.AsString(), pb.AttrType_ATTR_TYPE_MAP
	default:
		return "", pb.AttrType_ATTR_TYPE_EMPTY
	}
}

// resource builds the shared Resource and the stream labels of a resource.
func (v *validator) resource(r pcommon.Resource) (*pb.Resource, []*pb.Label, string, string) {
	attrs, reason, msg := v.attrs(r.Attributes(), "resource", nil)
	if reason != "" {
		return nil, nil, reason, msg
	}
	res := &pb.Resource{Attributes: attrs, ServiceName: unknownService}
	var labels []*pb.Label
	for _, a := range attrs {
		if a.Key == "service.name" && a.Value != "" {
			res.ServiceName = a.Value
		}
		if name, ok := v.indexSet[a.Key]; ok && a.Value != "" {
			labels = append(labels, &pb.Label{Name: name, Value: a.Value})
		}
	}
	if !hasLabel(labels, "service_name") {
		labels = append(labels, &pb.Label{Name: "service_name", Value: res.ServiceName})
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
	return res, labels, "", ""
}

func hasLabel(ls []*pb.Label, name string) bool {
	for _, l := range ls {
		if l.Name == name {
			return true
		}
	}
	return false
}

// streamID fingerprints a tenant's stream labels; it is also the ring key's source.
func streamID(tenant string, labels []*pb.Label) uint64 {
	h := xxhash.New()
	h.WriteString(tenant)
	for _, l := range labels {
		h.WriteString("\xff")
		h.WriteString(l.Name)
		h.WriteString("\xfe")
		h.WriteString(l.Value)
	}
	return h.Sum64()
}

// logID is the deterministic id of a log record: replicas and client retries of the same
// record get the same id, which is what makes exact counts possible. The hashed bytes are
// gathered in v's scratch buffer and hashed at once: written piece by piece into a
// digest (a dozen small writes per record) the hash cost 5% of an all-in-one process.
// The id is the same either way.
func (v *validator) logID(stream uint64, r *pb.LogRecord) uint64 {
	b := v.hashBuf[:0]
	b = binary.LittleEndian.AppendUint64(b, stream)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Timestamp))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.ObservedTimestamp))
	b = append(b, byte(r.SeverityNumber))
	b = append(b, r.SeverityText...)
	b = append(b, 0xff)
	b = append(b, r.Body...)
	b = append(b, 0xff)
	b = append(b, r.TraceId...)
	b = append(b, r.SpanId...)
	for _, a := range r.Attributes {
		b = append(b, a.Key...)
		b = append(b, 0xfe)
		b = append(b, a.Value...)
		b = append(b, 0xff)
	}
	v.hashBuf = b
	return xxhash.Sum64(b)
}

// spanID is the deterministic id of a span: the trace id and span id, per tenant.
func spanRecordID(tenant string, traceID, spanID []byte) uint64 {
	h := xxhash.New()
	h.WriteString(tenant)
	h.WriteString("\xff")
	h.Write(traceID)
	h.Write(spanID)
	return h.Sum64()
}

// severityLevel maps OTLP severity to Loki's detected_level values.
func severityLevel(num plog.SeverityNumber, text string) string {
	switch {
	case num >= plog.SeverityNumberFatal:
		return "fatal"
	case num >= plog.SeverityNumberError:
		return "error"
	case num >= plog.SeverityNumberWarn:
		return "warn"
	case num >= plog.SeverityNumberInfo:
		return "info"
	case num >= plog.SeverityNumberDebug:
		return "debug"
	case num >= plog.SeverityNumberTrace:
		return "trace"
	}
	switch strings.ToLower(text) {
	case "fatal", "critical", "crit", "emerg", "alert", "panic":
		return "fatal"
	case "error", "err", "eror":
		return "error"
	case "warn", "warning", "wrn":
		return "warn"
	case "info", "information", "inf", "notice":
		return "info"
	case "debug", "dbg":
		return "debug"
	case "trace", "trc":
		return "trace"
	}
	return "unknown"
}

func nonZeroID(b []byte) []byte {
	for _, c := range b {
		if c != 0 {
			return b
		}
	}
	return nil
}

// convertLogs flattens OTLP logs for one tenant, validating each record.
func convertLogs(tenant string, v *validator, ld plog.Logs) *converted {
	c := &converted{validator: v}
	byStream := map[uint64]*pb.LogStream{}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		n := countLogs(rl)
		res, labels, reason, msg := v.resource(rl.Resource())
		if reason != "" {
			for j := 0; j < n; j++ {
				c.reject(reason, msg)
			}
			continue
		}
		resIdx := uint32(len(c.resources))
		c.resources = append(c.resources, res)
		sid := streamID(tenant, labels)
		st := byStream[sid]
		if st == nil {
			// Room for this resource's records, which are mostly all the stream gets;
			// grown by append, the lists were reallocated over and over.
			st = &pb.LogStream{StreamId: sid, Labels: labels, Records: v.recPtrs.take(n)[:0]}
			byStream[sid] = st
			c.streams = append(c.streams, st)
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			recs := sl.LogRecords()
			for k := 0; k < recs.Len(); k++ {
				rec, reason, msg := v.logRecord(recs.At(k), sl.Scope())
				if reason != "" {
					c.reject(reason, msg)
					continue
				}
				rec.Resource = resIdx
				rec.Id = v.logID(sid, rec)
				st.Records = append(st.Records, rec)
				c.accepted++
			}
		}
	}
	return c
}

func countLogs(rl plog.ResourceLogs) int {
	n := 0
	for j := 0; j < rl.ScopeLogs().Len(); j++ {
		n += rl.ScopeLogs().At(j).LogRecords().Len()
	}
	return n
}

func (v *validator) logRecord(lr plog.LogRecord, scope pcommon.InstrumentationScope) (*pb.LogRecord, string, string) {
	ts := int64(lr.Timestamp())
	obs := int64(lr.ObservedTimestamp())
	if ts == 0 {
		ts = obs
	}
	if ts == 0 {
		ts = v.nowNanos
	}
	// A missing observed time takes the record time, not the clock: the id hashes it, and a
	// retry through another distributor must produce the same id.
	if obs == 0 {
		obs = ts
	}
	if reason, msg := v.checkTime(ts); reason != "" {
		return nil, reason, "log record " + msg
	}
	body := lr.Body().AsString()
	if lr.Body().Type() == pcommon.ValueTypeStr {
		body = lr.Body().Str()
	}
	if reason, msg := v.checkLine("log record body", body); reason != "" {
		return nil, reason, msg
	}
	// The record's other strings too: an ingester in this process keeps the record as
	// encoded here without checking it again.
	for _, f := range [...]struct{ name, s string }{
		{"severity text", lr.SeverityText()}, {"scope name", scope.Name()},
		{"scope version", scope.Version()}, {"event name", lr.EventName()},
	} {
		if !utf8.ValidString(f.s) {
			return nil, "invalid_utf8", "log record " + f.name + " is not valid UTF-8"
		}
	}
	attrs, reason, msg := v.attrs(lr.Attributes(), "log record", &v.numText)
	if reason != "" {
		return nil, reason, msg
	}
	tid, sid := lr.TraceID(), lr.SpanID()
	r := &v.records.take(1)[0]
	r.Timestamp = ts
	r.ObservedTimestamp = obs
	r.SeverityNumber = uint32(lr.SeverityNumber())
	r.SeverityText = lr.SeverityText()
	r.Level = severityLevel(lr.SeverityNumber(), lr.SeverityText())
	r.Body = body
	r.TraceId = v.id(tid[:])
	r.SpanId = v.id(sid[:])
	r.Flags = uint32(lr.Flags())
	r.Attributes = attrs
	r.ScopeName = scope.Name()
	r.ScopeVersion = scope.Version()
	r.EventName = lr.EventName()
	return r, "", ""
}

// convertTraces flattens OTLP traces for one tenant, grouping spans by trace id.
func convertTraces(tenant string, v *validator, td ptrace.Traces) *converted {
	c := &converted{validator: v}
	byTrace := map[[16]byte]*pb.Trace{}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res, _, reason, msg := v.resource(rs.Resource())
		if reason != "" {
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				for k := 0; k < rs.ScopeSpans().At(j).Spans().Len(); k++ {
					c.reject(reason, msg)
				}
			}
			continue
		}
		resIdx := uint32(len(c.resources))
		c.resources = append(c.resources, res)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sp, reason, msg := v.span(spans.At(k), ss.Scope())
				if reason != "" {
					c.reject(reason, msg)
					continue
				}
				sp.Resource = resIdx
				sp.Id = spanRecordID(tenant, sp.TraceId, sp.SpanId)
				key := spans.At(k).TraceID()
				tr := byTrace[key]
				if tr == nil {
					tr = &pb.Trace{TraceId: sp.TraceId}
					byTrace[key] = tr
					c.traces = append(c.traces, tr)
				}
				tr.Spans = append(tr.Spans, sp)
				c.accepted++
			}
		}
	}
	return c
}

func (v *validator) span(s ptrace.Span, scope pcommon.InstrumentationScope) (*pb.Span, string, string) {
	tid, sid := s.TraceID(), s.SpanID()
	if tid.IsEmpty() {
		return nil, "invalid_trace_id", "span has an all-zero trace_id"
	}
	if sid.IsEmpty() {
		return nil, "invalid_span_id", "span has an all-zero span_id"
	}
	start, end := int64(s.StartTimestamp()), int64(s.EndTimestamp())
	if reason, msg := v.checkTime(start); reason != "" {
		return nil, reason, "span start " + msg
	}
	if end < start {
		return nil, "invalid_span_time", "span end_time_unix_nano is before start_time_unix_nano"
	}
	if end-start > math.MaxInt64/2 {
		return nil, "invalid_span_time", "span duration is out of range"
	}
	if !utf8.ValidString(s.Name()) || !utf8.ValidString(s.Status().Message()) {
		return nil, "invalid_utf8", "span name or status message is not valid UTF-8"
	}
	attrs, reason, msg := v.attrs(s.Attributes(), "span", &v.numText)
	if reason != "" {
		return nil, reason, msg
	}
	psid := s.ParentSpanID()
	out := &pb.Span{
		TraceId:       append([]byte(nil), tid[:]...),
		SpanId:        append([]byte(nil), sid[:]...),
		ParentSpanId:  nonZeroID(append([]byte(nil), psid[:]...)),
		TraceState:    s.TraceState().AsRaw(),
		Name:          s.Name(),
		Kind:          int32(s.Kind()),
		Start:         start,
		End:           end,
		Attributes:    attrs,
		StatusCode:    int32(s.Status().Code()),
		StatusMessage: s.Status().Message(),
		ScopeName:     scope.Name(),
		ScopeVersion:  scope.Version(),
		Flags:         uint32(s.Flags()),
	}
	evs := s.Events()
	for i := 0; i < evs.Len(); i++ {
		e := evs.At(i)
		ea, reason, msg := v.attrs(e.Attributes(), "span event", &v.numText)
		if reason != "" {
			return nil, reason, msg
		}
		out.Events = append(out.Events, &pb.Event{Timestamp: int64(e.Timestamp()), Name: e.Name(), Attributes: ea})
	}
	links := s.Links()
	for i := 0; i < links.Len(); i++ {
		l := links.At(i)
		la, reason, msg := v.attrs(l.Attributes(), "span link", &v.numText)
		if reason != "" {
			return nil, reason, msg
		}
		ltid, lsid := l.TraceID(), l.SpanID()
		out.Links = append(out.Links, &pb.Link{
			TraceId: append([]byte(nil), ltid[:]...), SpanId: append([]byte(nil), lsid[:]...),
			TraceState: l.TraceState().AsRaw(), Attributes: la, Flags: l.Flags(),
		})
	}
	return out, "", ""
}
