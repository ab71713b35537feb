package querier

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-logfmt/logfmt"

	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/traceql"
)

// Search response, in the JSON shape of Tempo's tempopb.SearchResponse (jsonpb:
// uint64 fields as strings, zero values left out).
type searchResponse struct {
	Traces  []searchTrace `json:"traces"`
	Metrics searchMetrics `json:"metrics"`
}

type searchMetrics struct {
	InspectedTraces int    `json:"inspectedTraces,omitempty"`
	InspectedBytes  string `json:"inspectedBytes,omitempty"`
	InspectedSpans  string `json:"inspectedSpans,omitempty"`
}

type searchTrace struct {
	TraceID           string       `json:"traceID"`
	RootServiceName   string       `json:"rootServiceName,omitempty"`
	RootTraceName     string       `json:"rootTraceName,omitempty"`
	StartTimeUnixNano string       `json:"startTimeUnixNano"`
	DurationMs        int64        `json:"durationMs,omitempty"`
	SpanSet           *searchSet   `json:"spanSet,omitempty"`
	SpanSets          []*searchSet `json:"spanSets,omitempty"`

	start int64
}

type searchSet struct {
	Spans      []searchSpan `json:"spans"`
	Matched    int          `json:"matched"`
	Attributes []keyValue   `json:"attributes,omitempty"`
}

type searchSpan struct {
	SpanID            string     `json:"spanID"`
	Name              string     `json:"name,omitempty"`
	StartTimeUnixNano string     `json:"startTimeUnixNano"`
	DurationNanos     string     `json:"durationNanos"`
	Attributes        []keyValue `json:"attributes,omitempty"`
}

// keyValue is an OTLP attribute in proto3 JSON: intValue is a string.
type keyValue struct {
	Key   string   `json:"key"`
	Value anyValue `json:"value"`
}

type anyValue struct {
	StringValue *string  `json:"stringValue,omitempty"`
	IntValue    *string  `json:"intValue,omitempty"`
	DoubleValue *float64 `json:"doubleValue,omitempty"`
	BoolValue   *bool    `json:"boolValue,omitempty"`
}

func toAnyValue(v traceql.Value) anyValue {
	switch v.Type {
	case traceql.TypeInt:
		s := strconv.FormatInt(v.Int, 10)
		return anyValue{IntValue: &s}
	case traceql.TypeFloat:
		f := v.Float
		return anyValue{DoubleValue: &f}
	case traceql.TypeBool:
		b := v.Bool
		return anyValue{BoolValue: &b}
	case traceql.TypeDuration:
		s := time.Duration(v.Int).String()
		return anyValue{StringValue: &s}
	case traceql.TypeStatus:
		s := traceql.StatusCode(v.Int).String()
		return anyValue{StringValue: &s}
	case traceql.TypeKind:
		s := traceql.SpanKind(v.Int).String()
		return anyValue{StringValue: &s}
	}
	s := v.Str
	return anyValue{StringValue: &s}
}

// searchRequest is a parsed /api/search request.
type searchRequest struct {
	query       *traceql.Query
	start, end  int64
	limit, spss int
	minDur      time.Duration
	maxDur      time.Duration
}

func (q *Querier) parseSearch(r *tempoRequest) (searchRequest, error) {
	var sr searchRequest
	var err error
	if sr.start, sr.end, err = q.searchRange(r.form); err != nil {
		return sr, err
	}
	if sr.limit, err = parseLimit(r.form, "limit", 20); err != nil {
		return sr, err
	}
	if max := q.cfg.MaxSearchTraces; max > 0 && sr.limit > max {
		return sr, badRequest("limit %d is more than -querier.max-search-traces=%d", sr.limit, max)
	}
	if sr.spss, err = parseLimit(r.form, "spss", 3); err != nil {
		return sr, err
	}
	for name, d := range map[string]*time.Duration{"minDuration": &sr.minDur, "maxDuration": &sr.maxDur} {
		if s := r.form.Get(name); s != "" {
			if *d, err = time.ParseDuration(s); err != nil {
				return sr, badRequest("invalid %s %q: want a duration such as 100ms", name, s)
			}
		}
	}
	qs, tags := r.form.Get("q"), r.form.Get("tags")
	if qs != "" && tags != "" {
		return sr, badRequest("invalid request: q and tags cannot both be set")
	}
	if qs == "" {
		if qs, err = tagsQuery(tags); err != nil {
			return sr, err
		}
	}
	sr.query, err = traceql.Parse(qs)
	return sr, err
}

// tagsQuery turns the old tags search (logfmt key=value pairs) into TraceQL: each tag
// must equal its value on a span or its resource.
func tagsQuery(tags string) (string, error) {
	var conds []string
	dec := logfmt.NewDecoder(strings.NewReader(tags))
	for dec.ScanRecord() {
		for dec.ScanKeyval() {
			conds = append(conds, fmt.Sprintf(".%s=%s", dec.Key(), strconv.Quote(string(dec.Value()))))
		}
	}
	if err := dec.Err(); err != nil {
		return "", badRequest("invalid tags %q: want logfmt key=value pairs: %v", tags, err)
	}
	return "{" + strings.Join(conds, " && ") + "}", nil
}

