package querier

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
)

// toTraces rebuilds OTLP from stored spans: one ResourceSpans per distinct resource,
// one ScopeSpans per scope, spans in the given order. Every resource carries
// service.name (Grafana skips resources without attributes).
func toTraces(spans []clickhouse.Span) ptrace.Traces {
	td := ptrace.NewTraces()
	resources := map[string]ptrace.ResourceSpans{}
	scopes := map[string]ptrace.ScopeSpans{}
	for i := range spans {
		s := &spans[i]
		rkey := resourceKey(s)
		rs, ok := resources[rkey]
		if !ok {
			rs = td.ResourceSpans().AppendEmpty()
			putAttrs(rs.Resource().Attributes(), s.Resource)
			if _, has := rs.Resource().Attributes().Get("service.name"); !has {
				rs.Resource().Attributes().PutStr("service.name", s.ServiceName)
			}
			resources[rkey] = rs
		}
		skey := rkey + "\x00" + s.ScopeName + "\x00" + s.ScopeVersion
		ss, ok := scopes[skey]
		if !ok {
			ss = rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(s.ScopeName)
			ss.Scope().SetVersion(s.ScopeVersion)
			scopes[skey] = ss
		}
		fillSpan(ss.Spans().AppendEmpty(), s)
	}
	return td
}

func resourceKey(s *clickhouse.Span) string {
	var b strings.Builder
	b.WriteString(s.ServiceName)
	for _, a := range s.Resource {
		b.WriteString("\xff" + a.Key + "\xfe" + a.Value)
	}
	return b.String()
}

func fillSpan(out ptrace.Span, s *clickhouse.Span) {
	out.SetTraceID(pcommon.TraceID(hexBytes16(s.TraceID)))
	out.SetSpanID(pcommon.SpanID(hexBytes8(s.SpanID)))
	if s.ParentSpanID != "" {
		out.SetParentSpanID(pcommon.SpanID(hexBytes8(s.ParentSpanID)))
	}
	out.TraceState().FromRaw(s.TraceState)
	out.SetName(s.Name)
	out.SetKind(ptrace.SpanKind(s.Kind))
	out.SetStartTimestamp(pcommon.Timestamp(s.Start))
	out.SetEndTimestamp(pcommon.Timestamp(s.End))
	out.SetFlags(s.Flags)
	out.Status().SetCode(ptrace.StatusCode(s.StatusCode))
	out.Status().SetMessage(s.StatusMessage)
	putAttrs(out.Attributes(), s.Attrs)
	for _, e := range s.Events {
		ev := out.Events().AppendEmpty()
		ev.SetTimestamp(pcommon.Timestamp(e.Time))
		ev.SetName(e.Name)
		putAttrs(ev.Attributes(), e.Attrs)
	}
	for _, l := range s.Links {
		ln := out.Links().AppendEmpty()
		ln.SetTraceID(pcommon.TraceID(hexBytes16(l.TraceID)))
		ln.SetSpanID(pcommon.SpanID(hexBytes8(l.SpanID)))
		ln.TraceState().FromRaw(l.TraceState)
		putAttrs(ln.Attributes(), l.Attrs)
	}
}

// putAttrs restores typed OTLP values from the stored text.
func putAttrs(m pcommon.Map, attrs []clickhouse.Attr) {
	for _, a := range attrs {
		putAttr(m, a)
	}
}

func putAttr(m pcommon.Map, a clickhouse.Attr) {
	switch a.Type {
	case pb.AttrType_ATTR_TYPE_BOOL:
		m.PutBool(a.Key, a.Value == "true")
		return
	case pb.AttrType_ATTR_TYPE_INT:
		if n, err := strconv.ParseInt(a.Value, 10, 64); err == nil {
			m.PutInt(a.Key, n)
			return
		}
	case pb.AttrType_ATTR_TYPE_DOUBLE:
		if f, err := strconv.ParseFloat(a.Value, 64); err == nil {
			m.PutDouble(a.Key, f)
			return
		}
	case pb.AttrType_ATTR_TYPE_BYTES:
		if b, err := base64.StdEncoding.DecodeString(a.Value); err == nil {
			m.PutEmptyBytes(a.Key).FromRaw(b)
			return
		}
	case pb.AttrType_ATTR_TYPE_ARRAY:
		var raw []any
		if json.Unmarshal([]byte(a.Value), &raw) == nil && m.PutEmptySlice(a.Key).FromRaw(raw) == nil {
			return
		}
	case pb.AttrType_ATTR_TYPE_MAP:
		var raw map[string]any
		if json.Unmarshal([]byte(a.Value), &raw) == nil && m.PutEmptyMap(a.Key).FromRaw(raw) == nil {
			return
		}
	case pb.AttrType_ATTR_TYPE_EMPTY:
		m.PutEmpty(a.Key)
		return
	}
	m.PutStr(a.Key, a.Value)
}

func hexBytes16(s string) [16]byte {
	var out [16]byte
	b, _ := hex.DecodeString(s) // stored ids are hex written by this system
	copy(out[16-min(len(b), 16):], b)
	return out
}

func hexBytes8(s string) [8]byte {
	var out [8]byte
	b, _ := hex.DecodeString(s)
	copy(out[8-min(len(b), 8):], b)
	return out
}

// traceProto is the trace as OTLP protobuf, which is byte for byte Tempo's
// tempopb.Trace (same field numbers). v2 wraps it as field 1 of TraceByIDResponse.
func traceProto(td ptrace.Traces, v2 bool) ([]byte, error) {
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil || !v2 {
		return b, err
	}
	out := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(out, b), nil
}

// traceJSON is OTLP JSON ({"resourceSpans":[...]}, hex ids); v2 nests it under "trace".
func traceJSON(td ptrace.Traces, v2 bool) ([]byte, error) {
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil || !v2 {
		return b, err
	}
	return append(append([]byte(`{"trace":`), b...), '}'), nil
}
