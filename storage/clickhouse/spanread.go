package clickhouse

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/traceql"
)

// Attr is one attribute with its OTLP type (pb.AttrType numbering).
type Attr struct {
	Key, Value string
	Type       pb.AttrType
}

// SpanEvent is a span event; its attributes come back as strings (stored as JSON).
type SpanEvent struct {
	Time  int64
	Name  string
	Attrs []Attr
}

// SpanLink is a span link; its attributes come back as strings.
type SpanLink struct {
	TraceID, SpanID, TraceState string
	Attrs                       []Attr
}

// Span is one stored span. Ids are lower-case hex, as stored.
type Span struct {
	ID                                        uint64
	TraceID, SpanID, ParentSpanID, TraceState string
	ServiceName, Name                         string
	Kind                                      int8
	Start, End                                int64
	StatusCode                                int8
	StatusMessage                             string
	Attrs, Resource                           []Attr
	Events                                    []SpanEvent
	Links                                     []SpanLink
	ScopeName, ScopeVersion                   string
	Flags                                     uint32
}

const spanColumns = `id, trace_id, span_id, parent_span_id, trace_state, service_name, name, kind, start_ns, end_ns,
	status_code, status_message, attr_keys, attr_values, attr_types, res_keys, res_values, res_types,
	event_times, event_names, event_attrs, link_trace_ids, link_span_ids, link_trace_states, link_attrs,
	scope_name, scope_version, flags`

// searchSpanReader reads the columns TraceQL evaluates and search results show: no
// events, links, scope or trace state (leaving those out makes a search's trace fetch
// read a fifth less), and of the attribute arrays only those a search needs
// (arraysFor): they are most of a span's bytes, and PREWHERE reads every column of
// each granule where a wanted span lies.
type searchSpanReader struct{ spanAttrs, resAttrs bool }

// allSearchArrays reads both attribute arrays, for searches that evaluate whole traces.
var allSearchArrays = searchSpanReader{spanAttrs: true, resAttrs: true}

// arraysFor is the reader for a search that evaluates or shows attrs: intrinsics and
// resource.service.name are columns of their own.
func arraysFor(attrs []traceql.Attribute) searchSpanReader {
	var r searchSpanReader
	for _, a := range attrs {
		if a.IsIntrinsic() {
			continue
		}
		if a.Scope != traceql.ScopeResource {
			r.spanAttrs = true // span scope, or unscoped: the span's attribute first
		}
		if a.Scope != traceql.ScopeSpan && a.Name != "service.name" {
			r.resAttrs = true
		}
	}
	return r
}

func (r searchSpanReader) columns() string {
	cols := "id, trace_id, span_id, parent_span_id, service_name, name, kind, start_ns, end_ns, status_code, status_message"
	if r.spanAttrs {
		cols += ", attr_keys, attr_values, attr_types"
	}
	if r.resAttrs {
		cols += ", res_keys, res_values, res_types"
	}
	return cols
}

func (r searchSpanReader) scan(rows driver.Rows) (Span, error) {
	var s Span
	var ak, av, rk, rv []string
	var at, rt []uint8
	dest := []any{&s.ID, &s.TraceID, &s.SpanID, &s.ParentSpanID, &s.ServiceName, &s.Name, &s.Kind,
		&s.Start, &s.End, &s.StatusCode, &s.StatusMessage}
	if r.spanAttrs {
		dest = append(dest, &ak, &av, &at)
	}
	if r.resAttrs {
		dest = append(dest, &rk, &rv, &rt)
	}
	err := rows.Scan(dest...)
	s.Attrs, s.Resource = zipAttrs(ak, av, at), zipAttrs(rk, rv, rt)
	return s, err
}