// maxSearchPages bounds the candidate pages one search reads from ClickHouse.
const maxSearchPages = 10

func (q *Querier) handleSearch(ctx context.Context, r *tempoRequest) (any, error) {
	sr, err := q.parseSearch(r)
	if err != nil {
		return nil, err
	}
	return q.search(ctx, r.tenant, sr)
}

// search finds matching traces: candidates from memory and from a ClickHouse
// prefilter (newest first, page by page), each evaluated in Go on the whole trace.
func (q *Querier) search(ctx context.Context, tenant string, sr searchRequest) (*searchResponse, error) {
	store, err := q.store()
	if err != nil {
		return nil, err
	}
	recent, err := q.recentSpans(ctx, tenant, RecentSpanQuery{Start: sr.start, End: sr.end})
	if err != nil {
		return nil, err
	}
	resp := &searchResponse{Traces: []searchTrace{}}
	seen := map[string]bool{}
	if err := q.evalCandidates(ctx, tenant, sr, recentTraceIDs(recent.Spans), seen, resp); err != nil {
		return nil, err
	}
	pd := sr.query.Pushdown()
	s := clickhouse.SpanSearch{Tenant: tenant, Start: sr.start, End: sr.end, Groups: pd.Spansets,
		ExcludeFlushIDs: recent.ExcludeFlushIDs, Limit: max(2*sr.limit, 20)}
	if pd.Exact && sr.minDur == 0 && sr.maxDur == 0 {
		// Every candidate SQL finds matches, so a page of limit traces is enough; the
		// whole traces fetched to build the answer are most of a search's time.
		s.Limit = sr.limit
	}
	for page := 0; page < maxSearchPages && len(resp.Traces) < sr.limit; page++ {
		refs, err := store.SearchTraces(ctx, s)
		if err != nil {
			return nil, err
		}
		ids := make([]string, 0, len(refs))
		for _, r := range refs {
			ids = append(ids, r.TraceID)
		}
		eval := q.evalCandidates
		if pd.Exact && len(pd.Spansets) == 1 {
			eval = q.evalMatches
		}
		if err := eval(ctx, tenant, sr, ids, seen, resp); err != nil {
			return nil, err
		}
		if len(refs) < s.Limit {
			break
		}
		s.After = &refs[len(refs)-1]
	}
	sort.SliceStable(resp.Traces, func(i, j int) bool { return resp.Traces[i].start > resp.Traces[j].start })
	resp.Traces = resp.Traces[:min(len(resp.Traces), sr.limit)]
	resp.Metrics.InspectedTraces = len(seen)
	return resp, nil
}

func recentTraceIDs(spans []clickhouse.Span) []string {
	var ids []string
	for _, s := range spans {
		if !slices.Contains(ids, s.TraceID) {
			ids = append(ids, s.TraceID)
		}
	}
	return ids
}

// unseen returns the ids not in seen, and adds them to it.
func unseen(ids []string, seen map[string]bool) []string {
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// evalCandidates fetches whole candidate traces and adds those the query matches.
func (q *Querier) evalCandidates(ctx context.Context, tenant string, sr searchRequest, ids []string, seen map[string]bool, resp *searchResponse) error {
	todo := unseen(ids, seen)
	if len(todo) == 0 {
		return nil
	}
	traces, err := q.traces(ctx, tenant, todo, true)
	if err != nil {
		return err
	}
	for _, id := range todo {
		if t, ok := evalTrace(sr, id, traces[id]); ok {
			resp.Traces = append(resp.Traces, t)
		}
	}
	return nil
}

// evalMatches is evalCandidates for an exact query (one spanset filter SQL tests span
// by span): storage returns only the spans that pass the filter and the roots, with the
// traces' bounds from its trace index, instead of whole traces; spans still in the
// ingesters join them. The query still runs in Go on those spans, so the spansets are
// the ones whole traces would give: the spans it keeps are exactly those that pass the
// filter, and a span's verdict depends on that span alone.
func (q *Querier) evalMatches(ctx context.Context, tenant string, sr searchRequest, ids []string, seen map[string]bool, resp *searchResponse) error {
	todo := unseen(ids, seen)
	if len(todo) == 0 {
		return nil
	}
	store, err := q.store()
	if err != nil {
		return err
	}
	recent, err := q.recentSpans(ctx, tenant, RecentSpanQuery{TraceIDs: todo})
	if err != nil {
		return err
	}
	matches, err := store.TraceMatches(ctx, tenant, todo, sr.query.Pushdown().Spansets[0], shownAttributes(sr.query), recent.ExcludeFlushIDs)
	if err != nil {
		return err
	}
	byTrace := map[string][]clickhouse.Span{}
	for _, s := range recent.Spans {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	for _, id := range todo {
		m, mem := matches[id], byTrace[id]
		if m == nil && len(mem) == 0 {
			continue
		}
		spans := mem
		var start, end int64
		if len(mem) > 0 {
			start, end, _ = traceBounds(mem)
		}
		if m != nil {
			spans = append(spans, m.Spans...)
			if len(mem) == 0 {
				start, end = m.Start, m.End
			} else {
				start, end = min(start, m.Start), max(end, m.End)
			}
		}
		spans = clickhouse.DedupSpans(spans)
		if len(spans) == 0 {
			continue
		}
		_, _, root := traceBounds(spans)
		if t, ok := evalSpans(sr, id, spans, start, end, root); ok {
			resp.Traces = append(resp.Traces, t)
		}
	}
	return nil
}

// evalTrace evaluates the query on one whole trace and builds its search result.
func evalTrace(sr searchRequest, id string, spans []clickhouse.Span) (searchTrace, bool) {
	if len(spans) == 0 {
		return searchTrace{}, false
	}
	start, end, root := traceBounds(spans)
	return evalSpans(sr, id, spans, start, end, root)
}

// evalSpans evaluates the query on spans of a trace that spans [start, end] and has
// root (nil when no root has arrived), and builds its search result.
func evalSpans(sr searchRequest, id string, spans []clickhouse.Span, start, end int64, root *clickhouse.Span) (searchTrace, bool) {
	ts := make([]traceql.Span, len(spans))
	for i := range spans {
		ts[i] = spans[i].TraceQL()
	}
	if (sr.minDur > 0 && time.Duration(end-start) < sr.minDur) || (sr.maxDur > 0 && time.Duration(end-start) > sr.maxDur) {
		return searchTrace{}, false
	}
	sets := sr.query.EvalSpansets(ts)
	if len(sets) == 0 {
		return searchTrace{}, false
	}
	t := searchTrace{TraceID: strings.TrimLeft(id, "0"), StartTimeUnixNano: strconv.FormatInt(start, 10),
		DurationMs: (end - start) / int64(time.Millisecond), start: start}
	if t.TraceID == "" {
		t.TraceID = "0"
	}
	t.RootServiceName, t.RootTraceName = "<root span not yet received>", ""
	if root != nil {
		t.RootServiceName, t.RootTraceName = root.ServiceName, root.Name
	}
	shown := shownAttributes(sr.query)
	for _, set := range sets {
		t.SpanSets = append(t.SpanSets, toSearchSet(set, shown, sr.spss))
	}
	t.SpanSet = t.SpanSets[0]
	return t, true
}

// traceBounds returns a trace's start, end and root span (the earliest span without
// a parent), or nil when no root has arrived.
func traceBounds(spans []clickhouse.Span) (start, end int64, root *clickhouse.Span) {
	start, end = spans[0].Start, spans[0].End
	for i := range spans {
		s := &spans[i]
		start, end = min(start, s.Start), max(end, s.End)
		if strings.Trim(s.ParentSpanID, "0") == "" && (root == nil || s.Start < root.Start) {
			root = s
		}
	}
	return start, end, root
}

// shownAttributes are the attributes a search result lists for each span: those the
// query tests or selects, as Tempo returns what it fetched.
func shownAttributes(q *traceql.Query) []traceql.Attribute {
	var out []traceql.Attribute
	add := func(a traceql.Attribute) {
		if !a.IsIntrinsic() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, g := range q.Pushdown().Spansets {
		for _, c := range g {
			add(c.Attr)
		}
	}
	for _, a := range q.Selects() {
		add(a)
	}
	return out
}

func toSearchSet(set traceql.Spanset, shown []traceql.Attribute, spss int) *searchSet {
	out := &searchSet{Matched: len(set.Spans), Spans: []searchSpan{}}
	for _, kv := range set.Attributes {
		out.Attributes = append(out.Attributes, keyValue{Key: kv.Key, Value: toAnyValue(kv.Value)})
	}
	for _, s := range set.Spans[:min(len(set.Spans), spss)] {
		ss := searchSpan{SpanID: s.SpanID, Name: s.Name, StartTimeUnixNano: strconv.FormatInt(s.StartUnixNano, 10),
			DurationNanos: strconv.FormatInt(s.EndUnixNano-s.StartUnixNano, 10)}
		for _, a := range shown {
			if v, ok := attrOf(&s, a); ok {
				ss.Attributes = append(ss.Attributes, keyValue{Key: a.Name, Value: toAnyValue(v)})
			}
		}
		out.Spans = append(out.Spans, ss)
	}
	return out
}

// attrOf reads an attribute of a span with traceql's scope rules.
func attrOf(s *traceql.Span, a traceql.Attribute) (traceql.Value, bool) {
	find := func(kvs []traceql.KeyValue) (traceql.Value, bool) {
		for _, kv := range kvs {
			if kv.Key == a.Name && !kv.Value.IsNil() {
				return kv.Value, true
			}
		}
		return traceql.Value{}, false
	}
	res := func() (traceql.Value, bool) {
		if a.Name == "service.name" && s.ServiceName != "" {
			return traceql.StringValue(s.ServiceName), true
		}
		return find(s.ResourceAttrs)
	}
	switch a.Scope {
	case traceql.ScopeSpan:
		return find(s.SpanAttrs)
	case traceql.ScopeResource:
		return res()
	}
	if v, ok := find(s.SpanAttrs); ok {
		return v, true
	}
	return res()
}