func scanSpan(rows driver.Rows) (Span, error) {
	var s Span
	var ak, av, rk, rv, evNames, evAttrs, lt, ls, lst, la []string
	var at, rt []uint8
	var evTimes []int64
	err := rows.Scan(&s.ID, &s.TraceID, &s.SpanID, &s.ParentSpanID, &s.TraceState, &s.ServiceName, &s.Name, &s.Kind,
		&s.Start, &s.End, &s.StatusCode, &s.StatusMessage, &ak, &av, &at, &rk, &rv, &rt,
		&evTimes, &evNames, &evAttrs, &lt, &ls, &lst, &la, &s.ScopeName, &s.ScopeVersion, &s.Flags)
	if err != nil {
		return s, err
	}
	s.Attrs, s.Resource = zipAttrs(ak, av, at), zipAttrs(rk, rv, rt)
	for i := range evTimes {
		s.Events = append(s.Events, SpanEvent{Time: evTimes[i], Name: evNames[i], Attrs: parseAttrsJSON(evAttrs[i])})
	}
	for i := range lt {
		s.Links = append(s.Links, SpanLink{TraceID: lt[i], SpanID: ls[i], TraceState: lst[i], Attrs: parseAttrsJSON(la[i])})
	}
	return s, nil
}

func zipAttrs(k, v []string, t []uint8) []Attr {
	if len(k) == 0 {
		return nil
	}
	out := make([]Attr, len(k))
	for i := range k {
		out[i] = Attr{Key: k[i], Value: v[i], Type: pb.AttrType(t[i])}
	}
	return out
}

// parseAttrsJSON reads the flat JSON object AttrsJSON writes, keeping key order.
func parseAttrsJSON(s string) []Attr {
	if s == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []Attr
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return out
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return out
		}
		key, _ := k.(string)
		out = append(out, Attr{Key: key, Value: v})
	}
	return out
}

// SpanFromProto converts a span an ingester holds into the Span the query path reads
// back from ClickHouse, so in-memory and stored spans merge exactly.
func SpanFromProto(res *pb.Resource, s *pb.Span) Span {
	out := Span{
		ID: s.Id, TraceID: hexID(s.TraceId), SpanID: hexID(s.SpanId), ParentSpanID: hexID(s.ParentSpanId),
		TraceState: s.TraceState, ServiceName: res.GetServiceName(), Name: s.Name, Kind: int8(s.Kind),
		Start: s.Start, End: s.End, StatusCode: int8(s.StatusCode), StatusMessage: s.StatusMessage,
		ScopeName: s.ScopeName, ScopeVersion: s.ScopeVersion, Flags: s.Flags,
		Attrs: protoAttrs(s.Attributes), Resource: protoAttrs(res.GetAttributes()),
	}
	for _, e := range s.Events {
		out.Events = append(out.Events, SpanEvent{Time: e.Timestamp, Name: e.Name, Attrs: parseAttrsJSON(AttrsJSON(e.Attributes))})
	}
	for _, l := range s.Links {
		out.Links = append(out.Links, SpanLink{TraceID: hexID(l.TraceId), SpanID: hexID(l.SpanId), TraceState: l.TraceState,
			Attrs: parseAttrsJSON(AttrsJSON(l.Attributes))})
	}
	return out
}

func protoAttrs(attrs []*pb.Attr) []Attr {
	if len(attrs) == 0 {
		return nil
	}
	out := make([]Attr, len(attrs))
	for i, a := range attrs {
		out[i] = Attr{Key: a.Key, Value: a.Value, Type: a.Type}
	}
	return out
}

// TraceRange is where a trace's spans lie, from the trace index.
type TraceRange struct {
	TraceID    string
	Start, End int64
}

// traceRanges looks traces up in trace_index: a few rows per trace, sorted by
// (tenant, trace_id), so no time range is needed.
func (c *Client) traceRanges(ctx context.Context, tenant string, ids []string) ([]TraceRange, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q := fmt.Sprintf("SELECT trace_id, min(start_ns), max(end_ns) FROM %s.trace_index WHERE tenant = %s AND trace_id IN %s GROUP BY trace_id",
		c.cfg.Database, Quote(tenant), quoteList(ids))
	rows, err := c.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read trace index: %w", err)
	}
	defer rows.Close()
	var out []TraceRange
	for rows.Next() {
		var r TraceRange
		if err := rows.Scan(&r.TraceID, &r.Start, &r.End); err != nil {
			return nil, fmt.Errorf("read trace index: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// spanOf returns the time span that holds all the ranges' traces, and their ids.
func spanOf(ranges []TraceRange) (start, end int64, ids []string) {
	start, end = ranges[0].Start, ranges[0].End
	ids = make([]string, 0, len(ranges))
	for _, r := range ranges {
		start, end = min(start, r.Start), max(end, r.End)
		ids = append(ids, r.TraceID)
	}
	return start, end, ids
}

// Traces returns the whole traces with the given ids (lower-case hex), one span per id,
// ordered by start time, keyed by trace id. Spans of excluded flushes are left out (an
// ingester returned them). Traces that are not stored are absent from the map.
func (c *Client) Traces(ctx context.Context, tenant string, ids []string, excludeFlushIDs []uint64) (map[string][]Span, error) {
	return c.traces(ctx, tenant, ids, excludeFlushIDs, spanColumns, scanSpan)
}

// TracesForSearch is Traces with the span fields a search needs (allSearchArrays):
// spans come without events, links, scope and trace state.
func (c *Client) TracesForSearch(ctx context.Context, tenant string, ids []string, excludeFlushIDs []uint64) (map[string][]Span, error) {
	return c.traces(ctx, tenant, ids, excludeFlushIDs, allSearchArrays.columns(), allSearchArrays.scan)
}

func (c *Client) traces(ctx context.Context, tenant string, ids []string, excludeFlushIDs []uint64, columns string, scan func(driver.Rows) (Span, error)) (map[string][]Span, error) {
	out := map[string][]Span{}
	var b strings.Builder
	if len(ids) == 1 {
		// One trace (trace by id): its range comes from trace_index in scalar subqueries
		// of the same statement, one round trip instead of two; the second was a third of
		// the lookup's time. A trace the index lacks has the range [0, 0] and no rows.
		idx := fmt.Sprintf("%s.trace_index WHERE tenant = %s AND trace_id = %s", c.cfg.Database, Quote(tenant), Quote(ids[0]))
		fmt.Fprintf(&b, "SELECT %s FROM %s.spans PREWHERE trace_id = %s WHERE tenant = %s AND start_ns >= (SELECT min(start_ns) FROM %s) AND start_ns <= (SELECT max(end_ns) FROM %s)",
			columns, c.cfg.Database, Quote(ids[0]), Quote(tenant), idx, idx)
	} else {
		ranges, err := c.traceRanges(ctx, tenant, ids)
		if err != nil || len(ranges) == 0 {
			return out, err
		}
		start, end, found := spanOf(ranges)
		// PREWHERE reads trace_id first and the other columns only where a wanted trace
		// has spans: the time range of a few traces still holds many other traces' spans.
		fmt.Fprintf(&b, "SELECT %s FROM %s.spans PREWHERE trace_id IN %s WHERE tenant = %s", columns, c.cfg.Database, quoteList(found), Quote(tenant))
		writeTimeRange(&b, "start_ns", start, end+1)
	}
	if len(excludeFlushIDs) > 0 {
		b.WriteString(" AND flush_id NOT IN ")
		b.WriteString(uintList(excludeFlushIDs))
	}
	if err := c.collectSpans(ctx, b.String(), out, scan); err != nil {
		return nil, err
	}
	for id, spans := range out {
		out[id] = DedupSpans(spans)
	}
	return out, nil
}

func (c *Client) collectSpans(ctx context.Context, q string, into map[string][]Span, scan func(driver.Rows) (Span, error)) error {
	rows, err := c.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("read spans: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return fmt.Errorf("read spans: %w", err)
		}
		into[s.TraceID] = append(into[s.TraceID], s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read spans: %w", err)
	}
	return nil
}

// DedupSpans keeps one span per id and orders spans by start time: copies (replicas,
// unmerged repeats) share the id, which hashes tenant, trace id and span id.
func DedupSpans(spans []Span) []Span {
	slices.SortFunc(spans, func(a, b Span) int { return cmp.Compare(a.ID, b.ID) })
	spans = slices.CompactFunc(spans, func(a, b Span) bool { return a.ID == b.ID })
	slices.SortStableFunc(spans, func(a, b Span) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), strings.Compare(a.SpanID, b.SpanID))
	})
	return spans
}

// TraceQL returns the span as traceql's evaluator sees it.
func (s *Span) TraceQL() traceql.Span {
	return traceql.Span{
		TraceID: s.TraceID, SpanID: s.SpanID, ParentSpanID: s.ParentSpanID,
		Name: s.Name, Kind: traceql.SpanKind(s.Kind), StatusCode: traceql.StatusCode(s.StatusCode), StatusMessage: s.StatusMessage,
		StartUnixNano: s.Start, EndUnixNano: s.End, ServiceName: s.ServiceName,
		SpanAttrs: traceQLAttrs(s.Attrs), ResourceAttrs: traceQLAttrs(s.Resource),
	}
}

func traceQLAttrs(attrs []Attr) []traceql.KeyValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make([]traceql.KeyValue, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, traceql.KeyValue{Key: a.Key, Value: a.TraceQLValue()})
	}
	return out
}

// TraceMatch is what a search needs of one stored trace whose query is exact (one
// spanset filter SQL can test span by span): its time bounds, and only the spans that
// satisfy the filter or are roots, with the attributes the search reads.
type TraceMatch struct {
	Start, End int64
	Spans      []Span
}

// TraceMatches returns, for the stored traces among ids, their bounds from the trace
// index and those of their spans that satisfy every condition of cond or have no parent
// (the root names the trace), with the fields of TracesForSearch but only the attribute
// arrays that cond's attributes and shown (those the caller shows) need. Reading only
// those spans, PREWHERE skips the columns of every other span the granules hold: a
// search no longer fetches whole traces. cond must be the pushdown of an exact query; a
// condition SQL cannot express is dropped, which only lets more spans through, so
// callers still evaluate the query on what comes back.
func (c *Client) TraceMatches(ctx context.Context, tenant string, ids []string, cond []traceql.Condition, shown []traceql.Attribute, excludeFlushIDs []uint64) (map[string]*TraceMatch, error) {
	out := map[string]*TraceMatch{}
	ranges, err := c.traceRanges(ctx, tenant, ids)
	if err != nil || len(ranges) == 0 {
		return out, err
	}
	start, end, found := spanOf(ranges)
	for _, r := range ranges {
		out[r.TraceID] = &TraceMatch{Start: r.Start, End: r.End}
	}
	attrs := slices.Clone(shown)
	for _, cd := range cond {
		attrs = append(attrs, cd.Attr)
	}
	reader := arraysFor(attrs)
	query := func(o whereOpts) string {
		var b strings.Builder
		fmt.Fprintf(&b, "SELECT %s FROM %s.spans PREWHERE trace_id IN %s", reader.columns(), c.cfg.Database, quoteList(found))
		if g := groupSQL(cond, o); g != "" {
			// A root is a span without a parent: empty or all zeros, as traceBounds reads it.
			fmt.Fprintf(&b, " AND (%s OR match(parent_span_id, '^0*$'))", g)
		}
		fmt.Fprintf(&b, " WHERE tenant = %s", Quote(tenant))
		writeTimeRange(&b, "start_ns", start, end+1)
		if len(excludeFlushIDs) > 0 {
			b.WriteString(" AND flush_id NOT IN ")
			b.WriteString(uintList(excludeFlushIDs))
		}
		return b.String()
	}
	spans := map[string][]Span{}
	err = c.collectSpans(ctx, query(whereOpts{}), spans, reader.scan)
	if err != nil && isRegexpError(err) {
		clear(spans)
		err = c.collectSpans(ctx, query(whereOpts{noRegex: true}), spans, reader.scan)
	}
	if err != nil {
		return nil, err
	}
	for id, ss := range spans {
		if m := out[id]; m != nil {
			m.Spans = DedupSpans(ss)
		}
	}
	return out, nil
}
